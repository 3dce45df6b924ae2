/**
 * When a JSON number literal cannot be read as a JavaScript number without changing its value.
 * A literal keeps its value when printing its double back, with as many significant digits as
 * the literal has, gives the literal again (it is a correctly rounded print of that double; on a
 * tie, either side). Otherwise it changes:
 *
 * - `overflow`: the double is ±Infinity (`1e400`, or 400 digits);
 * - `underflow`: the double is 0 and the literal is not (`1e-400`);
 * - `integer`: an integer literal (digits only) that no double holds and that does not print back:
 *   past 2^53 doubles skip integers (`9007199254740993`, a 30-digit id);
 * - `precision`: any other literal with more digits than its double keeps
 *   (`3.14159265358979323846`, `12345678901234.567`, `1.2345678901234567e-320`).
 *
 * So whatever a float printer writes for a double stays a number: `0.1`, `0.30000000000000004`,
 * `6.022e23`, `0.10000000000000001` (printf's `%.17g`, PostgreSQL before 12) and
 * `100000000000000000000` (JSON.stringify of 1e20), as does every integer a double holds exactly
 * (`9007199254740992`). lossless-json's `isSafeNumber` flags the last three kinds: it compares
 * with the shortest print only and refuses every integer past ±(2^53 − 1); a row the ndjson sink
 * wrote must read back. A literal with more than 100 significant digits (more than `toPrecision`
 * prints) always counts as changed.
 */
export type NumberLoss = 'integer' | 'overflow' | 'underflow' | 'precision';

// Per byte: 1 a digit, 0 a point (inside a number), -1 anything else.
const KIND = new Int32Array(256).fill(-1);
for (let c = 0x30; c <= 0x39; c++) KIND[c] = 1;
KIND[0x2e] = 0;
// All bits for e and E, which end a mantissa when an exponent follows.
const EXP = new Int32Array(256);
EXP[0x65] = EXP[0x45] = -1;

/**
 * Whether the JSON `text`, whose UTF-8 bytes are `b[from, to)`, holds a number literal that a
 * double would change. The JSON is well-formed (JSON.parse read it). Only a literal with 16 or
 * more digits, or with an exponent of 3 or more digits, can change: with at most 15 digits
 * (DBL_DIG) and an exponent under 100, the value is a normal double that prints back to the
 * literal. Such literals are found without parsing, in one pass over the bytes; each is then
 * checked with numberLoss.
 *
 * Measured (Node 20, 230-byte rows, on a busy machine): ~300 ns a row, a third of JSON.parse's
 * time; regexes doing the same took 1.5 to 3 times as long, and sampling every third byte
 * (fewer loads, more branches) was slower too.
 */
export function hasLossyNumber(text: string, b: Uint8Array, from: number, to: number): boolean {
  for (let i = nextCandidate(b, from, to); i >= 0; i = nextCandidate(b, i + 1, to)) {
    let end: number;
    if (EXP[b[i]!] !== 0) {
      end = exponentEnd(b, i, to);
      // Under 3 exponent digits (the mantissa has fewer than 16, or it would have stopped us
      // earlier), nothing changes.
      if (end - i - (b[i + 1] === 0x2b || b[i + 1] === 0x2d ? 1 : 0) < 4) continue;
    } else {
      end = i + 1;
      while (end < to && KIND[b[end]!]! >= 0) end++;
      if (end < to && EXP[b[end]!] !== 0) end = exponentEnd(b, end, to);
    }
    const start = literalStart(b, i, from);
    if (start >= 0 && numberLoss(literal(text, b, from, to, start, end)) !== undefined) return true;
    i = end - 1;
  }
  return false;
}

/**
 * The next byte that is the 16th digit of a run of digits (points allowed among them), or an e
 * right after a digit; -1 when there is none. Kept apart: a loop with no calls compiles tighter.
 */
function nextCandidate(b: Uint8Array, from: number, to: number): number {
  let run = 0;
  for (let i = from; i < to; i++) {
    const c = b[i]!;
    const k = KIND[c]!;
    const prev = run;
    // Digits since the last byte that is neither a digit nor a point; 0 after any other byte.
    run = (run + k) & ~(k >> 31);
    // Branch-free until then: hex text has many e after a digit, but few bytes are either.
    if ((run >> 4) | (EXP[c]! & prev)) return i;
  }
  return -1;
}

/** Where the literal whose digits end before `i` starts, or -1 when it is not a number (in a string). */
function literalStart(b: Uint8Array, i: number, from: number): number {
  let s = i;
  while (s > from && KIND[b[s - 1]!]! >= 0) s--;
  if (s > from && b[s - 1] === 0x2d) s--;
  if (s === from) return s;
  const c = b[s - 1];
  // A value starts after these (and whitespace); in a string, a run of digits follows anything.
  return c === 0x3a || c === 0x2c || c === 0x5b || c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09
    ? s
    : -1;
}

/** The end of the exponent that starts with the e at `i`. */
function exponentEnd(b: Uint8Array, i: number, to: number): number {
  let e = i + 1;
  if (e < to && (b[e] === 0x2b || b[e] === 0x2d)) e++;
  while (e < to && KIND[b[e]!] === 1) e++;
  return e;
}

/** The literal at bytes `[start, end)` of the text's bytes `b[from, to)`. */
function literal(text: string, b: Uint8Array, from: number, to: number, start: number, end: number): string {
  // ASCII text: bytes and characters line up, and a slice does not copy.
  if (text.length === to - from) return text.slice(start - from, end - from);
  let s = '';
  for (let j = start; j < end; j++) s += String.fromCharCode(b[j]!);
  return s;
}

/** Why `literal` (a JSON number, or a decimal the CSV cast took) would change as a double, or undefined when it would not. */
export function numberLoss(literal: string): NumberLoss | undefined {
  const x = Number(literal);
  // One pass, allocating nothing (this runs for every long literal): integer or not, and how many
  // significant digits.
  let integer = true;
  let digits = 0;
  let first = -1;
  let last = -1;
  for (let i = 0; i < literal.length; i++) {
    const c = literal.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      if (c !== 0x30) {
        if (first < 0) first = digits;
        last = digits;
      }
      digits++;
    } else if (c === 0x2e) integer = false;
    else if (c === 0x65 || c === 0x45) {
      integer = false;
      break;
    }
  }
  if (!Number.isFinite(x)) return 'overflow';
  const k = first < 0 ? 0 : last - first + 1;
  if (k === 0) return undefined;
  if (x === 0) return 'underflow';
  // An integer literal that reads as a safe integer is that integer.
  if (integer && Number.isSafeInteger(x)) return undefined;
  const loss = integer ? 'integer' : 'precision';
  if (k > 100) return loss;
  // Measured: toPrecision is ~4× faster than String(x) on 17-digit doubles.
  const printed = x.toPrecision(k);
  if (printed === literal) return undefined;
  const lit = decimal(literal);
  const p = decimal(printed);
  if (p.digits === lit.digits && p.exponent === lit.exponent) return undefined;
  // toPrecision breaks a tie upwards; the literal may be the tie's lower side, also a correct print.
  return isMidpointAbove(x, lit) ? undefined : loss;
}

interface Decimal {
  /** Significant digits, without leading or trailing zeros ('' for zero). */
  digits: string;
  /** The value is ±digits × 10^exponent. */
  exponent: number;
}

/** `-0.012300e5` → digits `123`, exponent -1. */
function decimal(s: string): Decimal {
  let all = '';
  let point = -1;
  let exponent = 0;
  // A leading + is not JSON, but the CSV cast reads it (+1.5e3) and asks here too.
  const sign = s.charCodeAt(0);
  for (let i = sign === 0x2d || sign === 0x2b ? 1 : 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2e) point = all.length;
    else if (c === 0x65 || c === 0x45) {
      exponent = Number(s.slice(i + 1));
      break;
    } else all += s[i];
  }
  let a = 0;
  let b = all.length;
  while (a < b && all.charCodeAt(a) === 0x30) a++;
  while (b > a && all.charCodeAt(b - 1) === 0x30) b--;
  // The last significant digit's place: the digits after it, less those after the point.
  exponent += all.length - b - (point < 0 ? 0 : all.length - point);
  return { digits: all.slice(a, b), exponent };
}

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);

/**
 * Whether |x| is exactly halfway between the literal and the next decimal above it with as many
 * digits: (10·digits + 5) × 10^(exponent − 1). Exact, in BigInt: this is a rare path.
 */
function isMidpointAbove(x: number, lit: Decimal): boolean {
  f64[0] = Math.abs(x);
  const bits = u64[0]!;
  const biased = Number(bits >> 52n);
  let m = bits & ((1n << 52n) - 1n);
  let e2 = -1074;
  if (biased > 0) {
    m |= 1n << 52n;
    e2 = biased - 1075;
  }
  let left = m;
  let right = BigInt(lit.digits) * 10n + 5n;
  const e10 = lit.exponent - 1;
  if (e2 >= 0) left <<= BigInt(e2);
  else right <<= BigInt(-e2);
  if (e10 >= 0) right *= 10n ** BigInt(e10);
  else left *= 10n ** BigInt(-e10);
  return left === right;
}

const LITERAL_SHOWN = 40;

/** What happens to `literal`, for a quarantine reason a user can act on. */
export function describeLoss(literal: string, loss: NumberLoss): string {
  const shown =
    literal.length > LITERAL_SHOWN
      ? `${literal.slice(0, LITERAL_SHOWN)}… (${literal.length} characters)`
      : literal;
  switch (loss) {
    case 'integer':
      return `${shown} is an integer no double holds (it would read as ${Number(literal)})`;
    case 'overflow':
      return `${shown} is out of the range of a double`;
    case 'underflow':
      return `${shown} is too close to 0 for a double (it would read as 0)`;
    case 'precision':
      return `${shown} has more significant digits than a double keeps (it would read as ${Number(literal)})`;
  }
}
