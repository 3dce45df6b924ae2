import { readFile } from 'node:fs/promises';
import { createRegistry } from '@sluice/connectors';
import { ErrorCode, FatalError, type Registry } from '@sluice/core';
import { type App, buildApp } from './api/app.ts';
import { openPlatform, type Platform, type PlatformOptions } from './platform.ts';
import { autostartStreams } from './services/autostart.ts';
import { startScheduler } from './services/schedules.ts';
import { ensureSystemSchedules } from './services/system-tasks.ts';
import { ensureFirstAdmin } from './services/users.ts';
import { startWorker, type WorkerOptions } from './worker/worker.ts';

export interface ServeOptions extends Omit<PlatformOptions, 'registry'> {
  registry?: Registry;
  port?: number;
  host?: string;
  /** Run jobs in this process too. @defaultValue true */
  worker?: boolean | WorkerOptions;
  /** Start scheduled runs from this process. @defaultValue true */
  scheduler?: boolean;
  logger?: boolean | Record<string, unknown>;
  /** Serve HTTPS with these PEM files. */
  tls?: { certFile: string; keyFile: string };
  /** A proxy in front terminates TLS: allows a non-loopback host without `tls`. */
  behindProxy?: boolean;
  /** Browser origins allowed to call the API (CORS); none by default. */
  corsOrigins?: string[];
  /** API requests per minute per caller. @defaultValue 1200 */
  rateLimit?: number;
  /**
   * Days the retention schedule keeps finished jobs, when it is first created (afterwards it is
   * edited as a schedule); 0 keeps all. @defaultValue SLUICE_RETENTION_DAYS, else 30
   */
  retentionDays?: number;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Passwords and tokens must not cross a network in clear: refuse that set-up at start. */
function checkTransport(o: ServeOptions): void {
  const host = o.host ?? '127.0.0.1';
  if (LOOPBACK.has(host) || o.tls || o.behindProxy) return;
  throw new FatalError(
    `refusing to serve plain HTTP on ${host}: passwords and tokens would cross the network unencrypted. ` +
      'Give --tls-cert and --tls-key, or --behind-proxy when a proxy in front terminates TLS, or bind to 127.0.0.1',
    { code: ErrorCode.CONFIG },
  );
}

export interface Server {
  url: string;
  /** The admin created on this first start, with its generated password (null when it came from SLUICE_ADMIN_PASSWORD). */
  firstAdmin: { username: string; password: string | null } | null;
  app: App;
  platform: Platform;
  close(): Promise<void>;
}

/** API, scheduler and a worker in one process: `sluice serve`. */
export async function startServer(o: ServeOptions = {}): Promise<Server> {
  checkTransport(o);
  const https = o.tls
    ? { cert: await readFile(o.tls.certFile), key: await readFile(o.tls.keyFile) }
    : undefined;
  const platform = await openPlatform({
    ...o,
    registry: o.registry ?? createRegistry(),
    ...(o.tls ? { serverFiles: [...(o.serverFiles ?? []), o.tls.certFile, o.tls.keyFile] } : {}),
  });
  const stops: (() => Promise<void> | void)[] = [];
  try {
    const firstAdmin = await ensureFirstAdmin(platform);
    const app = await buildApp(platform, {
      ...(o.logger === undefined ? {} : { logger: o.logger }),
      ...(https ? { https } : {}),
      ...(o.corsOrigins ? { corsOrigins: o.corsOrigins } : {}),
      ...(o.rateLimit ? { rateLimit: o.rateLimit } : {}),
    });
    if (o.worker !== false) {
      const w = await startWorker(platform, typeof o.worker === 'object' ? o.worker : {});
      stops.push(() => w.stop());
    }
    if (o.scheduler !== false) {
      stops.push(startScheduler(platform));
      await autostartStreams(platform);
    }
    await ensureSystemSchedules(platform, o.retentionDays ?? Number(process.env.SLUICE_RETENTION_DAYS ?? 30));
    const url = await app.listen({ port: o.port ?? 8080, host: o.host ?? '127.0.0.1' });
    platform.publicUrl ||= url;
    return {
      url,
      firstAdmin,
      app,
      platform,
      close: async () => {
        await app.close();
        for (const s of stops.reverse()) await s();
        await platform.close();
      },
    };
  } catch (err) {
    for (const s of stops.reverse()) await s();
    await platform.close();
    throw err;
  }
}

/** `sluice worker`: only runs jobs, against a shared PostgreSQL server. */
export async function startWorkerProcess(o: Omit<ServeOptions, 'port' | 'host' | 'scheduler'>) {
  const platform = await openPlatform({
    ...o,
    registry: o.registry ?? createRegistry(),
  });
  const w = await startWorker(platform, typeof o.worker === 'object' ? o.worker : {});
  return {
    id: w.id,
    close: async () => {
      await w.stop();
      await platform.close();
    },
  };
}
