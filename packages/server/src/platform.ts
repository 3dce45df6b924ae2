import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ErrorCode,
  type NetPolicy,
  netPolicy,
  type PathPolicy,
  type Registry,
  SluiceError,
} from '@sluice/core';
import type { PgBoss } from 'pg-boss';
import { migrate } from './db/migrate.ts';
import { type Database, DEFAULT_DATA_DIR, openDatabase } from './db/open.ts';
import { EventBus } from './events/bus.ts';
import { pgliteNotifier, pgNotifier } from './events/notifier.ts';
import { createLogger, type Logger } from './observability/logger.ts';
import { startTracing, type Tracing } from './observability/tracing.ts';
import { createQueue } from './queue/boss.ts';
import { type SlotBook, slotBook } from './queue/slots.ts';
import { checkMasterKey } from './security/key-check.ts';
import { pathRoots } from './security/path-roots.ts';
import { pipelineEnv } from './security/pipeline-env.ts';
import { loadMasterKey } from './security/secrets.ts';
import { type BlobStore, FileStore } from './storage/file-store.ts';
import { S3Store } from './storage/s3-store.ts';

/** Everything the API, scheduler and worker share in one process. */
export interface Platform {
  database: Database;
  queue: PgBoss;
  /** Concurrency slots of pipelines and credentials, shared by every process (queue/slots.ts). */
  slots: SlotBook;
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
  /** Where steps may connect: the operator's --deny-hosts and --allow-hosts (core's NetPolicy). */
  network: NetPolicy;
  /** Encrypts credentials (security/secrets.ts): SLUICE_MASTER_KEY or `<dataDir>/master.key`. */
  masterKey: string;
  /** Spans of jobs and steps (observability/tracing.ts). */
  tracing: Tracing;
  /** The process log (pino). */
  log: Logger;
  /** What `${env.X}` reads in pipelines: the variables the operator exposed (security/pipeline-env.ts). */
  pipelineEnv: Readonly<Record<string, string>>;
  /**
   * Where people reach the UI, for links sent out (a job page in `${run.url}`): PlatformOptions'
   * `publicUrl`, else the server's own address once it listens; empty for a lone worker.
   */
  publicUrl: string;
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
  /**
   * Hosts pipelines may not connect to, besides the link-local and cloud metadata addresses never
   * reached (names, `*.suffix` wildcards, addresses, CIDR ranges). @defaultValue none
   */
  denyHosts?: string[];
  /** When given, the only hosts pipelines may connect to (same forms; `*` for every host). @defaultValue none */
  allowHosts?: string[];
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
  /**
   * Where job logs, reports, quarantine files and saved output are kept: `s3://bucket/prefix`
   * (credentials and endpoint from the AWS_* environment variables), a local directory, or a store
   * of your own. Every API server and worker of one platform must name the same place.
   * @defaultValue `<dataDir>/files`
   */
  artifacts?: string | BlobStore;
  /** Where people reach the UI (`https://sluice.example.com`), for links sent out. @defaultValue SLUICE_PUBLIC_URL */
  publicUrl?: string;
}

/** Opens the artifact store, the database (migrating it), the queue and the event bus. */
export async function openPlatform(o: PlatformOptions): Promise<Platform & { close(): Promise<void> }> {
  const dataDir = resolve(o.dataDir ?? DEFAULT_DATA_DIR);
  const exposed = pipelineEnv(o.pipelineEnv ?? []);
  const filesDir = resolve(o.filesDir ?? process.cwd());
  const artifactsDir = artifactsDirectory(o.artifacts, dataDir);
  // The default lies in the data directory, denied already; another one is denied like it.
  const given = typeof o.artifacts === 'string' && o.artifacts !== '' ? artifactsDir : undefined;
  const serverFiles = [...(o.serverFiles ?? []), ...(given ? [given] : [])];
  // Checked before anything is opened: an unsafe root refuses to start.
  const paths = await pathRoots({ filesDir, allowPaths: o.allowPaths ?? [], dataDir, serverFiles });
  const network = netPolicy({ deny: o.denyHosts ?? [], allow: o.allowHosts ?? [] });
  const log = o.log ?? createLogger();
  // Opened first: an unreachable bucket fails the start before the database is touched.
  const store =
    typeof o.artifacts === 'object'
      ? o.artifacts
      : artifactsDir
        ? new FileStore(artifactsDir)
        : await S3Store.open(o.artifacts!, {
            onFlushError: (err) => log.warn({ err }, 'job log lines wait for the artifacts store; retrying'),
          });
  let database: Database;
  try {
    database = await openDatabase({ dataDir, ...(o.databaseUrl ? { url: o.databaseUrl } : {}) });
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
  try {
    await migrate(database);
    // Before anything starts: a wrong key must stop the process, not fail its jobs one by one.
    const masterKey = await loadMasterKey(dataDir);
    await checkMasterKey(database, masterKey);
    const queue = await createQueue(
      database,
      o.heartbeatSeconds ? { heartbeatSeconds: o.heartbeatSeconds } : {},
    );
    const bus = await EventBus.start(
      database.kind === 'pglite'
        ? pgliteNotifier(database.pglite!)
        : pgNotifier(database.url!, database.pool!, () => undefined),
    );
    const slots = slotBook(database);
    const version = o.version ?? '0.1.0';
    const tracing = await startTracing({ version, ...(o.otlpEndpoint ? { endpoint: o.otlpEndpoint } : {}) });
    return {
      database,
      masterKey,
      queue,
      slots,
      bus,
      registry: o.registry,
      store,
      dataDir,
      version,
      tracing,
      log,
      jobAttempts: o.jobAttempts ?? 3,
      retryDelaySeconds: o.retryDelaySeconds ?? 5,
      filesDir,
      paths,
      network,
      pipelineEnv: exposed,
      publicUrl: (o.publicUrl ?? process.env.SLUICE_PUBLIC_URL ?? '').replace(/\/+$/, ''),
      close: async () => {
        // Appends still waiting for upload go first, while everything else still works.
        await store.close().catch((err) => log.error({ err }, 'could not store the last appended log lines'));
        await tracing.shutdown().catch(() => undefined);
        await bus.close().catch(() => undefined);
        await queue.stop({ graceful: false }).catch(() => undefined);
        await slots.close();
        await database.close();
      },
    };
  } catch (err) {
    await database.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    throw err;
  }
}

/**
 * The local directory the artifacts go to: the default, or the option's path (plain or
 * `file://`); undefined for an S3 URL or a store object. Another scheme is refused here.
 */
function artifactsDirectory(artifacts: PlatformOptions['artifacts'], dataDir: string): string | undefined {
  if (artifacts === undefined || artifacts === '') return join(dataDir, 'files');
  if (typeof artifacts === 'object') return undefined;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(artifacts)?.[1]?.toLowerCase();
  if (scheme === 's3') return undefined;
  if (scheme === 'file') return resolve(fileURLToPath(artifacts));
  if (scheme !== undefined) {
    throw new SluiceError(
      ErrorCode.CONFIG,
      `artifacts store "${artifacts}": ${scheme}:// is not supported there; give s3://bucket/prefix or a local directory`,
    );
  }
  return resolve(artifacts);
}
