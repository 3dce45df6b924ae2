import { randomUUID } from 'node:crypto';
import { createClient } from 'redis';
import { atFileEnd } from './file-end.ts';

/** The Redis server the tests use (`.ci/run` requires it). */
export const REDIS_URL = process.env.SLUICE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

let admin: ReturnType<typeof createClient> | undefined;
const made: string[] = [];

/** The test's own connection, for preparing and inspecting streams. */
export async function redis(): Promise<ReturnType<typeof createClient>> {
  if (admin === undefined) {
    admin = createClient({ url: REDIS_URL });
    await admin.connect();
    atFileEnd(cleanUp);
  }
  return admin;
}

/** A stream key of its own for one test, deleted when the file's tests end. */
export function freshStream(tag = 's'): string {
  const key = `sluice-test:${tag}:${randomUUID().slice(0, 8)}`;
  made.push(key);
  return key;
}

/**
 * Adds an entry per body: an object as JSON in `field` (default `data`), a string as it is, or
 * `{ fields }` as the entry's own fields. Returns the entry ids.
 */
export async function addEntries(
  stream: string,
  bodies: (object | string | { fields: Record<string, string> })[],
  field = 'data',
): Promise<string[]> {
  const c = await redis();
  const m = c.multi();
  for (const b of bodies) {
    const fields =
      typeof b === 'string'
        ? { [field]: b }
        : 'fields' in b
          ? (b.fields as Record<string, string>)
          : { [field]: JSON.stringify(b) };
    m.xAdd(stream, '*', fields);
  }
  return (await m.execAsPipeline()) as unknown as string[];
}

/** Entries the group delivered and nobody acknowledged. */
export async function pendingCount(stream: string, group: string): Promise<number> {
  return Number((await (await redis()).xPending(stream, group)).pending);
}

/** Entries the group has not delivered yet (XINFO GROUPS' lag). */
export async function groupLag(stream: string, group: string): Promise<number> {
  const groups = await (await redis()).xInfoGroups(stream);
  return Number(groups.find((g) => String(g.name) === group)?.lag);
}

/**
 * Reads `count` entries as `consumer` of `group` (created at 0 if missing) and never acknowledges
 * them: a consumer that died holding them.
 */
export async function readAndDie(stream: string, group: string, consumer: string, count: number) {
  const c = await redis();
  await c.xGroupCreate(stream, group, '0', { MKSTREAM: true }).catch(() => undefined);
  const got = await c.xReadGroup(group, consumer, { key: stream, id: '>' }, { COUNT: count });
  return ((got ?? []) as unknown as { messages: { id: string }[] }[])[0]?.messages.map((m) => m.id) ?? [];
}

/** Every entry of `stream`, oldest first: its id and fields. */
export async function entries(stream: string): Promise<{ id: string; fields: Record<string, string> }[]> {
  const got = await (await redis()).xRange(stream, '-', '+');
  return (got ?? []).flatMap((e) =>
    e === null ? [] : [{ id: e.id, fields: { ...(e.message as Record<string, string>) } }],
  );
}

/** Deletes the file's streams and closes the connection (the next file opens its own). */
async function cleanUp(): Promise<void> {
  if (admin === undefined) return;
  const closing = admin;
  admin = undefined;
  const keys = made.splice(0);
  if (keys.length > 0) await closing.del(keys);
  closing.destroy();
}
