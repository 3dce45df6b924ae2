import { type TSchema, Type } from '@sinclair/typebox';
import { OFFSET_MAX } from './fields.ts';

/** `limit` and `offset` of a list; `max` and `fallback` for lists whose pages are longer (logs). */
export const pageQuery = (max = 500, fallback = 50) =>
  Type.Object({
    limit: Type.Integer({ minimum: 1, maximum: max, default: fallback, description: 'Items per page.' }),
    offset: Type.Integer({ minimum: 0, maximum: OFFSET_MAX, default: 0, description: 'Items to skip.' }),
  });

export const PageQuery = pageQuery();

/** api-v1.md's list shape. */
export const Page = <T extends TSchema>(item: T) =>
  Type.Object({
    items: Type.Array(item),
    total: Type.Integer(),
    limit: Type.Integer(),
    offset: Type.Integer(),
  });

export const ErrorBody = Type.Object({
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    details: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
    id: Type.Optional(
      Type.String({ description: 'An internal error: quote it to the operator, whose log has it.' }),
    ),
  }),
});

export const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
