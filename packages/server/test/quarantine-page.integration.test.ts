import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { backends } from './helpers/backends.ts';
import { apiCaller, tokenFor, waitForJob } from './helpers/platform.ts';
import { runningPlatform } from './helpers/running.ts';

// Issue 15: the job page pages through a step's quarantined rows, each with its record's text,
// from a JSON source too (whose rows a transform set aside carry no raw text of their own).

interface Item {
  index: number;
  reason: string;
  component: string;
  raw: string;
  line?: number;
  row?: Record<string, unknown>;
}

describe.each(backends)('GET /jobs/{id}/quarantine on $name', ({ name }) => {
  const ctx = runningPlatform(name);
  let viewer: ReturnType<typeof apiCaller>;
  let jobId = '';
  // 30 rows of which every fourth casts (23 do not), and a line that is not JSON at all.
  const bad = 24;

  beforeAll(async () => {
    const token = await tokenFor(ctx.p, 'viewer');
    viewer = apiCaller(
      () => ctx.app,
      () => token,
    );
    const lines = Array.from({ length: 30 }, (_, i) =>
      JSON.stringify({ id: i + 1, amount: (i + 1) % 4 === 0 ? String(i + 1) : `x${i + 1}` }),
    );
    lines.splice(5, 0, '{"id": 99, "amount": ');
    writeFileSync(join(ctx.p.filesDir, `q-${name}.ndjson`), `${lines.join('\n')}\n`);
    const created = await ctx.admin('POST', '/pipelines', {
      spec: {
        name: `quarantine-page-${name}`,
        steps: [
          {
            id: 'load',
            flow: [
              { source: 'ndjson', with: { path: `q-${name}.ndjson` } },
              { transform: 'cast', with: { fields: { amount: 'integer' } } },
              { sink: 'ndjson', with: { path: `q-out-${name}.ndjson` } },
            ],
          },
          { id: 'after', needs: ['load'], task: 'shell', with: { command: ['true'] } },
        ],
      },
    });
    expect(created.status, created.text).toBe(201);
    const run = await ctx.admin('POST', `/pipelines/${created.body.id}/execute`, {});
    const job = await waitForJob(ctx.p, run.body.jobId);
    expect(job.status, JSON.stringify(job.error)).toBe('success');
    jobId = job.id;
  });

  it('pages through a JSON source’s quarantined rows, each with its text', async () => {
    const all = await viewer('GET', `/jobs/${jobId}/quarantine?step=load&limit=500`);
    expect(all.status, all.text).toBe(200);
    expect(all.body.total).toBe(bad);
    const items = all.body.items as Item[];
    expect(items.map((i) => i.index)).toEqual([...Array(bad).keys()]);
    // Every entry has its record's text: the source's own for the line that is not JSON, the
    // row as JSON for those the cast set aside.
    expect(items.every((i) => i.raw.length > 0)).toBe(true);
    const broken = items.find((i) => /not valid JSON/.test(i.reason));
    expect(broken).toMatchObject({ raw: '{"id": 99, "amount": ', line: 6 });
    const cast = items.find((i) => i.row?.id === 2)!;
    expect(cast.component).toMatch(/cast/);
    expect(JSON.parse(cast.raw)).toEqual({ id: 2, amount: 'x2' });

    const first = await viewer('GET', `/jobs/${jobId}/quarantine?step=load&limit=10`);
    expect(first.body).toMatchObject({ total: bad, limit: 10, offset: 0 });
    expect(first.body.items).toEqual(items.slice(0, 10));
    const second = await viewer('GET', `/jobs/${jobId}/quarantine?step=load&limit=10&offset=10`);
    expect(second.body).toMatchObject({ total: bad, offset: 10 });
    expect(second.body.items).toEqual(items.slice(10, 20));
    const last = await viewer('GET', `/jobs/${jobId}/quarantine?step=load&limit=10&offset=20`);
    expect(last.body.items.map((i: Item) => i.index)).toEqual([20, 21, 22, 23]);
    const past = await viewer('GET', `/jobs/${jobId}/quarantine?step=load&limit=10&offset=40`);
    expect(past.body).toMatchObject({ items: [], total: bad });

    // The download is the whole file, the same entries.
    const file = await ctx.app.inject({
      url: `/api/v1/jobs/${jobId}/artifacts/load.quarantine.ndjson`,
      headers: ctx.p.auth,
    });
    expect(file.statusCode).toBe(200);
    expect(file.body.trim().split('\n')).toHaveLength(bad);
  });

  it('has none for a step that quarantined nothing, and answers 404 and 400 for what is not there', async () => {
    const none = await viewer('GET', `/jobs/${jobId}/quarantine?step=after`);
    expect(none.body).toMatchObject({ items: [], total: 0, limit: 50, offset: 0 });
    expect((await viewer('GET', `/jobs/${jobId}/quarantine?step=ghost`)).status).toBe(404);
    const noJob = await viewer('GET', '/jobs/00000000-0000-4000-8000-000000000000/quarantine?step=load');
    expect(noJob.status).toBe(404);
    const noStep = await viewer('GET', `/jobs/${jobId}/quarantine`);
    expect(noStep.status).toBe(400);
    expect(noStep.body.error.details.map((d: { path: string }) => d.path)).toContain('querystring.step');
  });
});
