import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsEnv, type S3Server, startS3 } from '../../connectors/test/s3-server.ts';
import { applyRetention } from '../src/services/retention.ts';
import { FileStore } from '../src/storage/file-store.ts';
import { S3Store } from '../src/storage/s3-store.ts';
import { backends } from './helpers/backends.ts';
import { testPlatform, waitForJob } from './helpers/platform.ts';
import { runningPlatform } from './helpers/running.ts';

// Issue 16: `sluice serve --artifacts s3://bucket/prefix` keeps job logs, reports, quarantine files
// and saved output in the bucket, and the API reads them back from there.

let s3: S3Server;
beforeAll(async () => {
  s3 = await startS3();
  await s3.bucket('sluice');
  // As an operator configures it: the SDK's own environment variables.
  Object.assign(process.env, awsEnv(s3));
});
afterAll(async () => {
  await s3?.close();
});

async function text(r: Readable): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts).toString();
}

describe.each(backends)('artifacts on S3 on $name', ({ name }) => {
  const url = `s3://sluice/platform-${name}`;
  const ctx = runningPlatform(name, { artifacts: url });

  it('stores a job’s log, reports, quarantine and output in the bucket, and serves them from there', async () => {
    const rows = Array.from({ length: 10 }, (_, i) =>
      JSON.stringify({ id: i + 1, amount: i % 3 === 0 ? `x${i}` : String(i) }),
    );
    writeFileSync(join(ctx.p.filesDir, 'in.ndjson'), `${rows.join('\n')}\n`);
    const created = await ctx.admin('POST', '/pipelines', {
      spec: {
        name: `artifacts-s3-${name}`,
        steps: [
          {
            id: 'load',
            flow: [
              { source: 'ndjson', with: { path: 'in.ndjson' } },
              { transform: 'cast', with: { fields: { amount: 'integer' } } },
              { sink: 'ndjson', with: { path: 'out.ndjson' } },
            ],
          },
          {
            id: 'say',
            needs: ['load'],
            task: 'shell',
            with: { command: ['sh', '-c', 'echo hello from the step'], saveOutput: true },
          },
        ],
      },
    });
    expect(created.status, created.text).toBe(201);
    const run = await ctx.admin('POST', `/pipelines/${created.body.id}/execute`, {});
    const job = await waitForJob(ctx.p, run.body.jobId);
    expect(job.status, JSON.stringify(job.error)).toBe('success');

    const listed = await ctx.admin('GET', `/jobs/${job.id}/artifacts`);
    const names = (listed.body.items as { name: string }[]).map((a) => a.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'log.ndjson',
        'load.report.json',
        'load.quarantine.ndjson',
        'say.report.json',
        'say.stdout.log',
      ]),
    );
    const download = (name: string) =>
      ctx.app.inject({ url: `/api/v1/jobs/${job.id}/artifacts/${name}`, headers: ctx.p.auth });
    const output = await download('say.stdout.log');
    expect(output.statusCode).toBe(200);
    expect(output.body).toBe('hello from the step\n');
    // Each whole artifact is listed with the SHA-256 of what was stored; the appended log is not.
    const sums = Object.fromEntries(
      (listed.body.items as { name: string; sha256: string | null }[]).map((a) => [a.name, a.sha256]),
    );
    expect(sums['say.stdout.log']).toBe(createHash('sha256').update(output.rawPayload).digest('hex'));
    const stored = await download('load.quarantine.ndjson');
    expect(sums['load.quarantine.ndjson']).toBe(createHash('sha256').update(stored.rawPayload).digest('hex'));
    expect(sums['log.ndjson']).toBeNull();
    const report = await download('load.report.json');
    expect(JSON.parse(report.body)).toMatchObject({ id: 'load', rowsRead: 10, rowsQuarantined: 4 });
    const quarantine = await ctx.admin('GET', `/jobs/${job.id}/quarantine?step=load`);
    expect(quarantine.status, quarantine.text).toBe(200);
    expect(quarantine.body.total).toBe(4);
    expect(quarantine.body.items.map((i: { row: { id: number } }) => i.row.id)).toEqual([1, 4, 7, 10]);
    const logs = await ctx.admin('GET', `/jobs/${job.id}/logs?limit=500`);
    const messages = (logs.body.items as { message: string }[]).map((l) => l.message);
    expect(messages).toEqual(expect.arrayContaining(['step load success', 'step say success']));
    expect(messages.at(-1)).toBe('job success');

    // Nothing went to the data directory.
    expect(existsSync(join(ctx.p.dataDir, 'files'))).toBe(false);
    // Another process (an API server on another machine) reads them from the bucket: the whole
    // log, its end flushed when the job ended.
    const other = await S3Store.open(url);
    try {
      const log = await text(other.read(`jobs/${job.id}/log.ndjson`));
      expect(log.trim().split('\n').at(-1)).toMatch(/"message":"job success"/);
      const indexed = (listed.body.items as { name: string; size: number }[]).find(
        (a) => a.name === 'say.stdout.log',
      );
      expect(await other.size(`jobs/${job.id}/say.stdout.log`)).toBe(indexed?.size);
      expect(await text(other.read(`jobs/${job.id}/load.quarantine.ndjson`))).toMatch(/"id":4/);

      // Retention deletes the job's objects from the bucket.
      await applyRetention(ctx.p, 0, new Date(Date.now() + 60_000));
      expect(await other.size(`jobs/${job.id}/log.ndjson`)).toBeUndefined();
      expect(await other.size(`jobs/${job.id}/load.report.json`)).toBeUndefined();
    } finally {
      await other.close();
    }
  });
});

it('keeps artifacts in a local directory given instead, out of the pipelines’ reach', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-artifacts-'));
  const p = await testPlatform('pglite', { artifacts: dir });
  try {
    expect(p.store).toBeInstanceOf(FileStore);
    expect((p.store as FileStore).root).toBe(dir);
    expect(p.paths.denied).toContain(realpathSync(dir));
  } finally {
    await p.close();
  }
  await expect(testPlatform('pglite', { artifacts: 'https://host/dir' })).rejects.toThrow(
    /https:\/\/ is not supported there/,
  );
});
