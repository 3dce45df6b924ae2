import type { Database } from './open.ts';

/** PGlite never autovacuums: without this its tables and indexes only grow. */
export async function vacuumAnalyze(database: Database): Promise<void> {
  await database.query('VACUUM ANALYZE');
}
