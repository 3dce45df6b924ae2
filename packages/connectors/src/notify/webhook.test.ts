import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, runPipeline } from '@sluice/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNoSecret, failureOf } from '../../test/conformance-checks.ts';
import { runTask } from '../../test/harness.ts';
import { type Api, type Seen, send, startApi } from '../../test/http-api.ts';
import { createRegistry } from '../registry.ts';
import { notifyTask } from './task.ts';

// A node:http receiver that checks X-Sluice-Signature as a real one would (an HMAC-SHA256 of the
// raw body with the shared secret, compared in constant time) and refuses what fails with 401.
// `/signed` requires a signature, `/open` takes anything, `/bad` refuses with a long 400 answer,
// `/flaky` fails once with 503.

const SECRET = 'whsec-notify-4711';
let api: Api;
let flaky = 0;
const LONG_ANSWER = `missing field "order": ${'x'.repeat(600)}`;

function signatureOk(req: Seen): boolean {
  const given = req.headers['x-sluice-signature'];
  if (typeof given !== 'string') return false;
  const want = Buffer.from(`sha256=${createHmac('sha256', SECRET).update(req.body).digest('hex')}`);
  return given.length === want.length && timingSafeEqual(Buffer.from(given), want);
}

beforeAll(async () => {
  api = await startApi([], {
    intercept: (req, res) => {
      switch (req.url.pathname) {
        case '/signed':
          if (signatureOk(req)) send(res, 200, { ok: true });
          else send(res, 401, { error: 'bad signature' });
          break;
        case '/bad':
          res.writeHead(400, { 'content-type': 'text/plain' }).end(LONG_ANSWER);
          break;
        case '/flaky':
          if (++flaky === 1) send(res, 503, { error: 'busy' });
          else send(res, 202, { queued: true });
          break;
        default:
          send(res, 200, { ok: true });
      }
      return true;
    },
  });
});
afterAll(() => api?.close());

const last = (path: string) => api.seen.filter((s) => s.url.pathname === path).at(-1)!;

describe('notify: webhook', () => {
  it('POSTs the message, the job summary and the data as JSON, signed so the receiver can check it', async () => {
    const logs: string[] = [];
    const result = await runTask(
      notifyTask,
      {
        channel: 'webhook',
        url: `${api.url}/signed`,
        secret: SECRET,
        headers: { 'X-Tenant': 'acme' },
        subject: 'portal-report: success',
        message: 'Loaded 42 rows',
        data: { rowsWritten: 42, report: 'report.csv' },
        run: { id: 'r1', pipeline: 'portal-report', status: 'success', url: '', durationMs: 1234 },
      },
      { logs },
    );
    const req = last('/signed');
    expect(signatureOk(req)).toBe(true);
    expect(req.headers).toMatchObject({
      'content-type': 'application/json',
      'x-sluice-event': 'notify',
      'x-tenant': 'acme',
    });
    expect(JSON.parse(req.body)).toEqual({
      event: 'notify',
      step: 'test',
      subject: 'portal-report: success',
      message: 'Loaded 42 rows',
      run: { id: 'r1', pipeline: 'portal-report', status: 'success', url: '', durationMs: 1234 },
      data: { rowsWritten: 42, report: 'report.csv' },
      sentAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(result?.output).toBe(`posted to ${api.url}/signed (HTTP 200)`);
    expect(logs.join('\n')).toContain('(HTTP 200, signed)');
    expect(logs.join('\n')).not.toContain(SECRET);
  });

  it('sends the job summary the runner fills in when the step gives none', async () => {
    await runTask(notifyTask, { channel: 'webhook', url: `${api.url}/open` });
    const body = JSON.parse(last('/open').body);
    expect(Object.keys(body.run).sort()).toEqual([
      'durationMs',
      'id',
      'pipeline',
      'startedAt',
      'status',
      'url',
    ]);
    expect(body.data).toEqual({});
  });

  it('a receiver that refuses the signature fails the step for good, without the secret', async () => {
    const logs: string[] = [];
    const err = await failureOf(
      runTask(
        notifyTask,
        { channel: 'webhook', url: `${api.url}/signed`, secret: `${SECRET}-old` },
        { logs },
      ),
    );
    expect(err).toMatchObject({ retryable: false });
    expect(err.message).toMatch(/refused the notification: HTTP 401: \{"error":"bad signature"\}/);
    expectNoSecret(err, logs, SECRET);
  });

  it('a 400 is fatal and quotes the first 300 characters of the answer', async () => {
    const err = await failureOf(runTask(notifyTask, { channel: 'webhook', url: `${api.url}/bad` }));
    expect(err).toMatchObject({ code: ErrorCode.TASK_FAILED, retryable: false });
    expect(err.message).toContain(
      `${api.url}/bad refused the notification: HTTP 400: ${LONG_ANSWER.slice(0, 300)};`,
    );
    expect(err.message).not.toContain(LONG_ANSWER.slice(0, 301));
  });

  it('in a pipeline: a 503 is retried; headers and secret come from a credential and add to the step’s', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-notify-webhook-'));
    const report = await runPipeline(
      {
        name: 'notify-webhook',
        parameters: { day: { type: 'string' } },
        steps: [
          {
            id: 'tell',
            task: 'notify',
            credential: 'hook',
            with: {
              channel: 'webhook',
              url: `${api.url}/flaky`,
              headers: { 'X-Step': 'tell' },
              message: 'report for ${params.day}',
            },
            retry: { attempts: 2, backoff: { initial: '10ms' } },
          },
        ],
      },
      {
        registry: createRegistry(),
        baseDir: dir,
        stateDir: join(dir, 'state'),
        params: { day: '2026-11-30' },
        credentials: { hook: { secret: SECRET, headers: { Authorization: 'Bearer tok-123' } } },
      },
    );
    expect(report.status, JSON.stringify(report.error)).toBe('success');
    expect(report.steps[0]).toMatchObject({ attempts: 2, output: `posted to ${api.url}/flaky (HTTP 202)` });
    const req = last('/flaky');
    expect(signatureOk(req)).toBe(true);
    expect(req.headers).toMatchObject({ authorization: 'Bearer tok-123', 'x-step': 'tell' });
    expect(JSON.parse(req.body).message).toBe('report for 2026-11-30');
    expect(JSON.stringify(report)).not.toContain(SECRET);
  });

  it('in a pipeline: the runner fills the default texts and the summary with the run and earlier steps', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-notify-webhook-'));
    const report = await runPipeline(
      {
        name: 'notify-filled',
        steps: [
          { id: 'count', task: 'shell', with: { command: ['echo', 'seven'] } },
          {
            id: 'tell',
            needs: ['count'],
            task: 'notify',
            with: { channel: 'webhook', url: `${api.url}/open`, data: { said: '${steps.count.output}' } },
          },
        ],
      },
      { registry: createRegistry(), baseDir: dir, stateDir: join(dir, 'state') },
    );
    expect(report.status, JSON.stringify(report.error)).toBe('success');
    const body = JSON.parse(last('/open').body);
    expect(body.subject).toBe('[Sluice] notify-filled: success');
    expect(body.message).toMatch(
      /^Pipeline notify-filled success after \d+ ms \(run \S+, started \d{4}-\d\d-\d\dT/,
    );
    expect(body.run).toMatchObject({ pipeline: 'notify-filled', status: 'success', url: '' });
    expect(typeof body.run.durationMs).toBe('number');
    expect(body.data).toEqual({ said: 'seven' });
  });
});
