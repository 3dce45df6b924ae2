import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate } from '../../src/db/migrate.ts';
import { openDatabase } from '../../src/db/open.ts';

// A fresh embedded database is created in a child process (initdb, then every migration): ~2–3 s
// per test platform. Tests start from a copy of one made per worker process instead; a test of
// that creation itself opens an empty directory of its own.
let template: Promise<string> | undefined;

async function makeTemplate(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-pglite-template-'));
  const database = await openDatabase({ dataDir: dir });
  await migrate(database);
  await database.close(); // a clean shutdown: the files are consistent to copy
  return dir;
}

/** A new data directory (named `<prefix>…`) holding a migrated embedded database. */
export async function pgliteDataDir(prefix: string): Promise<string> {
  template ??= makeTemplate();
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cpSync(join(await template, 'db'), join(dir, 'db'), { recursive: true });
  return dir;
}
