import { existsSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { count, eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { auditLog, jobExecutions } from '../src/db/schema.ts';
import { pathRoots } from '../src/security/path-roots.ts';
import { backends } from './helpers/backends.ts';
import { apiCaller, tokenFor, waitForJob } from './helpers/platform.ts';
import { runningPlatform } from './helpers/running.ts';

// Issue 14, section 4: an operator (who may only execute) ran an admin's pipeline whose CSV path
// is `${params.file}` with file=/etc/passwd: the job succeeded, and the file's lines were on the
// job page as quarantined rows. A parameterised sink path wrote wherever the server could.

const outside = mkdtempSync(join(tmpdir(), 'sluice-outside-'));
const allowed = mkdtempSync(join(tmpdir(), 'sluice-allowed-'));
const SECRET = 'secret-row-that-must-never-show';
writeFileSync(join(outside, 'secret.csv'), `id,name\n1,${SECRET}\n2,"broken\n`);
writeFileSync(join(allowed, 'extra.csv'), 'id,name\n7,extra\n');

/** A pipeline taking one string parameter, `param`, used in its source or sink path. */
const byName = (name: string, param: string, source: string, sink: string) => ({
  name,
  parameters: { type: 'object', properties: { [param]: { type: 'string' } }, required: [param] },
  flow: [
    { source: 'csv', with: { path: source } },
    { sink: 'ndjson', with: { path: sink } },
  ],
});
const reader = byName('read-by-name', 'file', '${params.file}', 'out/read.ndjson');
const writer = byName('write-by-name', 'out', 'orders.csv', '${params.out}');
const strict = {
  name: 'strict-params',
  parameters: {
    type: 'object',
    properties: {
      file: { type: 'string', pattern: '^[a-z0-9_-]+\\.csv$', maxLength: 40 },
      mode: { enum: ['full', 'delta'] },
      limit: { type: 'integer' },
    },
    required: ['file'],
  },
  flow: [
    { source: 'csv', with: { path: '${params.file}' } },
    { sink: 'ndjson', with: { path: 'out/strict.ndjson' } },
  ],
};

describe.each(backends)('paths a step may open, on $name', ({ name }) => {
  const ctx = runningPlatform(name, { jobAttempts: 3, allowPaths: [allowed] });
  let operator: ReturnType<typeof apiCaller>;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    const { p } = ctx;
    writeFileSync(join(p.filesDir, 'orders.csv'), 'id,name\n1,a\n2,b\n');
    symlinkSync(join(outside, 'secret.csv'), join(p.filesDir, 'link.csv'));
    mkdirSync(join(p.filesDir, 'out'));
    for (const spec of [reader, writer, strict]) {
      const created = await ctx.admin('POST', '/pipelines', { spec });
      expect(created.status).toBe(201);
      ids[spec.name] = created.body.id;
    }
    const token = await tokenFor(p, 'operator');
    operator = apiCaller(
      () => ctx.app,
      () => token,
    );
  });

  /** Runs a pipeline as the operator; the job must fail on its first attempt with PATH_FORBIDDEN. */
  async function refused(pipeline: string, parameters: Record<string, string>, shown: string) {
    const run = await operator('POST', `/pipelines/${ids[pipeline]}/execute`, { parameters });
    expect(run.status).toBe(202);
    const jobId = run.body.jobId as string;
    const row = await waitForJob(ctx.p, jobId);
    expect(row.status).toBe('failed');
    expect(row.attempt, 'not retried: no attempt can fix it').toBe(1);
    expect(row.deadLetteredAt).toBeNull();
    const job = await operator('GET', `/jobs/${jobId}`);
    expect(job.body.error.code).toBe('PATH_FORBIDDEN');
    expect(job.body.error.message).toContain('step "main"');
    expect(job.body.error.message).toContain(shown);
    const steps = await operator('GET', `/jobs/${jobId}/steps`);
    expect(steps.body.items[0]).toMatchObject({ rowsRead: 0, rowsWritten: 0, rowsQuarantined: 0 });
    const artifacts = await operator('GET', `/jobs/${jobId}/artifacts`);
    expect(artifacts.body.items.map((a: { kind: string }) => a.kind)).not.toContain('quarantine');
    const logs = await operator('GET', `/jobs/${jobId}/logs`);
    for (const text of [job.text, steps.text, artifacts.text, logs.text]) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain('root:x:0:0');
    }
    // The job shows the parameters it was given; what the step reports names no server directory.
    for (const text of [JSON.stringify(job.body.error), steps.text, logs.text])
      expect(text).not.toContain(ctx.p.dataDir);
    const audited = await ctx.admin('GET', `/audit?action=job.path_forbidden&resourceId=${jobId}`);
    expect(audited.body.items).toHaveLength(1);
    expect(audited.body.items[0]).toMatchObject({
      resourceType: 'job',
      newValue: { pipelineId: ids[pipeline], stepId: 'main', triggeredBy: 'operator', parameters },
    });
    expect(audited.body.items[0].newValue.message).toContain(shown);
    return jobId;
  }

  it('refuses /etc/passwd as a CSV path parameter', async () => {
    await refused('read-by-name', { file: '/etc/passwd' }, '/etc/passwd is outside');
    expect(existsSync(join(ctx.p.filesDir, 'out', 'read.ndjson'))).toBe(false);
  });

  it('refuses a .. traversal out of the files directory', async () => {
    await refused('read-by-name', { file: '../../../../etc/passwd' }, '../../../../etc/passwd (/etc/passwd)');
  });

  it('refuses a symlink inside the files directory that points out of it', async () => {
    await refused('read-by-name', { file: 'link.csv' }, `link.csv (${join(outside, 'secret.csv')})`);
  });

  it('refuses an absolute sink path outside the roots, and writes nothing there', async () => {
    const target = join(outside, 'written.ndjson');
    await refused('write-by-name', { out: target }, target);
    expect(readdirSync(outside)).toEqual(['secret.csv']);
  });

  it('refuses the data directory through a parameter, even by an absolute path', async () => {
    const key = join(ctx.p.dataDir, 'master.key');
    await refused('read-by-name', { file: key }, '<data dir>/master.key');
  });

  it('runs what lies in the files directory and in an --allow-path directory', async () => {
    for (const file of ['orders.csv', join(allowed, 'extra.csv')]) {
      const run = await operator('POST', `/pipelines/${ids['read-by-name']}/execute`, {
        parameters: { file },
      });
      const row = await waitForJob(ctx.p, run.body.jobId);
      expect(row.status, JSON.stringify(row.error)).toBe('success');
    }
    const sink = await operator('POST', `/pipelines/${ids['write-by-name']}/execute`, {
      parameters: { out: join(allowed, 'copy.ndjson') },
    });
    expect((await waitForJob(ctx.p, sink.body.jobId)).status).toBe('success');
    expect(existsSync(join(allowed, 'copy.ndjson'))).toBe(true);
  });

  it('checks parameters against the schema before a job exists: 400 PARAMS_INVALID at the path', async () => {
    const jobs = async () =>
      (
        await ctx.p.database.db
          .select({ n: count() })
          .from(jobExecutions)
          .where(eq(jobExecutions.pipelineId, ids['strict-params']!))
      )[0]!.n;
    const before = await jobs();
    const cases: [Record<string, unknown>, string][] = [
      [{ file: '../../../../etc/passwd' }, 'body.parameters.file'],
      [{ file: '/etc/passwd' }, 'body.parameters.file'],
      [{ file: `${'a'.repeat(40)}.csv` }, 'body.parameters.file'],
      [{ file: 'ok.csv', mode: 'everything' }, 'body.parameters.mode'],
      [{ file: 'ok.csv', limit: 'ten' }, 'body.parameters.limit'],
      [{}, 'body.parameters'],
    ];
    for (const [parameters, path] of cases) {
      const r = await operator('POST', `/pipelines/${ids['strict-params']}/execute`, { parameters });
      expect(r.status, JSON.stringify(parameters)).toBe(400);
      expect(r.body.error.code).toBe('PARAMS_INVALID');
      expect(r.body.error.details.map((d: { path: string }) => d.path)).toContain(path);
    }
    expect(await jobs()).toBe(before);
    const schedule = await ctx.admin('POST', '/schedules', {
      pipelineId: ids['strict-params'],
      cron: '0 3 * * *',
      parameters: { file: '/etc/passwd' },
    });
    expect(schedule.status).toBe(400);
    expect(schedule.body.error.code).toBe('PARAMS_INVALID');
    const ok = await operator('POST', `/pipelines/${ids['strict-params']}/execute`, {
      parameters: { file: 'orders.csv', mode: 'full' },
    });
    expect(ok.status).toBe(202);
    expect((await waitForJob(ctx.p, ok.body.jobId)).status).toBe('success');
  });

  it('audits each refusal once, and none of the jobs that ran', async () => {
    const rows = await ctx.p.database.db
      .select({ n: count() })
      .from(auditLog)
      .where(eq(auditLog.action, 'job.path_forbidden'));
    expect(rows[0]!.n).toBe(5);
  });
});

describe('the roots of a platform', () => {
  const base = mkdtempSync(join(tmpdir(), 'sluice-roots-'));
  const files = join(base, 'files');
  const data = join(files, '.sluice');
  mkdirSync(data, { recursive: true });

  it('refuse to start when an allowed directory lies in the data directory or is missing', async () => {
    const inside = join(data, 'work');
    mkdirSync(inside);
    await expect(pathRoots({ filesDir: files, allowPaths: [inside], dataDir: data })).rejects.toThrow(
      /--allow-path .*\/\.sluice\/work lies inside the data directory .*Choose a directory outside it/s,
    );
    await expect(pathRoots({ filesDir: data, allowPaths: [], dataDir: data })).rejects.toThrow(
      /--files-dir .* is the data directory/,
    );
    await expect(
      pathRoots({ filesDir: files, allowPaths: [join(base, 'nope')], dataDir: data }),
    ).rejects.toThrow(/--allow-path .*nope: no such directory/);
  });

  it('keep the data directory out of a root that contains it', async () => {
    const policy = await pathRoots({ filesDir: files, allowPaths: [], dataDir: data });
    expect(policy.roots).toEqual([files]);
    expect(policy.denied).toContain(data);
  });
});
