import { readFile } from 'node:fs/promises';
import { delimiter, join, resolve } from 'node:path';
import { createRegistry } from '@sluice/connectors';
import { ErrorCode, FatalError, parseSpecText } from '@sluice/core';
import {
  createPipeline,
  listPipelines,
  migrate,
  openDatabase,
  type ServeOptions,
  startServer,
  startWorkerProcess,
} from '@sluice/server';
import pc from 'picocolors';
import { type Companion, seedCompanionCredentials, startCompanions } from '../example-companions.ts';
import { databaseOptions, databaseUrl, dataDir } from '../platform-location.ts';
import { printError } from '../render/errors.ts';

export interface PlatformFlags {
  dataDir?: string;
  databaseUrl?: string;
  filesDir?: string;
  concurrency?: number;
  partitionConcurrency?: number;
  stepMemory?: number;
  stepsPerProcess?: number;
  pipelineEnv?: string[];
  allowPath?: string[];
  denyHosts?: string[];
  allowHosts?: string[];
  artifacts?: string;
  /** `sluice worker --tags` */
  tags?: string[];
  /** `sluice serve --worker-tags`: the built-in worker's tags. */
  workerTags?: string[];
}

/** `--pipeline-env` entries, else SLUICE_PIPELINE_ENV's comma-separated list. */
function exposedEnv(f: PlatformFlags): string[] {
  if (f.pipelineEnv?.length) return f.pipelineEnv;
  return (process.env.SLUICE_PIPELINE_ENV ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

const note = (message: string) => process.stderr.write(`${pc.yellow('note:')} ${message}\n`);

/**
 * `--allow-path` directories, else SLUICE_ALLOW_PATH's list, separated like PATH's (`:`; `;` on
 * Windows): a comma may be part of a directory's name.
 */
function allowedPaths(f: PlatformFlags): string[] {
  const dirs = f.allowPath?.length
    ? f.allowPath
    : (process.env.SLUICE_ALLOW_PATH ?? '').split(delimiter).filter((s) => s.trim() !== '');
  return dirs.map((d) => resolve(d));
}

/**
 * Comma-separated, repeatable lists, else the variable's: `--deny-hosts`/`--allow-hosts`
 * (SLUICE_DENY_HOSTS/SLUICE_ALLOW_HOSTS), `--tags`/`--worker-tags` (SLUICE_WORKER_TAGS).
 */
function listFlag(given: string[] | undefined, variable: string): string[] {
  const list = given?.length ? given : [process.env[variable] ?? ''];
  return list
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * `--artifacts`, else SLUICE_ARTIFACTS: `s3://bucket/prefix` or a directory; the platform's
 * default (`<data dir>/files`) when neither is set.
 */
function artifactsOption(f: PlatformFlags): { artifacts?: string } {
  const where = f.artifacts ?? (process.env.SLUICE_ARTIFACTS || undefined);
  if (where === undefined) return {};
  return { artifacts: /^[a-z][a-z0-9+.-]*:\/\//i.test(where) ? where : resolve(where) };
}

function platformOptions(f: PlatformFlags): Omit<ServeOptions, 'port' | 'host'> {
  const url = databaseUrl(f);
  if (!url && process.env.DATABASE_URL)
    note(
      'DATABASE_URL is set but the platform does not use it (it is left for pipelines); set SLUICE_DATABASE_URL for the platform',
    );
  return {
    dataDir: dataDir(f, note),
    ...(url ? { databaseUrl: url } : {}),
    filesDir: resolve(f.filesDir ?? process.cwd()),
    pipelineEnv: exposedEnv(f),
    allowPaths: allowedPaths(f),
    denyHosts: listFlag(f.denyHosts, 'SLUICE_DENY_HOSTS'),
    allowHosts: listFlag(f.allowHosts, 'SLUICE_ALLOW_HOSTS'),
    ...artifactsOption(f),
    // Where people reach the UI: outbound webhooks link to job pages under it.
    ...(process.env.SLUICE_PUBLIC_URL ? { publicUrl: process.env.SLUICE_PUBLIC_URL } : {}),
    registry: createRegistry(),
    worker: {
      tags: listFlag(f.tags?.length ? f.tags : f.workerTags, 'SLUICE_WORKER_TAGS'),
      ...(f.concurrency ? { concurrency: f.concurrency } : {}),
      ...(f.partitionConcurrency ? { partitionConcurrency: f.partitionConcurrency } : {}),
      ...(f.stepMemory ? { stepMemoryMb: f.stepMemory } : {}),
      ...(f.stepsPerProcess ? { stepsPerProcess: f.stepsPerProcess } : {}),
    },
  };
}

/**
 * Stops cleanly on Ctrl-C or SIGTERM: running steps are left to resume on the next start. The
 * handlers are installed before the process starts anything, so a signal that arrives while it
 * starts (a supervisor stopping it early) stops it as soon as it is up instead of killing it
 * mid-start; they stay installed until the process exits, so a second signal is not fatal either.
 */
function onStopSignal(): (close: () => Promise<void>) => Promise<number> {
  const signalled = new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return async (close) => {
    await signalled;
    process.stderr.write('stopping…\n');
    try {
      await close();
      return 0;
    } catch (err) {
      printError(err);
      return 1;
    }
  };
}

/** Seeds the example pipelines once: on a platform that has no pipeline yet. */
async function seedExamples(
  server: Awaited<ReturnType<typeof startServer>>,
  files: string[],
  companions: readonly Companion[],
): Promise<string[]> {
  const existing = await listPipelines(server.platform, { limit: 1, offset: 0 });
  if (existing.total > 0) return [];
  await seedCompanionCredentials(server.platform, companions);
  const names: string[] = [];
  for (const file of files) {
    const spec = parseSpecText(await readFile(file, 'utf8'), file);
    names.push((await createPipeline(server.platform, { spec }, 'sluice')).name);
  }
  return names;
}

function allowedLine(dirs: string[]): string {
  return dirs.length > 0 ? `  pipelines may also open files in ${dirs.join(', ')}\n` : '';
}

function hostsLine(deny: string[], allow: string[]): string {
  const parts = [
    ...(allow.length > 0 ? [`only ${allow.join(', ')}`] : []),
    ...(deny.length > 0 ? [`never ${deny.join(', ')}`] : []),
  ];
  return parts.length > 0
    ? `  pipelines may connect to ${parts.join('; ')} (and never to link-local addresses)\n`
    : '';
}

function firstLogin(admin: { username: string; password: string | null } | null): string {
  if (!admin) return '';
  return admin.password
    ? `  first start: sign in as ${pc.bold(admin.username)} with password ${pc.bold(admin.password)}  (shown once; change it: sluice users set-password admin)\n`
    : `  first start: user ${pc.bold(admin.username)} created with the password in SLUICE_ADMIN_PASSWORD\n`;
}

/** A port another program holds, said with the three ways to choose another. */
function portInUse(err: unknown, host: string, port: number): FatalError | undefined {
  if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') return undefined;
  const next = port + 1;
  return new FatalError(
    `port ${port} on ${host} is already in use by another program; choose another port: ` +
      `sluice serve --port ${next}, PORT=${next}, or npm start -- --port ${next}`,
    { code: ErrorCode.CONFIG, cause: err },
  );
}

/** `sluice serve`: API, scheduler and a worker in one process. */
export async function serveCommand(
  flags: PlatformFlags & {
    port?: number;
    host?: string;
    worker?: boolean;
    scheduler?: boolean;
    example?: string[];
    tlsCert?: string;
    tlsKey?: string;
    behindProxy?: boolean;
    corsOrigin?: string[];
    rateLimit?: number;
  },
): Promise<number> {
  const untilSignal = onStopSignal();
  try {
    if (Boolean(flags.tlsCert) !== Boolean(flags.tlsKey))
      throw new FatalError('--tls-cert and --tls-key go together: give both, or neither', {
        code: ErrorCode.CONFIG,
      });
    const opts = platformOptions(flags);
    const port = flags.port ?? Number(process.env.PORT ?? 8080);
    const host = flags.host ?? '127.0.0.1';
    const server = await startServer({
      ...opts,
      port,
      host,
      ...(flags.worker === false ? { worker: false } : {}),
      ...(flags.scheduler === false ? { scheduler: false } : {}),
      ...(flags.tlsCert && flags.tlsKey ? { tls: { certFile: flags.tlsCert, keyFile: flags.tlsKey } } : {}),
      ...(flags.behindProxy || process.env.SLUICE_BEHIND_PROXY === '1' ? { behindProxy: true } : {}),
      ...(flags.corsOrigin?.length ? { corsOrigins: flags.corsOrigin } : {}),
      ...(flags.rateLimit ? { rateLimit: flags.rateLimit } : {}),
    }).catch((err) => {
      throw portInUse(err, host, port) ?? err;
    });
    const examples = (flags.example ?? []).map((f) => resolve(f));
    const companions = await startCompanions(examples, note);
    const seeded = await seedExamples(server, examples, companions);
    const db = opts.databaseUrl ? 'PostgreSQL' : `embedded PGlite in ${opts.dataDir}`;
    process.stdout.write(
      `${pc.green('✓')} Sluice is running at ${pc.bold(server.url)}  (API ${server.url}/api/v1, reference ${server.url}/docs)\n` +
        `  database: ${db}; pipeline files resolve in ${opts.filesDir}\n` +
        `  job logs and artifacts: ${opts.artifacts ?? join(opts.dataDir ?? '', 'files')}\n` +
        allowedLine(opts.allowPaths ?? []) +
        hostsLine(opts.denyHosts ?? [], opts.allowHosts ?? []) +
        (seeded.length > 0
          ? `  example pipelines ready to run: ${seeded.join(', ')} (open ${server.url}/pipelines, or POST /api/v1/pipelines/<id>/execute)\n`
          : '') +
        companions.map((c) => `  ${c.label} for the examples at ${c.url}\n`).join('') +
        firstLogin(server.firstAdmin) +
        '  Ctrl-C stops it.\n',
    );
    return await untilSignal(async () => {
      await server.close();
      for (const c of companions) await c.close();
    });
  } catch (err) {
    printError(err);
    return 1;
  }
}

/** `sluice worker`: more workers for a platform on a PostgreSQL server. */
export async function workerCommand(flags: PlatformFlags): Promise<number> {
  const untilSignal = onStopSignal();
  try {
    const opts = platformOptions(flags);
    const w = await startWorkerProcess(opts);
    const tags = typeof opts.worker === 'object' ? (opts.worker.tags ?? []) : [];
    const offers = tags.length > 0 ? ` (tags: ${tags.join(', ')})` : '';
    process.stdout.write(`${pc.green('✓')} worker ${w.id} is taking jobs${offers}. Ctrl-C stops it.\n`);
    return await untilSignal(w.close);
  } catch (err) {
    printError(err);
    return 1;
  }
}

/** `sluice migrate`: applies the database migrations (serve and worker also do on start). */
export async function migrateCommand(flags: PlatformFlags): Promise<number> {
  try {
    const database = await openDatabase(databaseOptions(flags));
    try {
      await migrate(database);
    } finally {
      await database.close();
    }
    process.stdout.write(`${pc.green('✓')} the database is up to date\n`);
    return 0;
  } catch (err) {
    printError(err);
    return 1;
  }
}
