import { createHash, randomUUID } from 'node:crypto';
import { type Static, Type } from '@sinclair/typebox';
import { defineSource, type Json, type Row, type SourceContext } from '@sluice/core';
import { connectRedis, RedisCredential, redisConnection, redisError } from '../shared/redis-conn.ts';
import {
  BATCH_WAIT_MS,
  flowHooks,
  StopAfter,
  stopAfterIssues,
  streamSourceProperties,
} from '../shared/stream-options.ts';
import { type Entry, entryRow } from './entries.ts';

/** How often the source asks Redis how many entries wait for the group (its lag). */
const LAG_EVERY_MS = 2000;

const Config = Type.Object(
  {
    url: Type.String({
      minLength: 1,
      description: 'Redis url, e.g. redis://user:password@host:6379/0 (or a credential holding it).',
    }),
    stream: Type.String({ minLength: 1, description: 'The key of the stream to read.' }),
    group: Type.String({
      minLength: 1,
      description:
        'The consumer group: Redis keeps its position and its entries read but not acknowledged. Created ' +
        '(with the stream, MKSTREAM) when missing.',
    }),
    consumer: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "This reader's name in the group: its pending entries are its own, and a resumed run reads them first. " +
          'Default: derived from the url, stream, group and step (the same on every run); give one when two ' +
          'pipelines read the same group.',
      }),
    ),
    start: Type.Union([Type.Literal('0'), Type.Literal('$')], {
      default: '0',
      description:
        'Where a group created by this source starts: 0 reads the entries already in the stream, $ only new ones. ' +
        'An existing group keeps its position.',
    }),
    claimIdleMs: Type.Integer({
      minimum: 1,
      default: 60_000,
      description:
        'Entries pending with another consumer for this long (it died, or was renamed) are claimed (XAUTOCLAIM) ' +
        'and read again; keep it above the time a run holds entries before its checkpoint.',
    }),
    maxPending: Type.Integer({
      minimum: 1,
      default: 2000,
      description:
        'Most entries read and not yet acknowledged; reaching it asks for a checkpoint at once, and nothing more ' +
        'is read until it acknowledges them.',
    }),
    field: Type.String({
      minLength: 1,
      default: 'data',
      description: 'format json, text or bytes: the entry field holding the body.',
    }),
    ...streamSourceProperties,
    format: Type.Union(
      [Type.Literal('json'), Type.Literal('text'), Type.Literal('bytes'), Type.Literal('fields')],
      {
        default: 'json',
        description:
          'json: the `field` of each entry holds a JSON object whose fields become the row (an entry whose body ' +
          'does not parse, or lacks the field, is quarantined with its entry id); text: that field as UTF-8 ' +
          'in `body`; bytes: as base64 in `body`; fields: every field of the entry, as text, is a column.',
      },
    ),
  },
  { additionalProperties: false },
);
type Config = Static<typeof Config>;

/** Where a run got to: the run (acknowledgements are this run's), and how many entries it read. */
interface Position {
  run: string;
  read: number;
}

type RawEntry = { id: Buffer | string; message: Record<string, Buffer> | null } | null;

function consumerOf(ctx: SourceContext<Config>, address: string): string {
  const cfg = ctx.config;
  if (cfg.consumer !== undefined) return cfg.consumer;
  const key = `${address}|${cfg.stream}|${cfg.group}|${ctx.componentId}`;
  return `sluice-${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
}

const entriesOf = (raw: readonly RawEntry[], redelivered: boolean): Entry[] =>
  raw.flatMap((m) => (m === null ? [] : [{ id: String(m.id), fields: m.message, redelivered }]));

const pause = (ms: number, signals: AbortSignal[]) =>
  new Promise<void>((resolve) => {
    const any = AbortSignal.any(signals);
    const t = setTimeout(resolve, ms);
    any.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });

async function* read(ctx: SourceContext<Config>) {
  const cfg = ctx.config;
  const flow = flowHooks(ctx);
  const { client, target } = await connectRedis(cfg.url, {
    where: ctx.componentId,
    guard: ctx.guardConnect,
    net: ctx,
    onError: (message) => ctx.log.warn(message),
  });
  const failed = (doing: string) => (err: unknown) => {
    throw redisError(err, ctx.componentId, target, doing);
  };
  const { stream, group } = cfg;
  const consumer = consumerOf(ctx, target.address);
  try {
    await client.xGroupCreate(stream, group, cfg.start, { MKSTREAM: true }).catch((err: unknown) => {
      if (!/^BUSYGROUP\b/.test((err as Error).message))
        failed(`create consumer group "${group}" on stream "${stream}"`)(err);
    });
  } catch (err) {
    client.destroy();
    throw err;
  }
  const { RESP_TYPES } = await import('redis');
  // Field values as Buffers: a bytes body must not go through UTF-8 on its way in.
  const raw = client.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });

  // Ids read in this run and not yet acknowledged, in the order read: a commit acknowledges the
  // first `read - acked` of them, exactly the entries whose rows the checkpoint holds.
  const self = randomUUID();
  const unacked: string[] = [];
  const held = new Set<string>();
  let acked = 0;
  flow.register({
    async commit(position: Json) {
      const p = position as unknown as Position;
      if (p?.run !== self || p.read <= acked) return;
      const ids = unacked.splice(0, p.read - acked);
      acked = p.read;
      for (let i = 0; i < ids.length; i += 1000)
        await client
          .xAck(stream, group, ids.slice(i, i + 1000))
          .catch(failed(`acknowledge ${ids.length} entries of stream "${stream}"`));
      for (const id of ids) held.delete(id);
    },
    async close() {
      // Waits for a blocking read in flight (at most BATCH_WAIT_MS); a broken connection is just dropped.
      await client.close().catch(() => client.destroy());
    },
  });
  ctx.setOrigin(`${target.url} stream ${stream} group ${group}`);

  const readGroup = async (id: string, count: number, block?: number): Promise<readonly RawEntry[]> => {
    const got = await raw
      .xReadGroup(group, consumer, { key: stream, id }, { COUNT: count, ...(block ? { BLOCK: block } : {}) })
      .catch(failed(`read stream "${stream}" as consumer "${consumer}" of group "${group}"`));
    const s = (got as unknown as { messages: RawEntry[] }[] | null)?.[0];
    return s?.messages ?? [];
  };

  let lag: number | undefined;
  let lagAskedAt = Number.NEGATIVE_INFINITY;
  const askLag = (): void => {
    if (performance.now() - lagAskedAt < LAG_EVERY_MS) return;
    lagAskedAt = performance.now();
    client.xInfoGroups(stream).then(
      (groups) => {
        const g = groups.find((x) => String(x.name) === group);
        // `lag` (entries the group has not read) is null when Redis cannot tell after deletions.
        if (g) lag = typeof g.lag === 'number' ? g.lag : Number(g.pending);
      },
      () => undefined,
    );
  };

  // First this consumer's own pending entries (a run that ended before acknowledging them), then
  // entries other consumers left pending past claimIdleMs, then new ones; claims are retried now
  // and then, a pass at a time.
  let ownCursor: string | undefined = '0';
  let claimCursor = '0-0';
  let claimAt = 0;
  const claimEvery = Math.min(Math.max(cfg.claimIdleMs / 2, 1000), 30_000);
  const next = async (want: number): Promise<Entry[]> => {
    if (ownCursor !== undefined) {
      const own = entriesOf(await readGroup(ownCursor, want), true);
      if (own.length > 0) {
        ownCursor = own.at(-1)!.id;
        return own;
      }
      ownCursor = undefined;
    }
    if (performance.now() >= claimAt) {
      const r = await raw
        .xAutoClaim(stream, group, consumer, cfg.claimIdleMs, claimCursor, { COUNT: want })
        .catch(failed(`claim entries pending in group "${group}" (XAUTOCLAIM)`));
      claimCursor = String(r.nextId);
      if (claimCursor === '0-0') claimAt = performance.now() + claimEvery;
      if (r.deletedMessages.length > 0)
        ctx.log.warn(
          `${r.deletedMessages.length} entries pending in group "${group}" were deleted from stream "${stream}" ` +
            'before anyone acknowledged them (trimmed?); Redis dropped them from the pending list',
        );
      // This run's own unacknowledged entries grow idle too while a checkpoint is awaited: not new.
      const claimed = entriesOf(r.messages as unknown as RawEntry[], true).filter((e) => !held.has(e.id));
      if (claimed.length > 0) return claimed;
    }
    return entriesOf(await readGroup('>', want, BATCH_WAIT_MS), false);
  };

  const stopAfter = new StopAfter(cfg.stopAfter);
  let position: Position = { run: self, read: 0 };
  const withLag = () => (lag === undefined ? {} : { lag });
  while (!flow.stop.aborted && !stopAfter.done) {
    askLag();
    const room = cfg.maxPending - unacked.length;
    if (room <= 0) {
      // As many held as allowed: nothing more is read until a checkpoint acknowledges some.
      yield { rows: [], position: position as unknown as Json, checkpoint: true, ...withLag() };
      await pause(BATCH_WAIT_MS, [ctx.signal, flow.stop]);
      continue;
    }
    const entries = await next(Math.min(cfg.batchSize, stopAfter.room, room));
    ctx.signal.throwIfAborted();
    stopAfter.took(entries.length);
    if (entries.length === 0) {
      // Nothing came: the same position, so an idle stream makes no checkpoint.
      yield { rows: [], position: position as unknown as Json, ...withLag() };
      continue;
    }
    const rows: Row[] = [];
    let gone = 0;
    for (const e of entries) {
      unacked.push(e.id);
      held.add(e.id);
      // Deleted while pending: nothing to read, but it stays pending until acknowledged.
      if (e.fields === null) {
        gone++;
        continue;
      }
      const made = entryRow(e as Entry & { fields: Record<string, Buffer> }, cfg, stream);
      if ('row' in made) rows.push(made.row);
      else ctx.quarantine({ reason: `entry ${e.id} (stream "${stream}"): ${made.reason}`, raw: made.raw });
    }
    if (gone > 0)
      ctx.log.warn(`${gone} pending entries of stream "${stream}" were deleted before they were read again`);
    position = { run: self, read: acked + unacked.length };
    yield {
      rows,
      position: position as unknown as Json,
      checkpoint: unacked.length >= cfg.maxPending,
      ...withLag(),
    };
  }
  // The connection stays open for the final acknowledgement; the Acknowledger closes it.
}

export const redisStreamSource = defineSource({
  name: 'redis-stream',
  version: '1.0.0',
  summary:
    'Reads a Redis stream in a consumer group (XREADGROUP), claiming entries dead consumers left pending; each entry is acknowledged once its row is committed.',
  streaming: true,
  config: Config,
  credentialSchema: RedisCredential,
  connection: redisConnection,
  example: {
    url: 'redis://localhost:6379/0',
    stream: 'orders',
    group: 'sluice',
    start: '0',
    claimIdleMs: 60_000,
    maxPending: 2000,
    field: 'data',
    format: 'json',
    meta: true,
    batchSize: 500,
    stopAfter: { idleSeconds: 10 },
  },
  check: (cfg) => stopAfterIssues(cfg),
  read,
});
