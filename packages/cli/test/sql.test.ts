import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { sluice } from './helpers.ts';

const examples = fileURLToPath(new URL('../../../examples', import.meta.url));

describe('the sql transform through the CLI', () => {
  it('runs examples/sql-report.yaml: a join, an aggregation and a window on DuckDB', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-sql-cli-'));
    cpSync(join(examples, 'sql-report.yaml'), join(dir, 'sql-report.yaml'));
    cpSync(join(examples, 'data'), join(dir, 'data'), { recursive: true });
    const r = await sluice(['run', 'sql-report.yaml', '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    // Two rows of the orders are bad on purpose: quarantined by the csv source, before the sql stage.
    expect(report).toMatchObject({ integrity: { ok: true } });
    expect(report.steps[0]).toMatchObject({ rowsRead: 12, rowsQuarantined: 2, rowsWritten: 2 });
    const rows = readFileSync(join(dir, 'out', 'revenue-by-region.ndjson'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows).toEqual([
      { region: 'Americas', orders: 5, revenue: 1116.77, share_pct: 73.8, rank: 1 },
      { region: 'Europe', orders: 3, revenue: 397, share_pct: 26.2, rank: 2 },
    ]);
  });

  it('`sluice validate` refuses a query DuckDB cannot parse, at its with.query', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-sql-cli-'));
    const spec = join(dir, 'bad.yaml');
    writeFileSync(
      spec,
      [
        'name: bad-sql',
        'flow:',
        '  - source: csv',
        '    with: { path: in.csv }',
        '  - transform: sql',
        '    with: { query: "SELECT country, count(*) FROM input GROUP BY country HAVING" }',
        '  - sink: ndjson',
        '    with: { path: out.ndjson }',
      ].join('\n'),
    );
    const r = await sluice(['validate', spec, '--json']);
    expect(r.code).toBe(2);
    const out = JSON.parse(r.stdout);
    expect(out.error.issues).toEqual([
      {
        path: 'flow[1].with.query',
        message: expect.stringMatching(/^step "main": Parser Error: syntax error/),
      },
    ]);
  });
});
