import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
export const SHOTS = join(root, 'docs/ui');
export const ADMIN_PASSWORD = 'e2e-admin-password';

export interface Served {
  url: string;
  filesDir: string;
  stop(): Promise<void>;
}

/**
 * A real `sluice serve` on the embedded database in a fresh data directory, with the example
 * pipelines seeded and their data copied into its own files directory.
 */
export async function serve(port: number): Promise<Served> {
  execFileSync(process.execPath, [join(root, 'scripts/build-ui.mjs')], { stdio: 'inherit' });
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-e2e-'));
  const filesDir = join(dataDir, 'files');
  mkdirSync(filesDir);
  cpSync(join(root, 'examples'), filesDir, { recursive: true });
  const child: ChildProcess = spawn(
    process.execPath,
    [
      join(root, 'packages/cli/bin/sluice.js'),
      'serve',
      '--data-dir',
      join(dataDir, 'data'),
      '--files-dir',
      filesDir,
      '--port',
      String(port),
      '--example',
      join(filesDir, 'orders.yaml'),
      '--example',
      join(filesDir, 'branches.yaml'),
    ],
    {
      env: { ...process.env, NO_COLOR: '1', SLUICE_ADMIN_PASSWORD: ADMIN_PASSWORD },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += String(d);
      if (out.includes('Ctrl-C')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`sluice serve exited with ${code}: ${out}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    filesDir,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** A page that records console errors and uncaught exceptions, for a "no console errors" check. */
export async function newPage(context: BrowserContext): Promise<{ page: Page; errors: string[] }> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => errors.push(e.message));
  return { page, errors };
}

export async function signIn(page: Page, url: string, username: string, password: string): Promise<void> {
  await page.goto(`${url}/login`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  // Attached, not visible: on a narrow screen the navigation is a closed menu.
  await page.locator('nav[aria-label="main"]').waitFor({ state: 'attached' });
}

/** Calls the API as admin (setting up what the browser test then looks at). */
export async function adminApi(url: string) {
  const r = await fetch(`${url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
  });
  const { accessToken } = (await r.json()) as { accessToken: string };
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${url}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${accessToken}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
}

/** A fresh server and a desktop-sized page in Chromium: what each browser test file starts from. */
export interface Session {
  server: Served;
  browser: Browser;
  page: Page;
  /** Console errors and uncaught exceptions of `page` (see newPage). */
  errors: string[];
}

/** Starts a server and a browser page on it, signed in as admin unless `signedIn` is false. */
export async function openSession({ signedIn = true, portBase = 20_000 } = {}): Promise<Session> {
  const server = await serve(portBase + Math.floor(Math.random() * 2000));
  const browser = await launch();
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const { page, errors } = await newPage(context);
  if (signedIn) await signIn(page, server.url, 'admin', ADMIN_PASSWORD);
  return { server, browser, page, errors };
}

export async function closeSession(s: Session | undefined): Promise<void> {
  await s?.browser.close();
  await s?.server.stop();
}

export type AdminApi = Awaited<ReturnType<typeof adminApi>>;

export interface ServedBrowser {
  server: Served;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** The page's console errors, for a closing "no console errors" test. */
  errors: string[];
  api: AdminApi;
}

/**
 * A file's fixture: a server on a random port above `portBase` (files run in parallel, so each
 * takes its own range), Chromium with a 1280×900 page, and an admin API client, ready in
 * `beforeAll` and stopped in `afterAll`. Its fields are filled in then, so read them in tests.
 */
export function servedBrowser(portBase: number): ServedBrowser {
  const s = {} as ServedBrowser;
  let session: Session | undefined;
  beforeAll(async () => {
    session = await openSession({ signedIn: false, portBase });
    Object.assign(s, session, { context: session.page.context() });
    s.api = await adminApi(s.server.url);
  }, 180_000);
  afterAll(() => closeSession(session));
  return s;
}
