import type { PlannedStep, ResolvedStep } from '@sluice/core';
import { inArray } from 'drizzle-orm';
import { credentials } from '../db/schema.ts';
import type { Platform } from '../platform.ts';
import { unseal } from '../security/secrets.ts';
import { audit } from './audit.ts';

/** The credentials a step's components name. */
export function credentialsOf(step: PlannedStep | ResolvedStep): string[] {
  const parts = step.kind === 'flow' ? [step.source, ...step.transforms, ...step.sinks] : [step.task];
  return [...new Set(parts.flatMap((c) => (c.credential ? [c.credential] : [])))];
}

/** The names among `names` that no stored credential has. */
export async function missingCredentials(p: Platform, names: string[]): Promise<string[]> {
  if (names.length === 0) return [];
  const found = await p.database.db
    .select({ name: credentials.name })
    .from(credentials)
    .where(inArray(credentials.name, names));
  const have = new Set(found.map((f) => f.name));
  return names.filter((n) => !have.has(n));
}

/**
 * Decrypts the credentials one step needs, and only those, for its process (over IPC). Each read
 * is audited. A name with no credential is left out: the step's own planning then fails with the
 * component's path and the missing name.
 */
export async function stepCredentials(
  p: Platform,
  step: PlannedStep | ResolvedStep,
  by: { workerId: string; jobId: string },
): Promise<Record<string, Record<string, unknown>>> {
  const names = credentialsOf(step);
  if (names.length === 0) return {};
  const rows = await p.database.db.select().from(credentials).where(inArray(credentials.name, names));
  const out: Record<string, Record<string, unknown>> = {};
  for (const c of rows) {
    out[c.name] = (await unseal(p.masterKey, c.encryptedData)) as Record<string, unknown>;
    await audit(
      p.database.db,
      { userId: null, username: `worker:${by.workerId}` },
      {
        action: 'credential.use',
        resourceType: 'credential',
        resourceId: c.id,
        newValue: { name: c.name, jobId: by.jobId, stepId: step.id },
      },
    );
  }
  return out;
}
