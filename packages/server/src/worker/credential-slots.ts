import type { ResolvedStep } from '@sluice/core';
import { and, asc, inArray, isNotNull } from 'drizzle-orm';
import { credentials } from '../db/schema.ts';
import type { Platform } from '../platform.ts';
import type { Release } from '../queue/slots.ts';
import { credentialsOf } from '../services/step-credentials.ts';

/** The slot key of a credential's `concurrency` (queue/slots.ts). */
export const credentialSlot = (credentialId: string) => `credential:${credentialId}`;

/**
 * Waits for a slot of every credential the step uses that has a `concurrency`, across all
 * workers, and holds them until the returned release (after the step's process ends; a worker
 * that dies gives them back with its database session). Taken in name order, so two steps that
 * need the same two credentials never each hold one and wait for the other. `onWait` is called
 * once per credential the step had to wait for. Rejects when `signal` aborts (the job cancelled).
 */
export async function holdCredentialSlots(
  p: Platform,
  step: ResolvedStep,
  signal: AbortSignal,
  onWait: (credential: { name: string; concurrency: number }) => Promise<void>,
): Promise<Release> {
  const names = credentialsOf(step);
  if (names.length === 0) return async () => {};
  const limited = await p.database.db
    .select({ id: credentials.id, name: credentials.name, concurrency: credentials.concurrency })
    .from(credentials)
    .where(and(inArray(credentials.name, names), isNotNull(credentials.concurrency)))
    .orderBy(asc(credentials.name));
  const held: Release[] = [];
  const releaseAll = async () => {
    for (const r of held.splice(0).reverse()) await r();
  };
  try {
    for (const c of limited) {
      const key = credentialSlot(c.id);
      const now = await p.slots.tryTake(key, c.concurrency!);
      if (now) {
        held.push(now);
        continue;
      }
      await onWait({ name: c.name, concurrency: c.concurrency! });
      held.push(await p.slots.take(key, c.concurrency!, { signal }));
    }
  } catch (err) {
    await releaseAll();
    throw err;
  }
  return releaseAll;
}
