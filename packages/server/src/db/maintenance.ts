import { Cron } from 'croner';
import type { Database } from './open.ts';

/** PGlite never autovacuums: without this its tables and indexes only grow. */
export async function vacuumAnalyze(database: Database): Promise<void> {
  await database.query('VACUUM ANALYZE');
}

/** Runs VACUUM ANALYZE on the embedded database on a cron; a server vacuums itself. */
export function scheduleVacuum(database: Database, cron = '17 3 * * *'): () => void {
  if (database.kind !== 'pglite') return () => {};
  const job = new Cron(cron, { protect: true }, () => vacuumAnalyze(database).catch(() => undefined));
  return () => job.stop();
}
