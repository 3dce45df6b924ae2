import { ErrorCode, FatalError } from '@sluice/core';
import { desc, isNotNull } from 'drizzle-orm';
import type { Database } from '../db/open.ts';
import { credentials, pipelines } from '../db/schema.ts';
import { unseal } from './secrets.ts';

/**
 * Refuses a master key that cannot open what the database holds. Without this a process with the
 * wrong key starts and looks healthy, and then every job that needs a credential, and every retry
 * of it, fails one by one (seen: a worker started without the key the API server had). One sealed
 * value is enough to tell: `sluice keys rotate` re-seals them all under one key.
 */
export async function checkMasterKey(database: Database, masterKey: string): Promise<void> {
  const [cred] = await database.db
    .select({ name: credentials.name, sealed: credentials.encryptedData })
    .from(credentials)
    .orderBy(desc(credentials.updatedAt))
    .limit(1);
  const [hook] = cred
    ? []
    : await database.db
        .select({ name: pipelines.name, sealed: pipelines.webhookSecret })
        .from(pipelines)
        .where(isNotNull(pipelines.webhookSecret))
        .limit(1);
  const found = cred
    ? { sealed: cred.sealed, what: `the stored credential "${cred.name}"` }
    : hook?.sealed
      ? { sealed: hook.sealed, what: `the webhook secret of pipeline "${hook.name}"` }
      : undefined;
  if (!found) return;
  try {
    await unseal(masterKey, found.sealed, found.what);
  } catch (err) {
    throw new FatalError(
      `${(err as Error).message}. Start every API server and worker of this database with the same ` +
        'SLUICE_MASTER_KEY (or master.key file); after `sluice keys rotate`, that is the new key.',
      { code: ErrorCode.CONFIG, cause: err },
    );
  }
}
