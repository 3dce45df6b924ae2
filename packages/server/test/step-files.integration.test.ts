import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StepReport } from '@sluice/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { artifactKey } from '../src/services/artifacts.ts';
import { stepFilesDir, upstreamReports } from '../src/services/step-files.ts';
import { type TestPlatform, testPlatform } from './helpers/platform.ts';

// A later step of a job may run on another worker than the task that downloaded its input: the
// worker fetches the file from the artifact store to the path the step would have had, and
// replaces a copy it holds that is not the same file.

let p: TestPlatform;
beforeAll(async () => {
  p = await testPlatform('pglite');
});
afterAll(async () => {
  await p?.close();
});

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

it("fetches an upstream step's file it lacks, or holds another version of, and gives its local path", async () => {
  const jobId = 'job-files-1';
  const text = 'date,amount\n2026-11-02,10\n';
  await p.store.write(artifactKey(jobId, 'extract.file.report.csv'), text);
  // As the step process sent it back: the server's directories hidden.
  const report: StepReport = {
    id: 'extract',
    kind: 'task',
    status: 'success',
    attempts: 1,
    rowsRead: 0,
    rowsWritten: 0,
    rowsFiltered: 0,
    rowsQuarantined: 0,
    durationMs: 5,
    components: [],
    files: {
      report: {
        path: '<job workspace>/state/extract/steps/extract/files/report.csv',
        bytes: text.length,
        sha256: sha(text),
      },
    },
  };
  const here = mkdtempSync(join(tmpdir(), 'sluice-other-worker-'));
  const stateDirOf = (id: string) => join(here, 'state', id);
  const fetched = await upstreamReports(p, jobId, new Map([['extract', report]]), stateDirOf, new Set());
  const local = join(stepFilesDir(stateDirOf('extract'), 'extract'), 'report.csv');
  expect(fetched.extract!.files!.report).toEqual({ path: local, bytes: text.length, sha256: sha(text) });
  expect(readFileSync(local, 'utf8')).toBe(text);

  // A stale copy of the same size is replaced by the job's own file.
  const stale = text.replace('10', '99');
  mkdirSync(join(local, '..'), { recursive: true });
  writeFileSync(local, stale);
  const verified = new Set<string>();
  await upstreamReports(p, jobId, new Map([['extract', report]]), stateDirOf, verified);
  expect(readFileSync(local, 'utf8')).toBe(text);
  // Found good once in an attempt, it is not hashed again for the next step of the job.
  writeFileSync(local, stale);
  await upstreamReports(p, jobId, new Map([['extract', report]]), stateDirOf, verified);
  expect(readFileSync(local, 'utf8')).toBe(stale);
});
