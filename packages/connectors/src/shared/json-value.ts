import { parse as parseLossless } from 'lossless-json';
import { describeLoss, hasLossyNumber, type NumberLoss, numberLoss } from './json-numbers.ts';

export type BigNumbers = 'string' | 'quarantine';

export interface JsonValueOptions {
  /** What to do with a number a double would change (see json-numbers.ts). */
  bigNumbers: BigNumbers;
  /** Deepest nesting a row may have; the row object itself is depth 1. */
  maxDepth: number;
}

/** Why a well-formed JSON value is not taken as a row. */
export class JsonProblem {
  /** The field path, when the problem is one field's. */
  readonly field: string | undefined;
  readonly message: string;
  constructor(message: string, field?: string) {
    this.message = message;
    this.field = field;
  }

  /** `line 4, field amount: 1e400 is out of …` or `line 4 is nested deeper …`. */
  describe(subject: string): string {
    return this.field === undefined
      ? `${subject} ${this.message}`
      : `${subject}, field ${this.field}: ${this.message}`;
  }
}

class Lossy {
  readonly literal: string;
  readonly loss: NumberLoss;
  constructor(literal: string, loss: NumberLoss) {
    this.literal = literal;
    this.loss = loss;
  }
}

/**
 * Parses the JSON text of one row, keeping every number exact: JSON.parse for the text, and,
 * only when its bytes hold a literal a double would change (hasLossyNumber, about a third of
 * JSON.parse's time), lossless-json to find it: it is 5 to 10 times slower than JSON.parse.
 * Values nested deeper than `maxDepth` are refused before anything recursive touches them
 * (JSON.parse itself does not recurse; lossless-json, JSON.stringify and structuredClone do).
 */
export class JsonValueReader {
  readonly #bigNumbers: BigNumbers;
  readonly #maxDepth: number;

  constructor(opts: JsonValueOptions) {
    this.#bigNumbers = opts.bigNumbers;
    this.#maxDepth = opts.maxDepth;
  }

  /**
   * The value of `text` (the UTF-8 bytes `bytes[from, to)`), or a JsonProblem. Throws JSON.parse's
   * SyntaxError for text that is not JSON. Values other than objects are returned as parsed: the
   * caller refuses them.
   */
  read(text: string, bytes: Uint8Array, from: number, to: number): unknown {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
    // A value nested d deep has d opening brackets: 2d characters at least.
    if (text.length > 2 * this.#maxDepth && deeperThan(text, value, this.#maxDepth))
      return new JsonProblem(`is nested deeper than maxDepth ${this.#maxDepth}`);
    return hasLossyNumber(text, bytes, from, to) ? this.#lossless(text, value) : value;
  }

  #lossless(text: string, value: unknown): unknown {
    const keep = this.#bigNumbers === 'string';
    let found = 0;
    const exact = parseLossless(text, null, {
      parseNumber: (literal) => {
        // Up to 15 characters without an exponent: exact (see hasLossyNumber).
        if (literal.length < 16 && !/[eE]/.test(literal)) return Number(literal);
        const loss = numberLoss(literal);
        if (loss === undefined) return Number(literal);
        found++;
        return keep ? literal : new Lossy(literal, loss);
      },
      // JSON.parse keeps the last of repeated keys; so must this.
      onDuplicateKey: (d) => d.newValue,
    });
    // The candidate was inside a string: JSON.parse had it right.
    if (found === 0) return value;
    if (keep) return exact;
    const lossy: { lossy: Lossy; path: string }[] = [];
    findLossy(exact, '', lossy);
    // A repeated key may have replaced the number.
    const first = lossy[0];
    if (first === undefined) return value;
    const n = lossy.length - 1;
    const more = n > 0 ? ` (and ${n} more such number${n > 1 ? 's' : ''})` : '';
    return new JsonProblem(
      `${describeLoss(first.lossy.literal, first.lossy.loss)}${more}; set bigNumbers: string to keep it as text`,
      first.path,
    );
  }
}

/** Whether `value` (parsed from `text`) nests deeper than `max`, without recursion. */
function deeperThan(text: string, value: object, max: number): boolean {
  // Counting brackets (those in strings too) is a memchr; only a text with more than `max` of
  // them needs the walk.
  let n = 0;
  for (let i = text.indexOf('{'); i !== -1 && n <= max; i = text.indexOf('{', i + 1)) n++;
  for (let i = text.indexOf('['); i !== -1 && n <= max; i = text.indexOf('[', i + 1)) n++;
  if (n <= max) return false;
  const stack: object[] = [value];
  const depths: number[] = [1];
  while (stack.length > 0) {
    const v = stack.pop()!;
    const d = depths.pop()!;
    if (d > max) return true;
    const children: unknown[] = Array.isArray(v) ? v : Object.values(v);
    for (const c of children) {
      if (typeof c === 'object' && c !== null) {
        stack.push(c);
        depths.push(d + 1);
      }
    }
  }
  return false;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** Every Lossy in `v`, in document order, with its path (`items[2].price`); v is within maxDepth. */
function findLossy(v: unknown, path: string, out: { lossy: Lossy; path: string }[]): void {
  if (v instanceof Lossy) out.push({ lossy: v, path });
  else if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) findLossy(v[i], `${path}[${i}]`, out);
  } else if (typeof v === 'object' && v !== null) {
    for (const [k, x] of Object.entries(v)) {
      const key = IDENTIFIER.test(k) ? (path === '' ? k : `.${k}`) : `[${JSON.stringify(k)}]`;
      findLossy(x, `${path}${key}`, out);
    }
  }
}
