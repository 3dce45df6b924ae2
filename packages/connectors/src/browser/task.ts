import { mkdir } from 'node:fs/promises';
import { defineTask, ErrorCode, FatalError, type TaskContext, type TaskResult } from '@sluice/core';
import { parseSize } from '../shared/size.ts';
import { type ActionScope, actionFiles, describe, perform } from './actions.ts';
import { checkBrowserConfig } from './check.ts';
import { BrowserConfig, BrowserCredential } from './config.ts';
import { CredentialValues } from './credential.ts';
import { actionError, captureFailure, clearFailure } from './failure.ts';
import { chromiumPath, launchChromium } from './launch.ts';
import { defaultBrowserMemoryMb, watchMemory } from './memory.ts';
import { guardRequests } from './net.ts';

async function run(ctx: TaskContext<BrowserConfig>): Promise<TaskResult> {
  const cfg = ctx.config;
  const where = ctx.componentId;
  const credential = new CredentialValues(cfg);
  const log = (line: string) => ctx.log.info(credential.mask(line));
  await clearFailure(ctx.stepDir);
  await mkdir(ctx.filesDir, { recursive: true });
  if (ctx.signal.aborted) throw ctx.signal.reason;

  const started = performance.now();
  const executablePath = chromiumPath(cfg.executablePath);
  const chromium = await launchChromium({ executablePath, headless: cfg.headless, where });
  ctx.log.debug(`${executablePath} started, process group ${chromium.pid}`);
  // Cancel closes the browser at once: whatever Playwright was waiting for fails, and the loop
  // below turns that into the signal's reason.
  const onAbort = () => void chromium.stop(true);
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  const limit = cfg.memoryLimit ?? `${defaultBrowserMemoryMb()} MiB`;
  const limitBytes = parseSize(limit);
  // Over the limit the browser is killed: what the page was doing fails, and the loop below
  // turns that into the memory error.
  const memory = watchMemory({
    processes: chromium.processes,
    limitBytes,
    over: () => void chromium.stop(true),
  });
  const overLimit = () =>
    memory.overBytes === undefined
      ? undefined
      : new FatalError(
          `${where}: Chromium held ${mb(memory.overBytes)} MiB, over its limit of ${limit}: ` +
            "it was stopped. Raise the step's `memoryLimit` (or the worker's --step-memory), or visit fewer or lighter pages",
          { code: ErrorCode.TASK_FAILED },
        );
  try {
    // A new context per attempt: a retry starts without the cookies or storage of the last one.
    const context = await chromium.browser.newContext({
      acceptDownloads: cfg.acceptDownloads,
      viewport: cfg.viewport,
    });
    const guard = await guardRequests(context, ctx, `${where}: a request of the page`);
    const page = await context.newPage();
    page.setDefaultTimeout(cfg.timeout);
    page.setDefaultNavigationTimeout(cfg.timeout);
    const scope: ActionScope = {
      page,
      ctx,
      credential,
      timeout: cfg.timeout,
      secretFields: [],
      files: {},
      rows: 0,
    };
    const n = cfg.actions.length;
    for (const [i, action] of cfg.actions.entries()) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      const over = overLimit();
      if (over) throw over;
      const at = `with.actions[${i}]`;
      const shown = describe(action, i);
      log(`${at} (${i + 1}/${n}): ${shown}`);
      try {
        await perform(action, i, at, scope);
      } catch (err) {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        const over = overLimit();
        if (over) throw over;
        const refused = guard.refusal();
        if (refused)
          throw new FatalError(credential.mask(`${refused.message} (${at}: ${shown})`), {
            code: refused.code,
          });
        const saved = await captureFailure(page, ctx.stepDir, scope.secretFields, credential);
        const timeout = action.waitFor?.timeout ?? cfg.timeout;
        throw actionError(err, { where, stepId: ctx.stepId, at, shown, timeout, saved }, credential);
      }
    }
    const names = Object.keys(scope.files);
    return {
      files: scope.files,
      output: `${n} actions${names.length ? `; files: ${names.join(', ')}` : ''}`,
      metrics: {
        actions: n,
        files: names.length,
        rowsExtracted: scope.rows,
        durationMs: Math.round(performance.now() - started),
        browserPeakMb: mb(memory.peakBytes),
      },
    };
  } finally {
    memory.stop();
    ctx.signal.removeEventListener('abort', onAbort);
    await chromium.stop(ctx.signal.aborted);
  }
}

const mb = (bytes: number) => Math.round(bytes / 2 ** 20);

export const browserTask = defineTask({
  name: 'browser',
  version: '1.0.0',
  summary:
    'Drives a web page in headless Chromium: logs in, fills forms, downloads files and reads tables, handing the files to later steps.',
  config: BrowserConfig,
  // A portal's login: `${credential.username}`, `${credential.password}` and `extra` values in actions.
  credentialSchema: BrowserCredential,
  check: (cfg) => checkBrowserConfig(cfg),
  outputs: (cfg) => actionFiles(cfg.actions).map((f) => f.output),
  example: {
    actions: [
      { goto: 'https://portal.example.com/login' },
      { fill: { selector: '#username', value: '${credential.username}' } },
      { fill: { selector: '#password', value: '${credential.password}' } },
      { click: 'button[type=submit]' },
      { waitFor: { text: 'Reports' } },
      { fill: { selector: '#from', value: '${params.from}' } },
      { fill: { selector: '#to', value: '${params.to}' } },
      { click: '#show' },
      { download: { click: '#csv', saveAs: 'report.csv' } },
      { extract: { selector: 'table#orders', saveAs: 'orders.ndjson' } },
    ],
    timeout: 30_000,
    headless: true,
    viewport: { width: 1280, height: 800 },
    acceptDownloads: true,
  },
  run,
});
