import { readdirSync, readFileSync } from 'node:fs';
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

/** Live Chromium processes started by a step process: they carry its mark (`SLUICE_STEP_PROCESS`). */
function markedChromium(): { pid: number; mark: string }[] {
  const out: { pid: number; mark: string }[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (!readFileSync(`/proc/${d}/cmdline`, 'latin1').includes('chromium')) continue;
      const stat = readFileSync(`/proc/${d}/stat`, 'latin1');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      const mark = /SLUICE_STEP_PROCESS=([^\0]+)/.exec(readFileSync(`/proc/${d}/environ`, 'latin1'))?.[1];
      if (mark) out.push({ pid: Number(d), mark });
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

/** The step process (the node process, not Chromium) carrying `mark`. */
function stepProcessOf(mark: string): number | undefined {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'latin1');
      if (!cmd.includes('step-child')) continue;
      if (readFileSync(`/proc/${d}/environ`, 'latin1').includes(`SLUICE_STEP_PROCESS=${mark}`))
        return Number(d);
    } catch {
      // gone
    }
  }
  return undefined;
}

describe("a browser step's Chromium on the platform", () => {
  // Each step process's heap limit is 512 MB: the browser is held to it too.
  const ctx = runningPlatform('pglite', {}, { stepMemoryMb: 512 });
  let portal: Portal;
  beforeAll(async () => {
    portal = await startPortal({ slowMs: 60_000 });
  });
  afterAll(async () => {
    await portal?.close();
  });

  const run = async (name: string, goto: string, ...more: object[]) => {
    const spec = {
      name,
      steps: [
        { id: 'extract', task: 'browser', retry: { attempts: 1 }, with: { actions: [{ goto }, ...more] } },
      ],
    };
    const created = await ctx.admin('POST', '/pipelines', { spec });
    expect(created.status, created.text).toBe(201);
    return (await ctx.admin('POST', `/pipelines/${created.body.id}/execute`, {})).body.jobId as string;
  };

  it("fails a step whose browser grows past the worker's step memory, leaving no Chromium", async () => {
    const before = new Set(markedChromium().map((c) => c.mark));
    const jobId = await run('browser-hog', `${portal.url}/hog`, {
      waitFor: { selector: '#never', timeout: 60_000 },
    });
    const job = await waitForJob(ctx.p, jobId, undefined, 60_000);
    expect(job.status).toBe('failed');
    expect((job.error as { message: string }).message).toMatch(
      /Chromium held \d+ MiB, over its limit of 5\d\d MiB: it was stopped/,
    );
    expect(markedChromium().filter((c) => !before.has(c.mark))).toEqual([]);
  });

  it('leaves no Chromium when the step process is killed with SIGKILL mid-page', async () => {
    const before = new Set(markedChromium().map((c) => c.mark));
    const seen = portal.requests.length;
    const jobId = await run('browser-killed', `${portal.url}/slow`);
    let mark: string | undefined;
    for (const end = Date.now() + 30_000; Date.now() < end && mark === undefined; ) {
      if (portal.requests.slice(seen).includes('GET /slow'))
        mark = markedChromium().find((c) => !before.has(c.mark))?.mark;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(mark, 'Chromium of the step, carrying its mark').toBeDefined();
    const stepPid = stepProcessOf(mark!);
    expect(stepPid).toBeGreaterThan(0);
    process.kill(stepPid!, 'SIGKILL');
    const job = await waitForJob(ctx.p, jobId, undefined, 60_000);
    expect(job.status).toBe('failed');
    expect((job.error as { message: string }).message).toMatch(/was killed by SIGKILL/);
    for (const end = Date.now() + 10_000; Date.now() < end && markedChromium().some((c) => c.mark === mark); )
      await new Promise((r) => setTimeout(r, 100));
    expect(markedChromium().filter((c) => c.mark === mark)).toEqual([]);
  });
});
