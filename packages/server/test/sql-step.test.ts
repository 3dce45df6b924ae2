import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runStepProcess } from '../src/worker/step-process.ts';
import { stepRun } from './helpers/step-run.ts';

// A sql step as a platform job runs it: in a step process, with its memory limit and workspace.
describe('a sql step in its own process', { timeout: 60_000 }, () => {
  it('runs DuckDB in the step process, within the step memory, and reads a named input', async () => {
    const w = mkdtempSync(join(tmpdir(), 'sluice-sql-step-'));
    const lines = ['id,country,amount'];
    for (let i = 0; i < 5000; i++) lines.push(`${i},${['PT', 'FR', 'DE'][i % 3]},${i % 100}`);
    writeFileSync(join(w, 'in.csv'), `${lines.join('\n')}\n`);
    writeFileSync(join(w, 'names.csv'), 'code,name\nPT,Portugal\nFR,France\nDE,Germany\n');
    const spec = {
      name: 'p',
      steps: [
        {
          id: 'totals',
          flow: [
            { source: 'csv', with: { path: 'in.csv', schema: { amount: 'integer' } } },
            {
              transform: 'sql',
              with: {
                query:
                  'SELECT n.name, count(*) AS orders, sum(amount) AS total, ' +
                  "current_setting('memory_limit') AS mem FROM input JOIN names n ON n.code = input.country " +
                  'GROUP BY ALL ORDER BY n.name',
                inputs: { names: { path: 'names.csv' } },
              },
            },
            { sink: 'ndjson', with: { path: 'out.ndjson' } },
          ],
        },
      ],
    };
    const report = await runStepProcess({ ...stepRun(w, spec, 'totals'), memoryMb: 512 });
    expect(report, JSON.stringify(report.error)).toMatchObject({
      id: 'totals',
      status: 'success',
      rowsRead: 5000,
      rowsWritten: 3,
    });
    expect(report.integrity?.ok).toBe(true);
    const rows = readFileSync(join(w, 'out.ndjson'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const expected = (k: number) => {
      let orders = 0;
      let total = 0;
      for (let i = k; i < 5000; i += 3) {
        orders++;
        total += i % 100;
      }
      return [orders, total];
    };
    expect(rows.map((r) => [r.name, r.orders, r.total])).toEqual([
      ['France', ...expected(1)],
      ['Germany', ...expected(2)],
      ['Portugal', ...expected(0)],
    ]);
    // About half of the step's 512 MB heap limit (DuckDB prints the size in its own units).
    expect(rows[0].mem, rows[0].mem).toMatch(/^2\d\d\.\d MiB$/);
  });
});
