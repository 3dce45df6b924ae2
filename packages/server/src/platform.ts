import { join, resolve } from 'node:path';
import type { PathPolicy, Registry } from '@sluice/core';
import type { PgBoss } from 'pg-boss';
import { migrate } from './db/migrate.ts';
import { type Database, DEFAULT_DATA_DIR, openDatabase } from './db/open.ts';
import { EventBus } from './events/bus.ts';
import { pgliteNotifier, pgNotifier } from './events/notifier.ts';
import { createLogger, type Logger } from './observability/logger.ts';
import { startTracing, type Tracing } from './observability/tracing.ts';
import { createQueue } from './queue/boss.ts';
import { pathRoots } from './security/path-roots.ts';
import { pipelineEnv } from './security/pipeline-env.ts';
import { loadMasterKey } from './security/secrets.ts';
import { type BlobStore, FileStore } from './storage/file-store.ts';

/** Everything the API, scheduler and worker share in one process. */
export interface Platform {
  database: Database;
  queue: PgBoss;
  bus: EventBus;
  registry: Registry;
  store: BlobStore;
  /** Job workspaces (checkpoints, step working directories) live under `<dataDir>/work`. */
  dataDir: string;
  version: string;
  /** Attempts of a job before it goes to the dead-letter queue. @defaultValue 3 */
  jobAttempts: number;
  /** First delay before a failed job's next attempt; it doubles each attempt, with jitter. @defaultValue 5 */
  retryDelaySeconds: number;
  /** Relative paths in pipeline specs resolve here. @defaultValue the server's working directory */
  filesDir: string;
  /**
   * Where steps may open local paths: `filesDir` and the `allowPaths`, never the data directory or
   * the server's code (security/path-roots.ts). Every step process applies it.
   */
  paths: PathPolicy;
  /** Encrypts credentials (security/secrets.ts): SLUICE_MASTER_KEY or `<dataDir>/master.key`. */
  masterKey: string;
  /** Spans of jobs and steps (observability/tracing.ts). */
  tracing: Tracing;
  /** The process log (pino). */
  log: Logger;
  /** What `${env.X}` reads in pipelines: the variables the operator exposed (security/pipeline-env.ts). */
  pipelineEnv: Readonly<Record<string, string>>;
}

export interface PlatformOptions {
  /** @defaultValue DEFAULT_DATA_DIR (`./.sluice/platform`) */
  dataDir?: string;
  /** A PostgreSQL server; the embedded PGlite when absent. */
  databaseUrl?: string;
  registry: Registry;
  filesDir?: string;
  /**
   * More directories (besides `filesDir`) whose files pipelines may read and write.
   * @defaultValue none
   */
  allowPaths?: string[];
  /** Files of the server's outside the data directory that pipelines must not reach (the TLS key). */
  serverFiles?: string[];
  jobAttempts?: number;
  retryDelaySeconds?: number;
  heartbeatSeconds?: number;
  version?: string;
  /** OTLP/HTTP traces URL; OTEL_EXPORTER_OTLP_ENDPOINT when absent. */
  otlpEndpoint?: string;
  /** The process log; one from SLUICE_LOG_LEVEL when absent. */
  log?: Logger;
  /**
   * Environment variables pipelines may read as `${env.X}`: names, or prefixes ending in `*`.
   * @defaultValue none
   */
  pipelineEnv?: string[];
}

/** Opens the database (migrating it), the queue, the event bus and the file store. */
export async function openPlatform(o: PlatformOptions): Promise<Platform & { close(): Promise<void> }> {
  const dataDir = resolve(o.dataDir ?? DEFAULT_DATA_DIR);
  const exposed = pipelineEnv(o.pipelineEnv ?? []);
  const filesDir = resolve(o.filesDir ?? process.cwd());
  // Checked before anything is opened: an unsafe root refuses to start.
  const paths = await pathRoots({
    filesDir,
    allowPaths: o.allowPaths ?? [],
    dataDir,
    ...(o.serverFiles ? { serverFiles: o.serverFiles } : {}),
  });
  const database = await openDatabase({ dataDir, ...(o.databaseUrl ? { url: o.databaseUrl } : {}) });
  try {
    await migrate(database);
    const queue = await createQueue(
      database,
      o.heartbeatSeconds ? { heartbeatSeconds: o.heartbeatSeconds } : {},
    );
    const bus = await EventBus.start(
      database.kind === 'pglite'
        ? pgliteNotifier(database.pglite!)
        : pgNotifier(database.url!, database.pool!, () => undefined),
    );
    const masterKey = await loadMasterKey(dataDir);
    const version = o.version ?? '0.1.0';
    const log = o.log ?? createLogger();
    const tracing = startTracing({ version, ...(o.otlpEndpoint ? { endpoint: o.otlpEndpoint } : {}) });
    return {
      database,
      masterKey,
      queue,
      bus,
      registry: o.registry,
      store: new FileStore(join(dataDir, 'files')),
      dataDir,
      version,
      tracing,
      log,
      jobAttempts: o.jobAttempts ?? 3,
      retryDelaySeconds: o.retryDelaySeconds ?? 5,
      filesDir,
      paths,
      pipelineEnv: exposed,
      close: async () => {
        await tracing.shutdown().catch(() => undefined);
        await bus.close().catch(() => undefined);
        await queue.stop({ graceful: false }).catch(() => undefined);
        await database.close();
      },
    };
  } catch (err) {
    await database.close().catch(() => undefined);
    throw err;
  }
}
