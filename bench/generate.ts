/**
 * Deterministic order data for the benchmark: `orders-<label>.csv` (RFC 4180, with header),
 * `orders-<label>.w1-floor.csv` (the W1 result precomputed, loaded by the `psql \copy` floor)
 * and `orders-<label>.meta.json` (expected counts, used to verify every runner).
 *
 * Run alone: `npx tsx bench/generate.ts --rows 100000`.
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { createPrng, type Prng } from './lib/prng.ts';

/** Bump when the output format changes, so stale files in bench/data are regenerated. */
const GENERATOR_VERSION = 1;
const SEED = 20241123;
const ROWS_PER_WRITE = 16_384;

export interface DataSet {
  rows: number;
  label: string;
  csvPath: string;
  floorCsvPath: string;
  /** Rows with active == true: what every W1/W2 runner must deliver. */
  activeRows: number;
  /** Sum of `quantity` over the active rows; catches columns loaded into the wrong place. */
  activeQuantitySum: number;
  bytes: number;
}

interface Meta extends Omit<DataSet, 'csvPath' | 'floorCsvPath'> {
  version: number;
  seed: number;
}

const HEADER = 'id,uuid,name,email,country,amount,quantity,created_at,active,notes';
const FIRST: readonly (readonly [string, string])[] = [
  ['Alice', 'alice'],
  ['Bob', 'bob'],
  ['Chloé', 'chloe'],
  ['David', 'david'],
  ['Eve', 'eve'],
  ['François', 'francois'],
  ['Grace', 'grace'],
  ['Hiro', 'hiro'],
  ['Ingrid', 'ingrid'],
  ['José', 'jose'],
  ['Kai', 'kai'],
  ['Łucja', 'lucja'],
  ['Mia', 'mia'],
  ['Noah', 'noah'],
  ['Olivia', 'olivia'],
  ['Priya', 'priya'],
  ['Quinn', 'quinn'],
  ['Renée', 'renee'],
  ['Søren', 'soren'],
  ['Zoë', 'zoe'],
];
const LAST: readonly (readonly [string, string])[] = [
  ['Smith', 'smith'],
  ['Müller', 'mueller'],
  ['García', 'garcia'],
  ['Nakamura', 'nakamura'],
  ['Okafor', 'okafor'],
  ['Novák', 'novak'],
  ['Rossi', 'rossi'],
  ['Dubois', 'dubois'],
  ['Kowalski', 'kowalski'],
  ['Andersson', 'andersson'],
  ['Chen', 'chen'],
  ['Silva', 'silva'],
  ['Ivanova', 'ivanova'],
  ['Brown', 'brown'],
];
const DOMAINS = ['example.com', 'mail.test', 'shop.example.org', 'corp.test'] as const;
const COUNTRIES =
  'us gb de fr es it nl be se no dk fi pl cz at ch pt ie jp kr cn in br mx ca au nz za ng eg'.split(' ');
const WORDS =
  'please deliver before noon gift wrap fragile leave at door call first back entrance café naïve über 日本 🚚 ok thanks'.split(
    ' ',
  );

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const hex4 = (n: number): string =>
  HEX[n >>> 24]! + HEX[(n >>> 16) & 255]! + HEX[(n >>> 8) & 255]! + HEX[n & 255]!;

function uuid(r: Prng): string {
  const a = hex4(r.u32());
  const b = hex4((r.u32() & 0xffff0fff) | 0x00004000); // version 4
  const c = hex4((r.u32() & 0x3fffffff) | 0x80000000); // RFC 4122 variant
  const d = hex4(r.u32());
  return `${a}-${b.slice(0, 4)}-${b.slice(4)}-${c.slice(0, 4)}-${c.slice(4)}${d}`;
}

function words(r: Prng, n: number): string {
  let s = r.pick(WORDS);
  for (let i = 1; i < n; i++) s += ' ' + r.pick(WORDS);
  return s;
}

/** Mostly plain text; a few percent need RFC 4180 quoting (comma, doubled quote, embedded newline). */
function notes(r: Prng): string {
  const p = r.next();
  if (p < 0.3) return '';
  if (p < 0.85) return words(r, r.int(1, 4));
  if (p < 0.93) return `"${words(r, 2)}, ${words(r, 2)}"`;
  if (p < 0.97) return `"${words(r, 1)} ""${words(r, 2)}"" ${words(r, 1)}"`;
  return `"${words(r, 2)}\n${words(r, 2)}"`;
}

const cents = (c: number): string => `${Math.floor(c / 100)}.${String(c % 100).padStart(2, '0')}`;

export function dataLabel(rows: number): string {
  if (rows % 1_000_000 === 0) return `${rows / 1_000_000}m`;
  if (rows % 1_000 === 0) return `${rows / 1_000}k`;
  return String(rows);
}

/** Generates the data set for `rows` into `dir` unless an up-to-date copy is there already. */
export function ensureData(dir: string, rows: number): DataSet {
  const label = dataLabel(rows);
  const csvPath = join(dir, `orders-${label}.csv`);
  const floorCsvPath = join(dir, `orders-${label}.w1-floor.csv`);
  const metaPath = join(dir, `orders-${label}.meta.json`);
  if (existsSync(metaPath) && existsSync(csvPath) && existsSync(floorCsvPath)) {
    const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as Meta;
    if (meta.version === GENERATOR_VERSION && meta.seed === SEED && meta.rows === rows) {
      return { ...meta, csvPath, floorCsvPath };
    }
  }
  mkdirSync(dir, { recursive: true });
  const meta = writeFiles(rows, label, csvPath, floorCsvPath);
  writeFileSync(metaPath, JSON.stringify(meta, null, 2) + '\n');
  return { ...meta, csvPath, floorCsvPath };
}

function writeFiles(rows: number, label: string, csvPath: string, floorCsvPath: string): Meta {
  const r = createPrng(SEED);
  // Write to temporary names and rename, so an interrupted run never leaves a truncated data set.
  const csv = openSync(csvPath + '.tmp', 'w');
  const floor = openSync(floorCsvPath + '.tmp', 'w');
  let out = HEADER + '\n';
  let floorOut = HEADER + ',total\n';
  let bytes = 0;
  let activeRows = 0;
  let activeQuantitySum = 0;
  const start = Date.UTC(2023, 0, 1);
  for (let id = 1; id <= rows; id++) {
    const [first, firstAscii] = r.pick(FIRST);
    const [last, lastAscii] = r.pick(LAST);
    const country = r.pick(COUNTRIES);
    const amount = r.int(100, 99_999);
    const quantity = r.int(1, 20);
    const createdAt = new Date(start + r.int(0, 730 * 86_400) * 1000 + r.int(0, 999)).toISOString();
    const active = r.next() < 0.5;
    const head = `${id},${uuid(r)},${first} ${last},${firstAscii}.${lastAscii}${id}@${r.pick(DOMAINS)},`;
    const tail = `,${cents(amount)},${quantity},${createdAt},${active},${notes(r)}`;
    out += head + country + tail + '\n';
    if (active) {
      activeRows++;
      activeQuantitySum += quantity;
      floorOut += head + country.toUpperCase() + tail + ',' + cents(amount * quantity) + '\n';
    }
    if (id % ROWS_PER_WRITE === 0) {
      bytes += writeSync(csv, out);
      writeSync(floor, floorOut);
      out = '';
      floorOut = '';
    }
  }
  bytes += writeSync(csv, out);
  writeSync(floor, floorOut);
  closeSync(csv);
  closeSync(floor);
  renameSync(csvPath + '.tmp', csvPath);
  renameSync(floorCsvPath + '.tmp', floorCsvPath);
  return { version: GENERATOR_VERSION, seed: SEED, rows, label, activeRows, activeQuantitySum, bytes };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const i = process.argv.indexOf('--rows');
  const rows = i > 0 ? Number(process.argv[i + 1]) : 1_000_000;
  const t0 = performance.now();
  const data = ensureData(new URL('./data', import.meta.url).pathname, rows);
  console.log(JSON.stringify(data), `${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
