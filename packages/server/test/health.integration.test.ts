import { expect, it } from 'vitest';
import { buildApp } from '../src/api/app.ts';
import { testPlatform } from './helpers/platform.ts';

it('reports not ready, with the failing check, when the database is gone', async () => {
  const p = await testPlatform('postgres');
  const app = await buildApp(p);
  try {
    const before = await app.inject({ url: '/ready' });
    expect(before.statusCode).toBe(200);
    // Every connection refused from now on, as when the server is down or unreachable.
    await p.database.pool!.end();
    const after = await app.inject({ url: '/ready' });
    expect(after.statusCode).toBe(503);
    const body = JSON.parse(after.body) as {
      status: string;
      checks: Record<string, { ok: boolean; detail?: string }>;
    };
    expect(body.status).toBe('not ready');
    expect(body.checks.database!.ok).toBe(false);
    expect(body.checks.database!.detail).toMatch(/pool|connect|ended/i);
    expect(body.checks.disk!.ok).toBe(true);
    expect((await app.inject({ url: '/health' })).statusCode).toBe(200);
  } finally {
    await app.close();
    await p.close().catch(() => undefined);
  }
});
