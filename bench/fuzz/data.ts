/**
 * Hostile CSV, NDJSON and JSON files, and the check that runs one through the engine (the file
 * source → the ndjson sink) and says what went wrong: the run succeeds with every row written or
 * quarantined, or fails with a Sluice code other than INTERNAL; it never throws anything else and
 * never hangs.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, type Registry, type RunReport, runPipeline, SluiceError } from '@sluice/core';
import fc from 'fast-check';
import { HOSTILE_STRINGS, hostileValue, RawJson, toJsonText } from './hostile.ts';
import type { Problem } from './oracle.ts';

export interface DataFile {
  format: 'csv' | 'ndjson' | 'json';
  /** File name; `.gz` on a file that is not gzip is one of the hostile cases. */
  name: string;
  bytes: Buffer;
  /** Source config beyond `path`. */
  config: Record<string, unknown>;
}

const cell = fc.oneof(
  fc.constantFrom(
    '1',
    '-0',
    '1e400',
    '1e-400',
    '99999999999999999999',
    '9007199254740993',
    'NaN',
    '',
    '"unbalanced',
    'a""b',
    '"quoted, with comma"',
    '"multi\nline"',
    'true',
    'yes',
    '2026-13-45',
    '2026-01-01T00:00:00+25:00',
    '\u0000',
  ),
  fc.constantFrom(...HOSTILE_STRINGS).map((s) => s.replace(/[\r\n]/g, ' ')),
  fc.string({ unit: 'binary', maxLength: 12 }),
);
const columnName = fc.oneof(
  fc.constantFrom('id', 'amount', 'active', 'name'),
  fc.constantFrom('', 'a\u0000b', '__proto__', 'constructor', '\uFEFFid', ' id ', 'a.b', 'x'.repeat(10_000)),
  fc.string({ unit: 'binary', maxLength: 8 }),
);

/** Byte-level damage after the text is built: what a truncated upload or a wrong encoding gives. */
const damage = fc.oneof(
  { weight: 6, arbitrary: fc.constant((b: Buffer) => b) },
  {
    weight: 1,
    arbitrary: fc.nat().map((n) => (b: Buffer) => b.subarray(0, b.length === 0 ? 0 : n % b.length)),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.nat(), fc.constantFrom([0xff], [0xc3], [0xe2, 0x82], [0x00], [0xed, 0xa0, 0x80]))
      .map(([n, bad]) => (b: Buffer) => {
        const at = b.length === 0 ? 0 : n % b.length;
        return Buffer.concat([b.subarray(0, at), Buffer.from(bad), b.subarray(at)]);
      }),
  },
  { weight: 1, arbitrary: fc.constant((b: Buffer) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), b])) },
);

const lineEnd = fc.constantFrom('\n', '\r\n', '\r');

const csvFile: fc.Arbitrary<DataFile> = fc
  .record({
    header: fc.array(columnName, { minLength: 1, maxLength: 5 }),
    wide: fc.constantFrom(0, 0, 0, 0, 5_000),
    rows: fc.array(fc.array(cell, { maxLength: 7 }), { maxLength: 20 }),
    eol: lineEnd,
    hasHeader: fc.boolean(),
    delimiter: fc.constantFrom(',', ',', ';', '\t', '"'),
    schema: fc.option(
      fc.dictionary(
        columnName,
        fc.constantFrom('integer', 'number', 'boolean', 'date', 'timestamp', 'string'),
        { maxKeys: 3 },
      ),
    ),
    hugeField: fc.constantFrom(0, 0, 0, 0, 0, 0, 2_000_000),
    damage,
    gz: fc.constantFrom(false, false, false, false, false, false, false, false, false, true),
  })
  .map((c) => {
    const header = c.wide > 0 ? Array.from({ length: c.wide }, (_, i) => `c${i}`) : c.header;
    const rows = c.hugeField > 0 ? [...c.rows, ['x'.repeat(c.hugeField)]] : c.rows;
    const text = [...(c.hasHeader ? [header] : []), ...rows].map((r) => r.join(c.delimiter)).join(c.eol);
    return {
      format: 'csv' as const,
      name: c.gz ? 'in.csv.gz' : 'in.csv',
      bytes: c.damage(Buffer.from(text)),
      config: {
        header: c.hasHeader,
        delimiter: c.delimiter,
        ...(c.schema ? { schema: c.schema } : {}),
      },
    };
  });

/** One JSON element as text: ordinary, hostile, or not JSON at all. */
const jsonElement = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
  {
    weight: 3,
    arbitrary: fc.dictionary(fc.string({ maxLength: 6 }), hostileValue, { maxKeys: 3 }).map(toJsonText),
  },
  { weight: 1, arbitrary: hostileValue.map(toJsonText) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '{',
      "{'a': 1}",
      '{"a": 1,}',
      '{"a": undefined}',
      '{"a": NaN}',
      '{"a": 1e400}',
      '{"a": 123456789012345678901234567890}',
      '{"a":"\u0000"}',
      `{"a":${'['.repeat(1_500)}${']'.repeat(1_500)}}`,
      `{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}`,
      `{"a":"${'x'.repeat(2_000_000)}"}`,
      new RawJson('{"__proto__":{"polluted":1}}').text,
      '',
    ),
  },
);

const ndjsonFile: fc.Arbitrary<DataFile> = fc
  .record({
    lines: fc.array(jsonElement, { maxLength: 15 }),
    eol: fc.constantFrom('\n', '\r\n'),
    bigNumbers: fc.constantFrom(undefined, 'quarantine', 'string'),
    maxDepth: fc.constantFrom(undefined, 1, 3, 2_000),
    damage,
  })
  .map((c) => ({
    format: 'ndjson' as const,
    name: 'in.ndjson',
    bytes: c.damage(Buffer.from(c.lines.join(c.eol))),
    config: {
      ...(c.bigNumbers ? { bigNumbers: c.bigNumbers } : {}),
      ...(c.maxDepth ? { maxDepth: c.maxDepth } : {}),
    },
  }));

const jsonFile: fc.Arbitrary<DataFile> = fc
  .record({
    elements: fc.array(
      jsonElement.filter((e) => e !== ''),
      { maxLength: 15 },
    ),
    top: fc.constantFrom('array', 'array', 'array', 'object', 'scalar', 'truncated'),
    bigNumbers: fc.constantFrom(undefined, 'quarantine', 'string'),
    damage,
  })
  .map((c) => {
    const array = `[${c.elements.join(',')}]`;
    const text =
      c.top === 'array'
        ? array
        : c.top === 'object'
          ? `{"rows":${array}}`
          : c.top === 'scalar'
            ? '42'
            : array.slice(0, Math.floor(array.length / 2));
    return {
      format: 'json' as const,
      name: 'in.json',
      bytes: c.damage(Buffer.from(text)),
      config: c.bigNumbers ? { bigNumbers: c.bigNumbers } : {},
    };
  });

export const hostileDataFile: fc.Arbitrary<DataFile> = fc.oneof(csvFile, ndjsonFile, jsonFile);

/** Limits of one data run. */
export const DATA_LIMITS = {
  /** A run that takes longer is a hang (cancelled, then reported). */
  timeoutMs: 20_000,
} as const;

export interface DataOutcome {
  problems: Problem[];
  report?: RunReport;
  ms: number;
}

/** Writes the file into `dir` and runs it through the engine; what went wrong, if anything. */
export async function runDataFile(f: DataFile, dir: string, registry: Registry): Promise<DataOutcome> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, f.name), f.bytes);
  const spec = {
    name: 'fuzz-data',
    flow: [
      { source: f.format, with: { path: f.name, ...f.config } },
      { sink: 'ndjson', with: { path: 'out.ndjson' } },
    ],
  };
  const abort = new AbortController();
  const t0 = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<'hang'>((done) => {
    timer = setTimeout(() => {
      abort.abort();
      done('hang');
    }, DATA_LIMITS.timeoutMs);
  });
  try {
    const r = await Promise.race([
      runPipeline(spec, {
        registry,
        baseDir: dir,
        stateDir: join(dir, 'state'),
        env: {},
        signal: abort.signal,
      }),
      hang,
    ]);
    const ms = Date.now() - t0;
    if (r === 'hang') return { problems: [{ kind: 'hang', detail: `no result after ${ms} ms` }], ms };
    return { problems: await checkReport(r, dir), report: r, ms };
  } catch (err) {
    const ms = Date.now() - t0;
    if (!(err instanceof SluiceError))
      return {
        problems: [{ kind: 'crash', detail: `threw ${String((err as Error)?.stack ?? err).slice(0, 400)}` }],
        ms,
      };
    if (err.code === ErrorCode.INTERNAL)
      return { problems: [{ kind: 'internal', detail: `threw INTERNAL: ${err.message.slice(0, 300)}` }], ms };
    return { problems: [], ms };
  } finally {
    clearTimeout(timer);
  }
}

async function checkReport(r: RunReport, dir: string): Promise<Problem[]> {
  const out: Problem[] = [];
  const errors = [r.error, ...r.steps.map((s) => s.error)].filter((e) => e !== undefined);
  for (const e of errors)
    if (e.code === ErrorCode.INTERNAL || !Object.values(ErrorCode).includes(e.code as ErrorCode))
      out.push({ kind: 'internal', detail: `${e.code}: ${e.message.slice(0, 300)}` });
  if (r.status !== 'success') return out;
  for (const s of r.steps) {
    if (s.rowsRead !== s.rowsWritten + s.rowsQuarantined + s.rowsFiltered)
      out.push({
        kind: 'rows',
        detail: `read ${s.rowsRead} ≠ written ${s.rowsWritten} + quarantined ${s.rowsQuarantined} + filtered ${s.rowsFiltered}`,
      });
    if (s.integrity && !s.integrity.ok)
      out.push({
        kind: 'rows',
        detail: `success with integrity problems: ${s.integrity.problems.join('; ')}`,
      });
  }
  const written = r.steps.reduce((a, s) => a + s.rowsWritten, 0);
  const lines = (await readFile(join(dir, 'out.ndjson'), 'utf8').catch(() => ''))
    .split('\n')
    .filter((l) => l.length > 0).length;
  if (lines !== written)
    out.push({ kind: 'rows', detail: `the report says ${written} rows written, the file has ${lines}` });
  return out;
}
