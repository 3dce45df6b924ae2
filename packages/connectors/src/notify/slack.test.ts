import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, netPolicy, type RunEvent, runPipeline } from '@sluice/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNoSecret, failureOf } from '../../test/conformance-checks.ts';
import { runTask } from '../../test/harness.ts';
import { type Api, send, startApi } from '../../test/http-api.ts';
import { createRegistry } from '../registry.ts';
import { notifyTask } from './task.ts';

// A node:http server stands in for Slack's incoming webhooks: `/services/…/ok` takes a message as
// Slack does (200 "ok"), `/services/…/bad` refuses it (400 invalid_payload), `/services/…/gone` is
// a removed hook (404 no_service), `/services/…/flaky` fails twice with 503, then takes it.

const SECRET = 'xoxSlackHookS3cret42';
let slack: Api;
let flaky = 0;
const hook = (name: string) => `${slack.url}/services/T01/B02/${SECRET}/${name}`;

beforeAll(async () => {
  slack = await startApi([], {
    intercept: (req, res) => {
      const name = req.url.pathname.split('/').at(-1);
      if (name === 'ok') res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      else if (name === 'bad') res.writeHead(400, { 'content-type': 'text/plain' }).end('invalid_payload');
      else if (name === 'gone') res.writeHead(404, { 'content-type': 'text/plain' }).end('no_service');
      else if (name === 'flaky') {
        if (++flaky <= 2) send(res, 503, { error: 'unavailable' });
        else res.writeHead(200).end('ok');
      }
      return true;
    },
  });
});
afterAll(() => slack?.close());

const bodies = (name: string) =>
  slack.seen.filter((s) => s.url.pathname.endsWith(`/${name}`)).map((s) => JSON.parse(s.body));

describe('notify: slack', () => {
  it('posts the subject and message as text and blocks, data as fields and the run as a footer', async () => {
    const logs: string[] = [];
    const result = await runTask(
      notifyTask,
      {
        channel: 'slack',
        webhookUrl: hook('ok'),
        subject: 'portal-report: success',
        message: 'Loaded *42* rows',
        data: { rows: 42, file: 'report.csv' },
        run: { id: 'r1', pipeline: 'portal-report', status: 'success', url: 'http://localhost:3000/jobs/r1' },
      },
      { logs },
    );
    const [body] = bodies('ok');
    expect(body).toEqual({
      text: '*portal-report: success*\nLoaded *42* rows',
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: '*portal-report: success*\nLoaded *42* rows' } },
        {
          type: 'section',
          fields: [
            { type: 'mrkdwn', text: '*rows*\n42' },
            { type: 'mrkdwn', text: '*file*\nreport.csv' },
          ],
        },
        {
          type: 'context',
          elements: [
            {
              type: 'mrkdwn',
              text: 'pipeline *portal-report* · status *success* · run `r1` · <http://localhost:3000/jobs/r1|job page>',
            },
          ],
        },
      ],
    });
    expect(slack.seen.at(-1)!.headers['content-type']).toBe('application/json');
    expect(result?.output).toBe(`posted to Slack webhook ${slack.url}/…`);
    expect(logs.join('\n')).toContain(`posted "portal-report: success" to Slack webhook ${slack.url}/…`);
    expect(logs.join('\n')).not.toContain(SECRET);
  });

  it('a refused message is fatal and quotes what Slack said, never the webhook URL', async () => {
    for (const [name, said] of [
      ['bad', 'HTTP 400: invalid_payload'],
      ['gone', 'HTTP 404: no_service'],
    ] as const) {
      const logs: string[] = [];
      const err = await failureOf(
        runTask(notifyTask, { channel: 'slack', webhookUrl: hook(name) }, { logs }),
      );
      expect(err).toMatchObject({ code: ErrorCode.TASK_FAILED, retryable: false });
      expect(err.message).toContain(`Slack webhook ${slack.url}/… refused the notification: ${said}`);
      expectNoSecret(err, logs, SECRET);
    }
  });

  it('a 503 is retried by the step’s retry policy until Slack takes the message; the URL stays hidden', async () => {
    const events: RunEvent[] = [];
    const dir = mkdtempSync(join(tmpdir(), 'sluice-notify-slack-'));
    const report = await runPipeline(
      {
        name: 'notify-slack-retry',
        steps: [
          {
            id: 'tell',
            task: 'notify',
            credential: 'slack',
            with: { channel: 'slack', message: 'done' },
            retry: { attempts: 3, backoff: { initial: '10ms', max: '20ms' } },
          },
        ],
      },
      {
        registry: createRegistry(),
        baseDir: dir,
        stateDir: join(dir, 'state'),
        credentials: { slack: { webhookUrl: hook('flaky') } },
        onEvent: (e) => events.push(e),
      },
    );
    expect(report.status, JSON.stringify(report.error)).toBe('success');
    expect(report.steps[0]).toMatchObject({ status: 'success', attempts: 3 });
    expect(bodies('flaky')).toHaveLength(3);
    const retries = events.filter((e) => e.type === 'log' && /failed, retrying/.test(e.message));
    expect(retries).toHaveLength(2);
    expect(JSON.stringify(retries)).toMatch(/server failed \(HTTP 503/);
    expect(JSON.stringify([events, report])).not.toContain(SECRET);
  });

  it('refuses a webhook host the network policy keeps out, and does not show its URL', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-notify-slack-'));
    const before = slack.seen.length;
    const report = await runPipeline(
      {
        name: 'notify-slack-denied',
        steps: [{ id: 'tell', task: 'notify', with: { channel: 'slack', webhookUrl: hook('ok') } }],
      },
      {
        registry: createRegistry(),
        baseDir: dir,
        stateDir: join(dir, 'state'),
        network: netPolicy({ deny: ['127.0.0.1'] }),
      },
    );
    expect(report.status).toBe('failed');
    expect(report.steps[0]!.error).toMatchObject({ code: ErrorCode.HOST_FORBIDDEN });
    expect(JSON.stringify(report)).not.toContain(SECRET);
    expect(slack.seen.length).toBe(before);
  });
});
