import { randomBytes } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eq, isNotNull, or } from 'drizzle-orm';
import type { Database } from '../db/open.ts';
import { credentials, jobExecutions, pipelines, users } from '../db/schema.ts';
import { audit } from '../services/audit.ts';
import { seal, unseal } from './secrets.ts';

export interface Rotation {
  credentials: number;
  totpSecrets: number;
  webhookSecrets: number;
  /** Jobs' stored plans, finished or not: a retry runs its job's plan again. */
  jobPlans: number;
  /** The key file written, when the old key came from one; else the new key must be set by hand. */
  keyFile: string | null;
  newKey: string;
}

const reseal = async (oldKey: string, newKey: string, sealed: string) =>
  seal(newKey, await unseal(oldKey, sealed));

/**
 * Re-encrypts every sealed value (credentials, TOTP secrets, webhook secrets, jobs' plans) under a
 * new master key in one transaction: all or nothing, so a job queued before still runs after. With a key file, the new key is written beside it first
 * and renamed over it only after the commit, so a crash leaves either the old key with the old
 * data or `master.key.new` beside the re-encrypted data (rename it to finish).
 */
export async function rotateMasterKey(
  database: Database,
  o: { oldKey: string; newKey?: string; dataDir: string; keyFromFile: boolean },
): Promise<Rotation> {
  const newKey = o.newKey ?? randomBytes(32).toString('base64');
  const keyFile = o.keyFromFile ? join(o.dataDir, 'master.key') : null;
  if (keyFile) await writeFile(`${keyFile}.new`, `${newKey}\n`, { mode: 0o600 });
  const counts = await database.db.transaction(async (tx) => {
    const creds = await tx.select().from(credentials).for('update');
    for (const c of creds)
      await tx
        .update(credentials)
        .set({ encryptedData: await reseal(o.oldKey, newKey, c.encryptedData) })
        .where(eq(credentials.id, c.id));
    const people = await tx
      .select()
      .from(users)
      .where(or(isNotNull(users.totpSecret), isNotNull(users.totpPending)))
      .for('update');
    for (const u of people)
      await tx
        .update(users)
        .set({
          totpSecret: u.totpSecret && (await reseal(o.oldKey, newKey, u.totpSecret)),
          totpPending: u.totpPending && (await reseal(o.oldKey, newKey, u.totpPending)),
        })
        .where(eq(users.id, u.id));
    const hooks = await tx.select().from(pipelines).where(isNotNull(pipelines.webhookSecret)).for('update');
    for (const h of hooks)
      await tx
        .update(pipelines)
        .set({ webhookSecret: await reseal(o.oldKey, newKey, h.webhookSecret!) })
        .where(eq(pipelines.id, h.id));
    const plans = await tx
      .select({ id: jobExecutions.id, plan: jobExecutions.plan })
      .from(jobExecutions)
      .where(isNotNull(jobExecutions.plan))
      .for('update');
    for (const j of plans) {
      // A plan stored in clear by a development build (it has a format) is sealed now.
      const clear = (JSON.parse(j.plan!) as { format?: unknown }).format !== undefined;
      await tx
        .update(jobExecutions)
        .set({
          plan: clear ? await seal(newKey, JSON.parse(j.plan!)) : await reseal(o.oldKey, newKey, j.plan!),
        })
        .where(eq(jobExecutions.id, j.id));
    }
    const result = {
      credentials: creds.length,
      totpSecrets: people.length,
      webhookSecrets: hooks.length,
      jobPlans: plans.length,
    };
    await audit(
      tx,
      { userId: null, username: 'sluice keys rotate' },
      {
        action: 'keys.rotate',
        resourceType: 'master_key',
        newValue: result,
      },
    );
    return result;
  });
  if (keyFile) await rename(`${keyFile}.new`, keyFile);
  return { ...counts, keyFile, newKey };
}
