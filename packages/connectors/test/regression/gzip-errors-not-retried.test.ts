import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { type RunEvent, runPipeline } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { registry } from '../parallel-harness.ts';

// A .gz file that was not gzip failed with zlib's bare "incorrect header check" as INTERNAL: a
// code the platform retries, though no attempt can succeed. These errors are fatal and say what
// to do; CONFIG_INVALID is one the platform's job runner does not retry either.
const dir = mkdtempSync(join(tmpdir(), 'sluice-reg-'));

async function runOnce(source: string, path: string, extra: Record<string, unknown> = {}) {
  const events: RunEvent[] = [];
  const report = await runPipeline(
    {
      name: 'gz',
      steps: [
        {
          id: 'load',
          retry: { attempts: 3, backoff: { initial: '10ms', max: '10ms' } },
          flow: [
            { source, with: { path, ...extra } },
            { sink: 'ndjson', with: { path: join(dir, `out-${source}.ndjson`) } },
          ],
        },
      ],
    },
    { registry, stateDir: join(dir, `state-${source}`), parallel: false, onEvent: (e) => events.push(e) },
  );
  const starts = events.filter((e) => e.type === 'step' && e.status === 'running');
  return { report, starts: starts.length };
}

describe('a .gz file that cannot be decompressed', () => {
  it('fails the step on its first attempt with an error that says what to do', async () => {
    const path = join(dir, 'plain.ndjson.gz');
    writeFileSync(path, '{"a":1}\n');
    for (const source of ['ndjson', 'json', 'csv']) {
      const { report, starts } = await runOnce(source, path);
      expect(starts).toBe(1);
      expect(report.steps[0]!.attempts).toBe(1);
      expect(report.error).toMatchObject({
        code: 'CONFIG_INVALID',
        message:
          `load.0:${source}: config.path: ${path}: not a gzip file (zlib: incorrect header check); ` +
          'remove the .gz suffix or set compression: none',
      });
    }
  });

  it('names a file cut short, and one given compression: gzip that is not gzip', async () => {
    const cut = join(dir, 'cut.ndjson.gz');
    writeFileSync(cut, gzipSync('{"a":1}\n'.repeat(1000)).subarray(0, 40));
    const a = await runOnce('ndjson', cut);
    expect(a.starts).toBe(1);
    expect(a.report.error).toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining(`${cut}: the gzip data ends too soon (zlib: unexpected end of file)`),
    });
    const named = join(dir, 'plain.ndjson');
    writeFileSync(named, '{"a":1}\n');
    const b = await runOnce('ndjson', named, { compression: 'gzip' });
    expect(b.starts).toBe(1);
    expect(b.report.error!.message).toMatch(/not a gzip file .*; set compression: auto or none$/);
  });
});
