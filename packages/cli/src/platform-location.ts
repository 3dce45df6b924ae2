import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEFAULT_DATA_DIR } from '@sluice/server';

/** The flags every platform command takes to find its database. */
export interface DbFlags {
  dataDir?: string;
  databaseUrl?: string;
}

/**
 * The platform's PostgreSQL server: `--database-url`, else SLUICE_DATABASE_URL. Not DATABASE_URL:
 * pipelines use that name for their own sinks (`${env.DATABASE_URL}`), and a user who exports it
 * for them must not find the platform's tables in their warehouse.
 */
export function databaseUrl(f: DbFlags): string | undefined {
  return f.databaseUrl ?? (process.env.SLUICE_DATABASE_URL || undefined);
}

const LEGACY = '.sluice';
const DEFAULT = DEFAULT_DATA_DIR;

/**
 * Where the embedded database, the master key and the stored files live: `--data-dir`, else
 * SLUICE_DATA_DIR, else `.sluice/platform` — apart from `sluice run`'s `.sluice/runs`. A data
 * directory made before they were apart (`.sluice/db` and no `.sluice/platform`) is kept, with
 * a note saying how to move it.
 */
export function dataDir(f: DbFlags, note: (message: string) => void = () => {}): string {
  const given = f.dataDir ?? (process.env.SLUICE_DATA_DIR || undefined);
  if (given) return resolve(given);
  if (!existsSync(DEFAULT) && existsSync(join(LEGACY, 'db'))) {
    note(
      `using the platform's data in ${resolve(LEGACY)} (made by an earlier version); to keep it apart from ` +
        `sluice run's state, stop the server and move its db, files, work and master.key into ${resolve(DEFAULT)}`,
    );
    return resolve(LEGACY);
  }
  return resolve(DEFAULT);
}

/** The embedded database's options, or the server's. */
export const databaseOptions = (f: DbFlags) => {
  const url = databaseUrl(f);
  return url ? { url } : { dataDir: dataDir(f) };
};
