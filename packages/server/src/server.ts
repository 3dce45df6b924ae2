import { builtinConnectors } from '@sluice/connectors';
import { Registry } from '@sluice/core';
import { type App, buildApp } from './api/app.ts';
import { scheduleVacuum } from './db/maintenance.ts';
import { openPlatform, type Platform, type PlatformOptions } from './platform.ts';
import { startScheduler } from './services/schedules.ts';
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
}

export interface Server {
  url: string;
  app: App;
  platform: Platform;
  close(): Promise<void>;
}

/** API, scheduler and a worker in one process: `sluice serve`. */
export async function startServer(o: ServeOptions = {}): Promise<Server> {
  const platform = await openPlatform({
    ...o,
    registry: o.registry ?? new Registry().register(...builtinConnectors),
  });
  const stops: (() => Promise<void> | void)[] = [];
  try {
    const app = await buildApp(platform, { ...(o.logger === undefined ? {} : { logger: o.logger }) });
    if (o.worker !== false) {
      const w = await startWorker(platform, typeof o.worker === 'object' ? o.worker : {});
      stops.push(() => w.stop());
    }
    if (o.scheduler !== false) stops.push(startScheduler(platform));
    stops.push(scheduleVacuum(platform.database));
    const url = await app.listen({ port: o.port ?? 8080, host: o.host ?? '127.0.0.1' });
    return {
      url,
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
    registry: o.registry ?? new Registry().register(...builtinConnectors),
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
