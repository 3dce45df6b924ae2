import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Row, SinkDefinition, SourceDefinition } from '@sluice/core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvSink } from '../src/csv/sink.ts';
import { csvSource } from '../src/csv/source.ts';
import { ndjsonSink } from '../src/ndjson/sink.ts';
import { ndjsonSource } from '../src/ndjson/source.ts';
import { openSink, readSource } from './harness.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-roundtrip-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
let files = 0;

// Entries only: the SOURCE_LINE symbol a source sets is not data.
const plain = (rows: Row[]) => rows.map((r) => Object.fromEntries(Object.entries(r)));

/** Strings that break naive writers, mixed with any Unicode text (no lone surrogates: UTF-8 has none). */
const tricky = fc.constantFrom(
  '',
  '"',
  '""',
  ',',
  ';',
  '\t',
  '|',
  '\r',
  '\n',
  '\r\n',
  '\n\r',
  ' ',
  'é',
  '🚚',
  '\uFEFF',
  '\\',
);
const text = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc
    .array(fc.oneof(tricky, fc.string({ unit: 'binary', maxLength: 3 })), { maxLength: 6 })
    .map((a) => a.join('')),
);

/** Writes `rows` in batches through a sink, then reads them back with a source. */
async function roundTrip(
  sink: SinkDefinition,
  sinkConfig: Record<string, unknown>,
  source: SourceDefinition,
  sourceConfig: Record<string, unknown>,
  rows: Row[],
  batch: number,
): Promise<Row[]> {
  const path = join(dir, `rt${files++}`);
  const { writer } = await openSink(sink, { ...sinkConfig, path });
  await writer.start(undefined);
  for (let i = 0; i < rows.length; i += batch) await writer.write(rows.slice(i, i + batch));
  expect((await writer.close()).rowsWritten).toBe(rows.length);
  const read = await readSource(source, { ...sourceConfig, path, chunkSize: 64, batchSize: 3 });
  expect(read.harness.quarantined).toEqual([]);
  return plain(read.rows);
}

describe('ndjson sink → ndjson source', () => {
  const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
    v: fc.oneof(
      { depthSize: 'small' },
      text,
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0)),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie('v'), { maxLength: 3 }),
      fc.dictionary(text, tie('v'), { maxKeys: 3 }),
    ),
  })).v;

  it('round-trips any objects, keys and strings', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.dictionary(text, value, { maxKeys: 5 }), { maxLength: 12 }),
        fc.integer({ min: 1, max: 5 }),
        async (rows, batch) => {
          expect(await roundTrip(ndjsonSink, {}, ndjsonSource, {}, rows, batch)).toEqual(rows);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('csv sink → csv source', () => {
  const delimiter = fc.constantFrom(',', ';', '\t', '|');
  const newline = fc.constantFrom('\n', '\r\n');
  // Distinct, non-empty names: the csv source renames blank and repeated header fields.
  const columns = fc.uniqueArray(
    text.filter((s) => s !== ''),
    { minLength: 1, maxLength: 5 },
  );
  const table = columns.chain((cols) =>
    fc.tuple(
      fc.constant(cols),
      fc.array(fc.tuple(...cols.map(() => fc.option(text, { freq: 8 }))), { maxLength: 12 }),
    ),
  );
  const toRows = (cols: string[], values: (string | null)[][]) =>
    values.map((vs) => Object.fromEntries(cols.map((c, i) => [c, vs[i]])) as Row);
  // CSV has no null: an empty field reads back as '' when no schema is given.
  const asText = (rows: Row[]) =>
    rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v ?? ''])));

  it('round-trips any strings through a file with a header', async () => {
    await fc.assert(
      fc.asyncProperty(
        table,
        delimiter,
        newline,
        fc.integer({ min: 1, max: 5 }),
        async ([cols, values], d, nl, batch) => {
          const rows = toRows(cols, values);
          const back = await roundTrip(
            csvSink,
            { delimiter: d, newline: nl },
            csvSource,
            { delimiter: d },
            rows,
            batch,
          );
          expect(back).toEqual(asText(rows));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('round-trips any strings without a header, in column order', async () => {
    await fc.assert(
      fc.asyncProperty(table, delimiter, async ([cols, values], d) => {
        const rows = toRows(cols, values);
        const back = await roundTrip(
          csvSink,
          { delimiter: d, header: false, columns: cols },
          csvSource,
          { delimiter: d, header: false, columns: cols },
          rows,
          4,
        );
        expect(back).toEqual(asText(rows));
      }),
      { numRuns: 100 },
    );
  });

  // Not for one column: there a null would be an empty line, which readers skip, so the sink
  // writes "" instead (a row must never vanish) and null reads back as ''.
  it('keeps null apart from "" for a reader that maps unquoted empty fields to null', async () => {
    await fc.assert(
      fc.asyncProperty(
        table.filter(([cols]) => cols.length > 1),
        async ([cols, values]) => {
          const rows = toRows(cols, values);
          const back = await roundTrip(csvSink, {}, csvSource, { nullValues: [''] }, rows, 5);
          expect(back).toEqual(rows);
        },
      ),
      { numRuns: 100 },
    );
  });
});
