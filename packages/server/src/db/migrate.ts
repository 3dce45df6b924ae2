import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate as migrateNodePg } from 'drizzle-orm/node-postgres/migrator';
import type { PgliteDatabase } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import type { Database } from './open.ts';

// Beside the sources; from the CLI bundle, found through the package (its location differs).
export function defaultFolder(): string {
  const beside = fileURLToPath(new URL('../../drizzle', import.meta.url));
  if (existsSync(beside)) return beside;
  return join(dirname(createRequire(import.meta.url).resolve('@sluice/server/package.json')), 'drizzle');
}

// Several processes may start at once against one server: the first migrates, the rest wait.
const LOCK_KEY = 7_364_021_991;

/** Applies the SQL migrations that have not run yet (drizzle records them in its own table). */
export async function migrate(database: Database, folder = defaultFolder()): Promise<void> {
  if (database.kind === 'pglite') {
    await migratePglite(database.db as unknown as PgliteDatabase, { migrationsFolder: folder });
    return;
  }
  const client = await database.pool!.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
    await migrateNodePg(database.db as unknown as NodePgDatabase, { migrationsFolder: folder });
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => undefined);
    client.release();
  }
}
