import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { parquetSink } from '../../src/index.ts';
import { openSink } from '../harness.ts';

// Found by the conformance suite through the CLI: after a kill and --resume, the parquet sink's
// verification counted only the rows of the resumed attempt (5800 of a 6000-row file), where the
// other file sinks and the engine count the whole file, so the report contradicted itself.
it('a resumed parquet sink verifies the whole file, rows before the checkpoint included', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'sluice-pq-resume-')), 'out.parquet');
  const rows = Array.from({ length: 10 }, (_, i) => ({ id: i + 1 }));
  const key = 'regression/parquet-verify';
  const a = await openSink(parquetSink, { path, rowGroupSize: 2 }, { key });
  await a.writer.start(undefined);
  await a.writer.write(rows.slice(0, 4));
  const state = await a.writer.commit({ seq: 1, position: 4 });
  await a.writer.abort(new Error('killed'));
  const b = await openSink(parquetSink, { path, rowGroupSize: 2 }, { key });
  await b.writer.start(state ?? undefined);
  await b.writer.write(rows.slice(4));
  const result = await b.writer.close();
  expect(result.rowsWritten).toBe(6);
  expect(result.verification).toEqual({ level: 'count', rowsHanded: 10, rowsFound: 10 });
});
