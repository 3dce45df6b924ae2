/**
 * Hostile JSON values and the mutations that put them into valid documents: the one source of
 * "what a careless or malicious caller sends" for the REST, spec and WebSocket generators.
 */
import fc from 'fast-check';

/**
 * A JSON text `JSON.stringify` cannot produce (`1e400`, a 30-digit integer, `NaN`) or would recurse
 * into (a value nested 100,000 deep), spliced into the document verbatim by `toJsonText`.
 */
export class RawJson {
  constructor(readonly text: string) {}
  toJSON(): string {
    return `\u0001raw:${this.text.length}:${this.text}\u0001`;
  }
}

/** JSON text of a value that may hold RawJson pieces; never recurses on the value's depth itself. */
export function toJsonText(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  const text = JSON.stringify(value) ?? 'null';
  if (!text.includes('\\u0001raw:')) return text;
  // JSON.stringify escaped each marker into a string literal: "\u0001raw:<n>:<text>\u0001".
  return text.replace(/"\\u0001raw:(\d+):((?:[^"\\]|\\.)*)\\u0001"/g, (_m, _n, escaped: string) =>
    JSON.parse(`"${escaped}"`),
  );
}

/** `n` levels of arrays or objects, as text (a value that deep would overflow the stack of a naive walk). */
export const deepJson = (n: number, kind: 'array' | 'object'): RawJson =>
  kind === 'array'
    ? new RawJson(`${'['.repeat(n)}1${']'.repeat(n)}`)
    : new RawJson(`${'{"a":'.repeat(n)}1${'}'.repeat(n)}`);

/** Strings that have broken parsers, databases, loggers and path handling before. */
export const HOSTILE_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\uD800',
  '\uFEFF',
  '\u202Eevil',
  '🚚é',
  '\r\n',
  '"',
  "'; DROP TABLE users; --",
  '../../../../etc/passwd',
  '/etc/passwd',
  'C:\\Windows\\win.ini',
  '%00',
  '%zz',
  '${env.SLUICE_MASTER_KEY}',
  '${env.HOME}',
  '${params.x}',
  '{{7*7}}',
  '<script>alert(1)</script>',
  '__proto__',
  'constructor',
  '(a+)+$',
  'NaN',
  '1e400',
  'null',
  '-1',
] as const;

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  // Past every documented maximum (names 200, descriptions 10,000, the body limit 1 MiB).
  {
    weight: 1,
    arbitrary: fc.constantFrom(201, 10_001, 100_000, 1_100_000).map((n) => 'x'.repeat(n)),
  },
);

/** Numbers a double changes or that are not JSON at all. */
export const hostileNumber: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    new RawJson('1e400'),
    new RawJson('-1e400'),
    new RawJson('1e-400'),
    new RawJson('123456789012345678901234567890'),
    new RawJson('NaN'),
    new RawJson('Infinity'),
    new RawJson('-0'),
    new RawJson('0x10'),
    2 ** 53 + 2,
    -1,
    0,
    1.5,
    Number.MAX_VALUE,
    Number.MIN_VALUE,
  ),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
);

/** Any hostile JSON value: a wrong type, a hostile string or number, deep or wide structure. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: hostileString },
  { weight: 3, arbitrary: hostileNumber },
  { weight: 1, arbitrary: fc.constantFrom(null, true, false, [], {}) },
  {
    weight: 1,
    arbitrary: fc
      .record({ n: fc.constantFrom(65, 200, 3_000, 100_000), kind: fc.constantFrom('array', 'object') })
      .map(({ n, kind }) => deepJson(n, kind as 'array' | 'object')),
  },
  { weight: 1, arbitrary: fc.constantFrom(10_000, 200_000).map((n) => Array.from({ length: n }, () => 0)) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      new RawJson('{"__proto__":{"role":"admin"}}'),
      new RawJson('{"a":1,"a":2}'),
      new RawJson('{"constructor":{"prototype":{"x":1}}}'),
    ),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

export type Path = (string | number)[];

/** Every place in a value (bounded: enough to pick from, cheap on big documents). */
export function places(value: unknown, limit = 500): Path[] {
  const out: Path[] = [[]];
  const queue: [unknown, Path][] = [[value, []]];
  while (queue.length > 0 && out.length < limit) {
    const [v, at] = queue.shift()!;
    if (v === null || typeof v !== 'object' || v instanceof RawJson) continue;
    const entries: [string | number, unknown][] = Array.isArray(v)
      ? v.map((x, i) => [i, x])
      : Object.entries(v as Record<string, unknown>);
    for (const [k, x] of entries) {
      out.push([...at, k]);
      queue.push([x, [...at, k]]);
    }
  }
  return out;
}

/** A structural copy with the value at `at` transformed (`undefined` removes it). */
export function update(value: unknown, at: Path, f: (v: unknown) => unknown): unknown {
  if (at.length === 0) return f(value);
  const [k, ...rest] = at;
  if (Array.isArray(value)) {
    const copy = [...value];
    const next = update(copy[k as number], rest, f);
    if (next === undefined) copy.splice(k as number, 1);
    else copy[k as number] = next;
    return copy;
  }
  const copy = { ...(value as Record<string, unknown>) };
  const next = update(copy[k as string], rest, f);
  if (next === undefined) delete copy[k as string];
  else copy[k as string] = next;
  return copy;
}

export type Mutation =
  | { op: 'replace'; pick: number; with: unknown }
  | { op: 'remove'; pick: number }
  | { op: 'extra'; pick: number; key: string; with: unknown }
  | { op: 'wrap'; pick: number; as: 'array' | 'string' | 'number' };

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ op: fc.constant('replace' as const), pick: fc.nat(), with: hostileValue }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('remove' as const), pick: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('extra' as const),
      pick: fc.nat(),
      key: fc.oneof(hostileString, fc.constantFrom('extra', 'admin', 'role', 'id')),
      with: hostileValue,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('wrap' as const),
      pick: fc.nat(),
      as: fc.constantFrom('array' as const, 'string' as const, 'number' as const),
    }),
  },
);

/** Applies mutations one after another, each at a place picked among the value's current ones. */
export function mutate(value: unknown, ms: readonly Mutation[]): unknown {
  let v = value;
  for (const m of ms) {
    const all = places(v);
    const at = all[m.pick % all.length]!;
    switch (m.op) {
      case 'replace':
        v = update(v, at, () => m.with);
        break;
      case 'remove':
        if (at.length > 0) v = update(v, at, () => undefined);
        break;
      case 'extra':
        v = update(v, at, (x) =>
          x !== null && typeof x === 'object' && !Array.isArray(x) && !(x instanceof RawJson)
            ? { ...x, [m.key]: m.with }
            : x,
        );
        break;
      case 'wrap':
        v = update(v, at, (x) => (m.as === 'array' ? [x] : m.as === 'string' ? toJsonText(x) : 42));
        break;
    }
  }
  return v;
}

/** Shortens long runs in a reproducer: `x«×100000»`, `«a + »«×3000»`, instead of the text. */
export function abbreviate(text: string, max = 2_000): string {
  const squeezed = text
    .replace(/(.)\1{63,}/gsu, (run, c: string) => `${c}«×${run.length}»`)
    .replace(/(.{2,16}?)\1{15,}/gsu, (run, unit: string) => `«${unit}»«×${run.length / unit.length}»`);
  return squeezed.length <= max ? squeezed : `${squeezed.slice(0, max)}… (${squeezed.length} characters)`;
}
