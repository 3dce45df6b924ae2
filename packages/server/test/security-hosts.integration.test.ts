import { describe, expect, it } from 'vitest';
import { backends } from './helpers/backends.ts';
import { waitForJob } from './helpers/platform.ts';
import { runningPlatform } from './helpers/running.ts';

// Issue 18: a URL parameter must not turn a pipeline into a probe of the internal network. The
// operator's --deny-hosts reaches the step process that runs the step.

const spec = {
  name: 'fetch-by-url',
  parameters: { type: 'object', properties: { url: { type: 'string' } }, required: ['url'] },
  flow: [
    { source: 'csv', with: { path: '${params.url}' } },
    { sink: 'ndjson', with: { path: 'out.ndjson' } },
  ],
};

describe.each(backends)('hosts a step may reach, on $name', ({ name }) => {
  const ctx = runningPlatform(name, { jobAttempts: 3, denyHosts: ['127.0.0.0/8', '::1'] });

  async function refused(url: string, shown: RegExp) {
    const created = await ctx.admin('POST', '/pipelines', {
      spec: { ...spec, name: `${spec.name}-${Math.random().toString(36).slice(2, 8)}` },
    });
    expect(created.status).toBe(201);
    const run = await ctx.admin('POST', `/pipelines/${created.body.id}/execute`, { parameters: { url } });
    expect(run.status).toBe(202);
    const jobId = run.body.jobId as string;
    const row = await waitForJob(ctx.p, jobId);
    expect(row.status).toBe('failed');
    expect(row.attempt, 'not retried: no attempt can fix it').toBe(1);
    const job = await ctx.admin('GET', `/jobs/${jobId}`);
    expect(job.body.error.code).toBe('HOST_FORBIDDEN');
    expect(job.body.error.message).toMatch(shown);
    const audited = await ctx.admin('GET', `/audit?action=job.host_forbidden&resourceId=${jobId}`);
    expect(audited.body.items).toHaveLength(1);
  }

  it('refuses a host --deny-hosts names by address, and the metadata address always', async () => {
    await refused('http://localhost:9/x.csv', /the host localhost \(address .*\) is refused by --deny-hosts/);
    await refused('http://169.254.169.254/latest/meta-data/x.csv', /refused by the built-in rule/);
  });
});
