import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, Registry, type RunEvent, runPipeline } from '@sluice/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTask } from '../../test/harness.ts';
import { type Portal, reportCsv, reportRows, startPortal } from '../../test/portal.ts';
import { browserTask } from './task.ts';

const PASSWORD = 'correct horse battery';
let portal: Portal;
beforeAll(async () => {
  portal = await startPortal({ password: PASSWORD, slowMs: 30_000 });
});
afterAll(async () => {
  await portal.close();
});

const login = (password = '${credential.password}') => [
  { goto: `${portal.url}/login` },
  { fill: { selector: '#username', value: '${credential.username}' } },
  { fill: { selector: '#password', value: password } },
  { click: '#login' },
  { waitFor: { text: 'Welcome' } },
];

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** The process group Chromium ran in, from the task's debug line. */
const chromiumGroup = (logs: string[]) => Number(/process group (\d+)/.exec(logs.join('\n'))?.[1]);
/** Live processes of the group (zombies left to init to reap are not running Chromium). */
const inGroup = (pgid: number) =>
  execFileSync('ps', ['-eo', 'pid=,pgid=,stat='])
    .toString()
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter(([, g, stat]) => Number(g) === pgid && !stat?.startsWith('Z'));

describe('browser task', () => {
  it('logs in, fills the date-range form and downloads both reports, as a pipeline step', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-browser-'));
    const spec = {
      name: 'portal',
      parameters: { type: 'object', properties: { from: { type: 'string' }, to: { type: 'string' } } },
      steps: [
        {
          id: 'extract',
          task: 'browser',
          with: {
            // On the CLI the credential's fields are given in `with`, here from the environment.
            username: 'alice',
            password: '${env.PORTAL_PASSWORD}',
            actions: [
              ...login(),
              { fill: { selector: '#from', value: '${params.from}' } },
              { fill: { selector: '#to', value: '${params.to}' } },
              { select: { selector: '#region', value: 'all' } },
              { check: '#totals' },
              { click: '#show' },
              { waitFor: { selector: 'table#orders' } },
              { download: { click: '#csv', saveAs: 'report.csv' } },
              { download: { click: '#pdf', saveAs: 'report-pdf.pdf' } },
              { extract: { selector: 'table#orders', saveAs: 'orders.ndjson' } },
            ],
          },
        },
      ],
    };
    const events: RunEvent[] = [];
    const report = await runPipeline(spec, {
      registry: new Registry().register(browserTask),
      baseDir: dir,
      stateDir: join(dir, '.sluice'),
      params: { from: '2024-03-30', to: '2024-04-02' },
      env: { PORTAL_PASSWORD: PASSWORD },
      onEvent: (e) => void events.push(e),
    });
    expect(report.steps[0]?.error?.message).toBeUndefined();
    expect(report.status).toBe('success');
    const files = report.steps[0]!.files!;
    expect(Object.keys(files).sort()).toEqual(['orders', 'report', 'report-pdf']);
    expect(readFileSync(files.report!.path, 'utf8')).toBe(reportCsv('2024-03-30', '2024-04-02'));
    expect(files.report!.sha256).toBe(sha256(files.report!.path));
    expect(files.report!.bytes).toBe(Buffer.byteLength(reportCsv('2024-03-30', '2024-04-02')));
    expect(readFileSync(files['report-pdf']!.path).subarray(0, 5).toString()).toBe('%PDF-');
    expect(files['report-pdf']!.sha256).toBe(sha256(files['report-pdf']!.path));
    const rows = readFileSync(files.orders!.path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows).toEqual(
      reportRows('2024-03-30', '2024-04-02').map((r) => ({
        Date: r.date,
        Region: r.region,
        Orders: String(r.orders),
        Amount: r.amount,
      })),
    );
    expect(portal.requests).toContain('GET /reports/view?from=2024-03-30&to=2024-04-02&region=all&totals=1');
    const everything = JSON.stringify(events) + JSON.stringify(report);
    expect(everything).not.toContain(PASSWORD);
    expect(everything).toContain('fill #password with ${credential.password}');
  });

  it('extracts rows from a table by cell selectors, as CSV', async () => {
    const logs: string[] = [];
    const dir = mkdtempSync(join(tmpdir(), 'sluice-browser-'));
    const result = await runTask(
      browserTask,
      {
        username: 'alice',
        password: PASSWORD,
        actions: [
          ...login(),
          { goto: `${portal.url}/reports/view?from=2024-01-30&to=2024-01-31&region=north` },
          {
            extract: {
              selector: '#orders tbody tr',
              fields: { day: 'td:nth-child(1)', orders: 'td:nth-child(3)', missing: 'td.nope' },
              saveAs: 'north.csv',
            },
          },
          { extract: { selector: '#orders', fields: ['d', 'r'], saveAs: 'pairs.ndjson' } },
        ],
      },
      { logs, baseDir: dir },
    );
    const csv = readFileSync(result!.files!.north!, 'utf8');
    const north = reportRows('2024-01-30', '2024-01-31').filter((r) => r.region === 'north');
    expect(csv).toBe(`day,orders,missing\n${north.map((r) => `${r.date},${r.orders},`).join('\n')}\n`);
    expect(readFileSync(result!.files!.pairs!, 'utf8')).toBe(
      north.map((r) => `${JSON.stringify({ d: r.date, r: 'north' })}\n`).join(''),
    );
    expect(result!.metrics!.rowsExtracted).toBe(4);
  });

  it('fails a login with the action that failed, a screenshot and the page, and no password anywhere', async () => {
    const logs: string[] = [];
    const dir = mkdtempSync(join(tmpdir(), 'sluice-browser-'));
    const wrong = 'wrong horse staple';
    const err = await runTask(
      browserTask,
      { username: 'alice', password: wrong, timeout: 1500, actions: login() },
      { logs, baseDir: dir },
    ).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    const stepDir = join(dir, '.state');
    expect((err as { code?: string }).code).toBe('TIMEOUT');
    expect((err as Error).message).toBe(
      `test.0:browser: with.actions[4] (wait for text "Welcome") failed: did not finish within 1500 ms ` +
        `(the action's timeout); waiting for getByText('Welcome').first() to be visible. The page at the failure: ` +
        `${join(stepDir, 'failure.html')} and ${join(stepDir, 'failure.png')} ` +
        "(on the platform, the job's artifacts test.failure.png and test.failure.html)",
    );
    expect(readFileSync(join(stepDir, 'failure.png')).subarray(1, 4).toString()).toBe('PNG');
    const html = readFileSync(join(stepDir, 'failure.html'), 'utf8');
    expect(html).toContain('Invalid user name or password');
    expect(html).not.toContain(wrong);
    expect(logs).toContain('info with.actions[2] (3/5): fill #password with ${credential.password}');
    expect(JSON.stringify(logs) + (err as Error).message + String((err as Error).stack)).not.toContain(wrong);
  });

  it('stops an action at its timeout on a slow page', async () => {
    const seen = portal.requests.length;
    let asked = 0;
    const watch = setInterval(() => {
      if (portal.requests.slice(seen).includes('GET /slow')) asked ||= Date.now();
    }, 10);
    const err = await runTask(browserTask, { timeout: 500, actions: [{ goto: `${portal.url}/slow` }] }).catch(
      (e: Error) => e,
    );
    clearInterval(watch);
    // The page answers after 30 s; the failure (screenshot and browser close included) comes long before.
    expect(asked).toBeGreaterThan(0);
    expect(Date.now() - asked).toBeLessThan(10_000);
    expect((err as { code?: string }).code).toBe('TIMEOUT');
    expect((err as Error).message).toMatch(
      /^test\.0:browser: with\.actions\[0\] \(goto http:\/\/127\.0\.0\.1:\d+\/slow\) failed: did not finish within 500 ms/,
    );
  });

  it('closes Chromium and leaves none of its processes when cancelled mid-download', async () => {
    const logs: string[] = [];
    const ac = new AbortController();
    const seen = portal.requests.length;
    let abortedAt = 0;
    // Cancelled while the file arrives: the portal sends a line every 100 ms and never ends.
    const watch = setInterval(() => {
      if (!portal.requests.slice(seen).includes('GET /reports/trickle.csv')) return;
      clearInterval(watch);
      setTimeout(() => {
        abortedAt = Date.now();
        ac.abort(new Error('cancelled by test'));
      }, 300);
    }, 20);
    const run = runTask(
      browserTask,
      {
        username: 'alice',
        password: PASSWORD,
        actions: [
          ...login(),
          { goto: `${portal.url}/reports/view?from=2024-01-01&to=2024-01-02` },
          { download: { click: '#trickle', saveAs: 'big.csv' } },
        ],
      },
      { logs, signal: ac.signal },
    );
    const err = await run.catch((e: Error) => e);
    clearInterval(watch);
    expect((err as Error).message).toBe('cancelled by test');
    expect(abortedAt).toBeGreaterThan(0);
    expect(Date.now() - abortedAt).toBeLessThan(8000);
    const pgid = chromiumGroup(logs);
    expect(pgid).toBeGreaterThan(0);
    expect(inGroup(pgid)).toEqual([]);
  });

  it("kills a browser whose memory grows past the step's limit, and says so", async () => {
    const logs: string[] = [];
    const err = await runTask(
      browserTask,
      {
        memoryLimit: '400MB',
        actions: [{ goto: `${portal.url}/hog` }, { waitFor: { selector: '#never', timeout: 60_000 } }],
      },
      { logs },
    ).catch((e: Error) => e);
    expect((err as { code?: string }).code).toBe('TASK_FAILED');
    expect((err as Error).message).toMatch(
      /^test\.0:browser: Chromium held (\d+) MiB, over its limit of 400MB: it was stopped\. Raise the step's `memoryLimit`/,
    );
    expect(Number(/held (\d+) MiB/.exec((err as Error).message)?.[1]) * 2 ** 20).toBeGreaterThan(400e6);
    const pgid = chromiumGroup(logs);
    expect(pgid).toBeGreaterThan(0);
    expect(inGroup(pgid)).toEqual([]);
  });

  it('refuses requests the network policy forbids, such as the cloud metadata address', async () => {
    const err = await runTask(browserTask, {
      actions: [{ goto: 'http://169.254.169.254/latest/meta-data/' }],
    }).catch((e: Error) => e);
    expect((err as { code?: string }).code).toBe('HOST_FORBIDDEN');
    expect((err as Error).message).toMatch(
      /^step "test": test\.0:browser: a request of the page: the host 169\.254\.169\.254 is refused by the built-in rule .* \(with\.actions\[0\]: goto http:\/\/169\.254\.169\.254\/latest\/meta-data\/\)$/,
    );
  });

  it('says which credential field an action names that the credential lacks, without values', async () => {
    const err = await runTask(browserTask, {
      username: 'alice',
      password: PASSWORD,
      actions: [
        { goto: `${portal.url}/login` },
        { fill: { selector: '#username', value: '${credential.pin}' } },
      ],
    }).catch((e: Error) => e);
    expect((err as Error).message).toContain(
      'with.actions[1].fill.value: `${credential.pin}` names a field the step\'s credential does not have (it has "username", "password")',
    );
    expect((err as Error).message).not.toContain(PASSWORD);
  });
});

describe('browser config', () => {
  const registry = new Registry().register(browserTask);
  const issues = (config: unknown) => registry.check(browserTask, config, 'with');

  it('refuses a bad action at its JSON path', () => {
    expect(
      issues({ actions: [{ goto: 'http://x' }, { click: '#a' }, { fill: { selector: 42, value: 'v' } }] }),
    ).toEqual([{ path: 'with.actions[2].fill.selector', message: 'must be string' }]);
    expect(() =>
      registry.validate(
        browserTask,
        { actions: [{ download: { click: '#a', saveAs: '../x.csv' } }] },
        'with',
      ),
    ).toThrow(ConfigError);
  });

  it('names an unknown action with a suggestion, and two actions in one item', () => {
    expect(issues({ actions: [{ goto: 'http://x' }, { fil: { selector: '#a', value: 'v' } }] })).toEqual([
      {
        path: 'with.actions[1].fil',
        message:
          'unknown action "fil". Did you mean "fill"? An action is one of: goto, fill, click, select, check, waitFor, download, extract, screenshot',
      },
    ]);
    expect(issues({ actions: [{ goto: 'http://x', click: '#a' }] })).toEqual([
      {
        path: 'with.actions[0]',
        message:
          'an action does one thing, this one has goto and click: make each a separate item of the list',
      },
    ]);
  });

  it('refuses two files by one output name, a credential in a file name and an unclear wait', () => {
    expect(
      issues({
        actions: [
          { download: { click: '#a', saveAs: 'report.csv' } },
          { download: { click: '#b', saveAs: 'report.pdf' } },
          { screenshot: 'shot-${credential.username}.png' },
        ],
      }),
    ).toEqual([
      {
        path: 'with.actions[1]',
        message:
          'the output name "report" (report.pdf) is taken by actions[0]: later steps name files by their name without its extension, so give each file its own',
      },
      {
        path: 'with.actions[2]',
        message: 'a file name cannot hold a credential value: it shows in reports and logs',
      },
    ]);
    expect(issues({ actions: [{ waitFor: { selector: '#a', text: 'b' } }] })).toEqual([
      { path: 'with.actions[0].waitFor', message: 'give one of selector, url or text to wait for' },
    ]);
    expect(issues({ actions: [{ extract: { selector: 'table', saveAs: 'rows.json' } }] })).toEqual([
      {
        path: 'with.actions[0].extract.saveAs',
        message: 'the rows are written as CSV or NDJSON: end the name in .csv or .ndjson',
      },
    ]);
  });

  it('lists the files a config hands on', () => {
    const cfg = registry.validate<never>(
      browserTask,
      {
        actions: [
          { download: { click: '#a', saveAs: 'report.csv' } },
          { extract: { selector: 'table', saveAs: 'rows.ndjson' } },
          { screenshot: {} },
        ],
      },
      'with',
    );
    expect(browserTask.outputs!(cfg)).toEqual(['report', 'rows', 'screenshot-2']);
  });

  it('fails at once when Chromium is missing', async () => {
    const err = await runTask(browserTask, {
      executablePath: '/nowhere/chromium',
      actions: [{ goto: 'http://127.0.0.1:1/' }],
    }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/Chromium is not at \/nowhere\/chromium: install it/);
    expect(existsSync('/nowhere')).toBe(false);
  });
});
