import { afterAll, beforeAll, expect, it } from 'vitest';
import { type App, buildApp } from '../src/api/app.ts';
import { createLogger } from '../src/observability/logger.ts';
import { startWorker, type Worker } from '../src/worker/worker.ts';
import { apiCaller, type TestPlatform, testPlatform, waitForJob } from './helpers/platform.ts';

const SECRET = 'L0g-S3cret-9f2d77a1';
const lines: Record<string, unknown>[] = [];
let p: TestPlatform;
let app: App;
let worker: Worker;
beforeAll(async () => {
  const log = createLogger({
    level: 'debug',
    destination: { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) },
  });
  p = await testPlatform('pglite', { log });
  app = await buildApp(p, { rateLimit: 100_000 });
  worker = await startWorker(p, { killGraceMs: 1000 });
}, 60_000);
afterAll(async () => {
  await worker?.stop();
  await app?.close();
  await p?.close();
});

it('writes JSON lines with job, step and trace ids on every job line, secrets masked', async () => {
  const call = apiCaller(
    () => app,
    () => p.adminToken,
  );
  await call('POST', '/credentials', { name: 'k', connectorType: 'shell', data: { env: { KEY: SECRET } } });
  const created = await call('POST', '/pipelines', {
    spec: {
      name: 'logged',
      steps: [
        { id: 'say', task: 'shell', credential: 'k', with: { command: ['sh', '-c', 'echo "key=$KEY"'] } },
      ],
    },
  });
  const run = await call('POST', `/pipelines/${created.body.id}/execute`, {});
  const job = await waitForJob(p, run.body.jobId);
  expect(job.status).toBe('success');

  const mine = lines.filter((l) => l.jobId === job.id);
  expect(mine.length).toBeGreaterThan(2);
  for (const l of mine) {
    expect(l).toMatchObject({ service: 'sluice', traceId: job.traceId });
    expect(typeof l.msg).toBe('string');
    expect(typeof l.time).toBe('number');
  }
  const said = mine.find((l) => String(l.msg).startsWith('key='));
  expect(said).toMatchObject({ stepId: 'say', level: 30, msg: 'key=********' });
  expect(JSON.stringify(lines)).not.toContain(SECRET);
  // Request lines never carry the bearer token.
  expect(
    lines.some((l) => (l.req as { url?: string } | undefined)?.url?.startsWith('/api/v1/pipelines')),
  ).toBe(true);
  expect(JSON.stringify(lines)).not.toContain(p.adminToken);
}, 60_000);

it('redacts secret-named fields in anything logged', () => {
  const out: string[] = [];
  const log = createLogger({ destination: { write: (s: string) => void out.push(s) } });
  log.info(
    {
      user: 'ana',
      password: 'hunter2',
      nested: { token: 'abc' },
      req: { headers: { authorization: 'Bearer x' } },
    },
    'login',
  );
  const line = JSON.parse(out[0]!);
  expect(line).toMatchObject({ user: 'ana', password: '********', nested: { token: '********' } });
  expect(line.req.headers.authorization).toBe('********');
});
