import { type StringOptions, Type } from '@sinclair/typebox';

// Request fields. Every string a request carries has a maximum length and no NUL character
// (PostgreSQL's text and jsonb refuse U+0000, and a refused value must be a 400 naming the field,
// not a failed query); every integer has bounds. The OpenAPI document shows both.

/** Matches a string without U+0000. errors.ts words its failure for people. */
export const NO_NUL = '^[^\\u0000]*$';

export const NAME_MAX = 200;
export const DESCRIPTION_MAX = 10_000;
/** Page offsets beyond this are not a page anyone reads; PostgreSQL wants a bigint anyway. */
export const OFFSET_MAX = 1_000_000_000;

/** Free text up to `maxLength` characters, without NUL. */
export const Text = (maxLength: number, o: StringOptions = {}) =>
  Type.String({ maxLength, pattern: NO_NUL, ...o });

/** A name users type and other specs refer to: letters, digits, `_ . -`. */
export const Slug = (o: StringOptions = {}) =>
  Type.String({ minLength: 1, maxLength: NAME_MAX, pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$', ...o });

export const Description = (o: StringOptions = {}) => Text(DESCRIPTION_MAX, o);

export const Uuid = (o: StringOptions = {}) => Type.String({ format: 'uuid', ...o });

/** An ISO-8601 instant; anything else is a 400 naming the field. */
export const DateTime = (o: StringOptions = {}) => Type.String({ format: 'date-time', maxLength: 64, ...o });
