import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry, type RunReport, runPipeline } from '@sluice/core';
import { expect, it } from 'vitest';
import { builtinConnectors } from '../../src/index.ts';

// `3,"Cy"d,30` was read as `Cyd` without a word, and a quote never closed swallowed every line
// after it into one quarantined record. Both are now set aside with their line; the lines after a
// stray quote are read, and every data line is a row or a quarantined record.
const DATA =
  'id,name,n\n' +
  '1,"Ann",10\n' +
  '3,"Cy"d,30\n' + // line 3: text after the closing quote
  '4,Di,40\n' +
  '5,"Ed,50\n' + // line 5: a quote never closed
  '6,Flo,60\n' +
  '7,Gus,70\n';

async function run(lenientQuotes?: boolean): Promise<{ report: RunReport; rows: unknown[]; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-quotes-'));
  await writeFile(join(dir, 'in.csv'), DATA);
  const report = await runPipeline(
    {
      name: 'quotes',
      flow: [
        {
          source: 'csv',
          with: { path: 'in.csv', ...(lenientQuotes === undefined ? {} : { lenientQuotes }) },
        },
        { sink: 'ndjson', with: { path: 'out.ndjson' } },
      ],
    },
    {
      registry: new Registry().register(...builtinConnectors),
      baseDir: dir,
      stateDir: join(dir, 'state'),
      parallel: false,
    },
  );
  const rows = (await readFile(join(dir, 'out.ndjson'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  return { report, rows, dir };
}

// The run's quarantine file gathers every step's entries.
async function quarantined(dir: string): Promise<{ line: number; reason: string; raw: string }[]> {
  const text = await readFile(join(dir, 'state', 'quarantine.ndjson'), 'utf8');
  return text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

it('quarantines text after a closing quote and a quote never closed, each at its line', async () => {
  const { report, rows, dir } = await run();
  expect(report.status).toBe('success');
  expect(rows.map((r) => (r as { id: string }).id)).toEqual(['1', '4', '6', '7']);
  const q = await quarantined(dir);
  expect(q.map((e) => [e.line, e.raw])).toEqual([
    [3, '3,"Cy"d,30'],
    [5, '5,"Ed,50'],
  ]);
  expect(q[0]!.reason).toMatch(/field 2 has text after its closing quote .*lenientQuotes: true/);
  expect(q[1]!.reason).toMatch(/quote opening field 2 at line 5 is not closed on that line/);
  // Six data lines: four rows and two quarantined, and the report balances.
  const step = report.steps[0]!;
  expect([step.rowsRead, step.rowsWritten, step.rowsQuarantined]).toEqual([6, 4, 2]);
  expect(report.integrity.ok).toBe(true);
});

it('reads text after a closing quote into the field with lenientQuotes: true', async () => {
  const { report, rows, dir } = await run(true);
  expect(rows[1]).toEqual({ id: '3', name: 'Cyd', n: '30' });
  expect(rows.map((r) => (r as { id: string }).id)).toEqual(['1', '3', '4', '6', '7']);
  expect((await quarantined(dir)).map((e) => e.line)).toEqual([5]);
  expect(report.steps[0]!.rowsRead).toBe(6);
});
