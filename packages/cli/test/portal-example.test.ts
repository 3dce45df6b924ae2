import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, expect, it } from 'vitest';
import { transactions } from '../../../examples/portal/data.mjs';
import { startSluice } from './helpers.ts';

// Issue 20 §4: the seeds' pipeline runs from `npm start` — `sluice serve --example
// examples/portal-report.yaml` starts the demo portal beside the server, stores its sign-in as a
// credential, and the seeded pipeline downloads, transforms, loads and summarises the reports.

const examples = join(import.meta.dirname, '../../../examples');
const stops: (() => void)[] = [];
afterAll(() => {
  for (const stop of stops) stop();
});

it('runs examples/portal-report.yaml from serve --example: browser → CSV ∥ PDF → SQLite → SQL', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-portal-example-'));
  const filesDir = mkdtempSync(join(tmpdir(), 'sluice-portal-files-'));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const portalPort = port + 1;
  const { child, banner } = await startSluice(
    [
      'serve',
      '--data-dir',
      dataDir,
      '--port',
      String(port),
      '--files-dir',
      filesDir,
      '--example',
      join(examples, 'portal-report.yaml'),
    ],
    { SLUICE_PORTAL_PORT: String(portalPort) },
  );
  stops.push(() => child.kill('SIGTERM'));
  const portal = `http://127.0.0.1:${portalPort}`;
  expect(banner).toContain(
    `demo portal (sign-in and reports; notifications at /notifications) for the examples at ${portal}`,
  );
  expect(banner).toMatch(/example pipelines ready to run: portal-report/);
  const password = /sign in as admin with password (\S+)/.exec(banner)![1]!;
  const base = `http://127.0.0.1:${port}/api/v1`;
  const { accessToken } = (await (
    await fetch(`${base}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password }),
    })
  ).json()) as { accessToken: string };
  const api = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${accessToken}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return (await r.json()) as Record<string, unknown> & { items?: Record<string, unknown>[] };
  };
  const credentials = await api('GET', '/credentials?limit=100');
  expect(credentials.items!.map((c) => c.name)).toContain('demo-portal');
  const pipelines = await api('GET', '/pipelines?limit=100');
  const pipeline = pipelines.items!.find((p) => p.name === 'portal-report')!;

  const from = '2026-10-05';
  const to = '2026-10-09';
  const run = await api('POST', `/pipelines/${pipeline.id}/execute`, { parameters: { from, to, portal } });
  let job: Record<string, unknown> = {};
  for (let i = 0; i < 240; i++) {
    job = await api('GET', `/jobs/${run.jobId}`);
    if (!['queued', 'running', 'pending'].includes(job.status as string)) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  expect(job.status, JSON.stringify(job.error)).toBe('success');

  // What the portal made for those dates, and what a valid amount is.
  const made = transactions(from, to);
  const valid = made.filter((t) => t.amount !== 'n/a');
  const steps = (await api('GET', `/jobs/${run.jobId}/steps`)).items!;
  const byId = Object.fromEntries(steps.map((s) => [s.stepId, s]));
  expect(byId.transactions).toMatchObject({
    status: 'success',
    rowsRead: made.length,
    rowsWritten: valid.length,
  });
  expect(byId.transactions!.rowsQuarantined).toBe(made.length - valid.length);
  expect(byId.positions).toMatchObject({ status: 'success', rowsWritten: 5 });
  expect(byId.summary).toMatchObject({ status: 'success' });
  expect(byId.notify).toMatchObject({ status: 'success' });

  // The downloads are the job's artifacts, with the sizes and checksums in the step's report.
  const artifacts = (await api('GET', `/jobs/${run.jobId}/artifacts`)).items!;
  const names = artifacts.map((a) => a.name);
  expect(names).toEqual(
    expect.arrayContaining(['extract.file.transactions.csv', 'extract.file.positions.pdf']),
  );
  const report = (byId.extract as { report: { files: Record<string, { bytes: number; sha256: string }> } })
    .report;
  expect(artifacts.find((a) => a.name === 'extract.file.positions.pdf')!.size).toBe(
    report.files.positions!.bytes,
  );
  expect(report.files.transactions!.sha256).toMatch(/^[0-9a-f]{64}$/);

  // The notify step ran last and told the portal, with the figures filled in by the runner.
  const received = (await (await fetch(`${portal}/notifications.json`)).json()) as { body: string }[];
  expect(received).toHaveLength(1);
  const note = JSON.parse(received[0]!.body) as {
    subject: string;
    message: string;
    data: Record<string, unknown>;
    run: { url: string; status: string };
  };
  expect(note.subject).toBe(`[Sluice] portal report ${from} to ${to}: success`);
  expect(note.data).toEqual({
    transactions: valid.length,
    quarantined: made.length - valid.length,
    positions: 5,
  });
  expect(note.message).toContain(
    `Transactions: ${valid.length} loaded, ${made.length - valid.length} quarantined.`,
  );
  expect(note.run.url).toBe(`http://127.0.0.1:${port}/jobs/${run.jobId}`);

  const db = new Database(join(filesDir, 'out', 'portal.db'), { readonly: true });
  try {
    expect(db.prepare('SELECT count(*) AS n FROM transactions').get()).toEqual({ n: valid.length });
    const summary = db
      .prepare('SELECT account, transactions FROM account_summary ORDER BY account')
      .all() as {
      account: string;
      transactions: number;
    }[];
    expect(summary.map((s) => s.account)).toEqual(['ACC-001', 'ACC-002', 'ACC-003', 'ACC-004', 'ACC-005']);
    expect(summary.reduce((n, s) => n + s.transactions, 0)).toBe(valid.length);
  } finally {
    db.close();
  }
}, 180_000);
