import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterEach, beforeEach } from 'vitest';

export const TEST_DATABASE_URL =
  process.env.SLUICE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * Gives each test its own schema on the local PostgreSQL (dropped after it) and an admin client,
 * so tests never see each other's tables. Read the fields inside tests, not at import time.
 */
export function freshSchemaPerTest(setup = ''): { admin: pg.Client; schema: string } {
  const current = { admin: undefined as unknown as pg.Client, schema: '' };
  beforeEach(async () => {
    current.schema = `t_${randomBytes(6).toString('hex')}`;
    current.admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await current.admin.connect();
    await current.admin.query(`CREATE SCHEMA ${current.schema}`);
    if (setup) await current.admin.query(setup.replaceAll('$schema', current.schema));
  });
  afterEach(async () => {
    await current.admin.query(`DROP SCHEMA IF EXISTS ${current.schema} CASCADE`);
    await current.admin.end();
  });
  return current;
}
