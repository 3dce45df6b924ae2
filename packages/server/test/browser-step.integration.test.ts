import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Portal, startPortal } from '../../connectors/test/portal.ts';
import { waitForJob } from './helpers/platform.ts';
import { runningPlatform } from './helpers/running.ts';

// A browser step on the platform: its credential reaches the step's process only, the page it
// failed on becomes the job's artifacts, and the password shows nowhere. The worker's handling of
// step files is the same on both backends, so one is enough.

const PASSWORD = 'platform horse battery';

describe('a browser step whose login fails', () => {
  const ctx = runningPlatform('pglite');
  let portal: Portal;
  beforeAll(async () => {
    portal = await startPortal({ password: 'the right one' });
  });
  afterAll(async () => {
    await portal?.close();
  });

  it('keeps failure.png and failure.html as artifacts and never shows the password', async () => {
    const cred = await ctx.admin('POST', '/credentials', {
      name: 'portal-login',
      connectorType: 'browser',
      data: { username: 'alice', password: PASSWORD, extra: { account: 'acct-7731' } },
    });
    expect(cred.status).toBe(201);
    const spec = {
      name: 'portal-login-fails',
      steps: [
        {
          id: 'extract',
          task: 'browser',
          credential: 'portal-login',
          retry: { attempts: 1 },
          with: {
            timeout: 2000,
            actions: [
              { goto: `${portal.url}/login` },
              { fill: { selector: '#username', value: '${credential.username}' } },
              { fill: { selector: '#password', value: '${credential.password}' } },
              { click: '#login' },
              { waitFor: { text: 'Welcome' } },
            ],
          },
        },
      ],
    };
    const created = await ctx.admin('POST', '/pipelines', { spec });
    expect(created.status).toBe(201);
    const run = await ctx.admin('POST', `/pipelines/${created.body.id}/execute`, {});
    const job = await waitForJob(ctx.p, run.body.jobId, undefined, 120_000);
    expect(job.status).toBe('timeout');
    const error = (job.error as { message: string }).message;
    expect(error).toMatch(
      /with\.actions\[4\] \(wait for text "Welcome"\) failed: did not finish within 2000 ms.*the job's artifacts extract\.failure\.png and extract\.failure\.html\)$/,
    );
    const artifacts = (await ctx.admin('GET', `/jobs/${run.body.jobId}/artifacts`)).body.items as {
      name: string;
      contentType: string;
      size: number;
    }[];
    const png = artifacts.find((a) => a.name === 'extract.failure.png');
    const html = artifacts.find((a) => a.name === 'extract.failure.html');
    expect(png).toMatchObject({ contentType: 'image/png' });
    expect(png!.size).toBeGreaterThan(1000);
    expect(html?.contentType).toMatch(/^text\/html/);
    const page = await ctx.app.inject({
      url: `/api/v1/jobs/${run.body.jobId}/artifacts/extract.failure.html`,
      headers: ctx.p.auth,
    });
    expect(page.body).toContain('Invalid user name or password');
    const logs = await ctx.admin('GET', `/jobs/${run.body.jobId}/logs?limit=5000`);
    expect(logs.text).toContain('fill #password with ${credential.password}');
    const jobView = await ctx.admin('GET', `/jobs/${run.body.jobId}`);
    for (const text of [logs.text, jobView.text, page.body, error]) expect(text).not.toContain(PASSWORD);
  });
});
