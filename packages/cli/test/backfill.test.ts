import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sluice } from './helpers.ts';

const SPEC = `
name: daily-orders
parameters:
  type: object
  properties:
    date: { type: string, format: date }
    region: { type: string, default: all }
steps:
  - id: day
    flow:
      - source: csv
        with: { path: orders.csv }
      - transform: filter
        with: { where: "day == params.date" }
      - sink: ndjson
        with: { path: "out/\${params.region}-\${params.date}.ndjson" }
`;

describe('sluice backfill', { timeout: 120_000 }, () => {
  it('runs a local spec once per day, two at a time, one output per day', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-backfill-'));
    writeFileSync(join(dir, 'pipeline.yaml'), SPEC);
    writeFileSync(
      join(dir, 'orders.csv'),
      'id,day\n1,2026-11-01\n2,2026-11-01\n3,2026-11-02\n4,2026-11-03\n5,2026-11-03\n6,2026-11-03\n7,2026-11-04\n',
    );
    const r = await sluice(
      ['backfill', 'pipeline.yaml', '--from', '2026-11-01', '--to', '2026-11-04', '--every', 'day'].concat([
        '--concurrency',
        '2',
        '--param',
        'region=eu',
        '--json',
      ]),
      { cwd: dir },
    );
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { intervals: { date: string; status: string; stateDir: string }[] };
    expect(doc.intervals.map((i) => [i.date, i.status])).toEqual([
      ['2026-11-01', 'success'],
      ['2026-11-02', 'success'],
      ['2026-11-03', 'success'],
    ]);
    expect(readdirSync(join(dir, 'out')).sort()).toEqual([
      'eu-2026-11-01.ndjson',
      'eu-2026-11-02.ndjson',
      'eu-2026-11-03.ndjson',
    ]);
    const rows = (d: string) =>
      readFileSync(join(dir, 'out', `eu-${d}.ndjson`), 'utf8')
        .trim()
        .split('\n');
    expect([rows('2026-11-01').length, rows('2026-11-02').length, rows('2026-11-03').length]).toEqual([
      2, 1, 3,
    ]);
    // Each run kept its state apart from the others'.
    expect(doc.intervals[0]!.stateDir).toBe(
      join(dir, '.sluice', 'runs', 'daily-orders', 'backfill', '2026-11-01'),
    );
    expect(existsSync(join(doc.intervals[2]!.stateDir, 'run.json'))).toBe(true);
  });

  it('refuses a spec without a date parameter, and a misaligned --from', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-backfill-'));
    writeFileSync(
      join(dir, 'plain.yaml'),
      'name: plain\nsteps:\n  - id: x\n    task: shell\n    with: { command: ["true"] }\n',
    );
    const plain = await sluice(
      ['backfill', 'plain.yaml', '--from', '2026-11-01', '--to', '2026-11-03', '--every', 'day'],
      {
        cwd: dir,
      },
    );
    expect(plain.code).toBe(2);
    expect(plain.stderr).toMatch(/declares none of the parameters date, start, end/);
    writeFileSync(join(dir, 'pipeline.yaml'), SPEC);
    const week = await sluice(
      ['backfill', 'pipeline.yaml', '--from', '2026-11-04', '--to', '2026-12-01', '--every', 'week'],
      {
        cwd: dir,
      },
    );
    expect(week.code).toBe(2);
    expect(week.stderr).toMatch(
      /not the start of a week \(weeks start on Monday\) in UTC: start at 2026-11-02 or 2026-11-09/,
    );
  });
});
