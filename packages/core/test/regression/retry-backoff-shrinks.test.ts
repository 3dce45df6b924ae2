import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { stepBackoff } from '../../src/internal/backoff.ts';
import { runWithEvents } from '../helpers/connectors.ts';

// Retries waited 1315 ms, then 101 ms: cockatiel's default (decorrelated jitter) can follow a long
// wait with a short one. Retry n now waits in [cap(n)/2, cap(n)) with cap(n) = min(max, initial·2^n)
// (equal jitter), and the log line says which attempt of how many failed.
const cap = (n: number, initial: number, max: number) => Math.min(max, initial * 2 ** n);

it('waits within an exponentially growing range, never less than the retry before could have', () => {
  const initial = 100;
  const max = 5000;
  for (let run = 0; run < 2000; run++) {
    let b = stepBackoff({ attempts: 10, initialDelayMs: initial, maxDelayMs: max }).next();
    let previousFloor = 0;
    let previous = 0;
    for (let n = 0; n < 9; n++) {
      const d = b.duration;
      expect(d).toBeGreaterThanOrEqual(cap(n, initial, max) / 2);
      expect(d).toBeLessThanOrEqual(cap(n, initial, max));
      expect(d).toBeGreaterThanOrEqual(previousFloor);
      // Below the cap the ranges do not overlap, so the waits only grow.
      if (cap(n, initial, max) < max) expect(d).toBeGreaterThanOrEqual(previous);
      previousFloor = cap(n, initial, max) / 2;
      previous = d;
      b = b.next(undefined);
    }
  }
});

it('logs the attempt number and the attempts in all, with waits that grow', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-backoff-'));
  const spec = {
    name: 'backoff',
    flow: [
      { source: 'count', with: { rows: 10, failAfter: 0, failWith: 'retryable' } },
      { sink: 'json-table', with: { path: join(dir, 'out.json') } },
    ],
    retry: { attempts: 6, backoff: { initial: '4ms', max: '1s' } },
  };
  const { report, events } = await runWithEvents(spec, dir);
  expect(report.steps[0]!.attempts).toBe(6);
  const lines = events.flatMap((e) => (e.type === 'log' && /retrying/.test(e.message) ? [e.message] : []));
  expect(lines).toHaveLength(5);
  const waits = lines.map((line, i) => {
    const m = line.match(/^attempt (\d+) of 6 failed, retrying in (\d+) ms: transient failure/);
    expect(m, line).not.toBeNull();
    expect(Number(m![1])).toBe(i + 1);
    return Number(m![2]);
  });
  waits.forEach((w, n) => {
    expect(w).toBeGreaterThanOrEqual(Math.floor(cap(n, 4, 1000) / 2));
    expect(w).toBeLessThanOrEqual(cap(n, 4, 1000));
  });
});
