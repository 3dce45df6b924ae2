import { createRegistry } from '@sluice/connectors';
import { createLogger, findUi, openPlatform, readiness } from '@sluice/server';
import pc from 'picocolors';
import { databaseUrl, dataDir as dataDirOf } from '../platform-location.ts';
import { printError } from '../render/errors.ts';

interface Check {
  ok: boolean;
  detail?: string;
  ms?: number;
}

function print(checks: Record<string, Check>): number {
  for (const [name, c] of Object.entries(checks))
    process.stdout.write(
      `${c.ok ? pc.green('✓') : pc.red('✗')} ${name.padEnd(10)} ${c.detail ?? ''}${c.ms === undefined ? '' : pc.dim(` (${c.ms} ms)`)}\n`,
    );
  const bad = Object.values(checks).filter((c) => !c.ok).length;
  process.stdout.write(
    bad ? `${pc.red(`${bad} problem${bad > 1 ? 's' : ''}`)}\n` : `${pc.green('all good')}\n`,
  );
  return bad ? 1 : 0;
}

/** Asks a running server: the same checks as GET /ready, over HTTP. */
async function remote(url: string): Promise<number> {
  const base = url.replace(/\/$/, '');
  const health = await fetch(`${base}/health`).catch((err: Error) => err);
  if (health instanceof Error)
    throw new Error(`cannot reach ${base}: ${health.message}; is sluice serve running there?`);
  const ready = (await (await fetch(`${base}/ready`)).json()) as { checks: Record<string, Check> };
  const { version } = (await health.json()) as { version: string };
  return print({ server: { ok: health.ok, detail: `${base} (version ${version})` }, ...ready.checks });
}

/**
 * `sluice doctor`: what `/ready` checks (database, queue, free disk) plus what an operator asks
 * first: is the master key there, is the UI built, are workers alive. With `--url`, asks a running
 * server; otherwise opens the data directory (or `--database-url`) itself.
 */
export async function doctorCommand(f: {
  url?: string;
  dataDir?: string;
  databaseUrl?: string;
}): Promise<number> {
  try {
    if (f.url) return await remote(f.url);
    const url = databaseUrl(f);
    const dataDir = dataDirOf(f);
    let p: Awaited<ReturnType<typeof openPlatform>>;
    try {
      p = await openPlatform({
        dataDir,
        ...(url ? { databaseUrl: url } : {}),
        registry: createRegistry(),
        log: createLogger({ level: 'silent' }),
      });
    } catch (err) {
      if (/in use by|locked/i.test((err as Error).message))
        throw new Error(
          `${(err as Error).message}\n  a server holds it: run sluice doctor --url http://127.0.0.1:8080 instead`,
        );
      throw err;
    }
    try {
      const checks: Record<string, Check> = await readiness(p);
      const [w] = await p.database.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM workers WHERE last_seen_at > now() - interval '30 seconds'",
      );
      checks.workers = {
        ok: true,
        detail: `${w?.n ?? 0} alive in the last 30 s${w?.n ? '' : ' (none: jobs will wait)'}`,
      };
      checks.masterKey = {
        ok: p.masterKey.length >= 16,
        detail: process.env.SLUICE_MASTER_KEY ? 'from SLUICE_MASTER_KEY' : `${dataDir}/master.key`,
      };
      const ui = findUi();
      checks.ui = { ok: ui !== null, detail: ui ?? 'not built: run npm run build:ui' };
      checks.database.detail = url
        ? `PostgreSQL (${checks.database.detail})`
        : `embedded PGlite in ${dataDir}`;
      return print(checks);
    } finally {
      await p.close();
    }
  } catch (err) {
    printError(err);
    return 1;
  }
}
