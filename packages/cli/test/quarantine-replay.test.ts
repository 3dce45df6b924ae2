import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sluice } from './helpers.ts';

const spec = (amount: string, state = '') => `name: replay-cli
flow:
  - source: csv
    with: { path: in.csv }
  - transform: cast
    with: { fields: { amount: ${amount} } }
  - sink: ndjson
    with: { path: out.ndjson }
${state}`;

describe('sluice quarantine replay', { timeout: 60_000 }, () => {
  it('replays the last run’s quarantine through the fixed spec and prints what became of it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-replay-cli-'));
    writeFileSync(join(dir, 'in.csv'), 'id,amount\n1,10\n2,x\n3,3.5\n');
    const path = join(dir, 'p.yaml');
    writeFileSync(path, spec('integer'));
    const run = await sluice(['run', path, '-q'], { cwd: dir });
    expect(run.code).toBe(0);

    writeFileSync(path, spec('number'));
    const replay = await sluice(['quarantine', 'replay', path, '-q'], { cwd: dir });
    expect(replay.stderr).toBe('');
    expect(replay.code).toBe(0);
    expect(replay.stdout).toContain(
      'main: replayed 2 quarantined rows: 1 written, 0 filtered, 1 quarantined again',
    );
    const out = readFileSync(join(dir, 'out.ndjson'), 'utf8').trim().split('\n');
    expect(out.map((l) => JSON.parse(l).id)).toEqual(['1', '3']);

    const again = await sluice(['quarantine', 'replay', path, '--json'], { cwd: dir });
    expect(again.code).toBe(0);
    const report = JSON.parse(again.stdout);
    expect(report.steps[0].replay).toMatchObject({ taken: 1, written: 0, quarantined: 1 });
    expect(report.quarantine.rows).toBe(1);
  });

  it('takes the run directory with --run, and fails with exit code 2 when there is no run or no such step', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-replay-cli-'));
    writeFileSync(join(dir, 'in.csv'), 'id,amount\n1,x\n');
    const path = join(dir, 'p.yaml');
    writeFileSync(path, spec('integer'));
    expect((await sluice(['run', path, '-q', '--state-dir', 'elsewhere'], { cwd: dir })).code).toBe(0);
    writeFileSync(path, spec('number'));

    const none = await sluice(['quarantine', 'replay', path], { cwd: dir });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no run of pipeline "replay-cli"');
    const step = await sluice(['quarantine', 'replay', path, '--run', 'elsewhere', '--step', 'nope'], {
      cwd: dir,
    });
    expect(step.code).toBe(2);
    expect(step.stderr).toContain('no flow step "nope"');
    const ok = await sluice(['quarantine', 'replay', path, '--run', 'elsewhere', '--step', 'main'], {
      cwd: dir,
    });
    expect(ok.code).toBe(0);
    // x is no number either: the replay succeeds, and the row stays quarantined.
    expect(ok.stdout).toContain('1 quarantined again');
  });
});
