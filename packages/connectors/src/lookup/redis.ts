import { type ComponentContext, ErrorCode, FatalError, RetryableError, type Row } from '@sluice/core';
import { connectRedis, parseRedisUrl, type RedisClient } from '../shared/redis-conn.ts';
import { type LookupBackend, projector } from './backend.ts';
import type { LookupConfig } from './config.ts';

/**
 * Looks rows up in Redis under `${keyPrefix}${key}`: hashes with HGETALL (sent together, so a
 * batch costs one round trip: node-redis writes the commands of one tick as one pipeline), or
 * JSON strings with one MGET. A key that is absent (an empty hash, a nil string) is not found.
 */
export function redisBackend(ctx: ComponentContext<LookupConfig>): LookupBackend {
  const cfg = ctx.config;
  const url = cfg.url!;
  const where = `${ctx.componentId}: Redis at ${parseRedisUrl(url, ctx.componentId).address}`;
  const project = projector(cfg.fields, Object.values(cfg.key)[0]!);
  // Without `fields`, the ones seen so far: values need not all have the same fields.
  const seen = new Set<string>(cfg.fields ? Object.values(cfg.fields) : []);
  const found = (into: Map<string, Row>, key: string, row: Row) => {
    into.set(key, row);
    if (!cfg.fields) for (const f in row) seen.add(f);
  };
  let client: { destroy(): void } | undefined;

  const open = async (): Promise<RedisClient> => {
    const { client: c } = await connectRedis(url, {
      where: ctx.componentId,
      guard: ctx.guardConnect,
      net: ctx,
      onError: (message) => ctx.log.warn(`${ctx.componentId}: ${message}`),
    });
    client = c;
    return c;
  };

  let opening: ReturnType<typeof open> | undefined;

  const failed = (err: unknown): Error => {
    if (ctx.signal.aborted) return ctx.signal.reason as Error;
    const msg = (err as Error).message ?? String(err);
    if (/WRONGTYPE/.test(msg))
      return new FatalError(
        `${where}: a key under "${cfg.keyPrefix}" holds another type than valueType ${cfg.valueType} expects (${msg}) — set valueType to match the data`,
        { code: ErrorCode.CONFIG, cause: err },
      );
    return new RetryableError(`${where}: lookup failed: ${msg}`, { cause: err });
  };

  return {
    async fetch(keys) {
      opening ??= open();
      const c = await opening;
      const names = keys.map((k) => cfg.keyPrefix + k);
      const rows = new Map<string, Row>();
      if (cfg.valueType === 'json') {
        let values: (string | null)[];
        try {
          values = (await c.mGet(names)) as (string | null)[];
        } catch (err) {
          throw failed(err);
        }
        for (let i = 0; i < keys.length; i++) {
          const v = values[i];
          if (v === null || v === undefined) continue;
          let rec: unknown;
          try {
            rec = JSON.parse(v);
          } catch {
            rec = undefined;
          }
          if (rec === null || typeof rec !== 'object' || Array.isArray(rec))
            throw new FatalError(
              `${where}: key ${names[i]} does not hold a JSON object (${v.slice(0, 80)}) — valueType json needs objects; use valueType hash for hashes`,
              { code: ErrorCode.CONFIG },
            );
          found(rows, keys[i]!, project(rec as Record<string, unknown>));
        }
        return rows;
      }
      let hashes: Record<string, string>[];
      try {
        hashes = (await Promise.all(names.map((n) => c.hGetAll(n)))) as Record<string, string>[];
      } catch (err) {
        throw failed(err);
      }
      for (let i = 0; i < keys.length; i++) {
        const h = hashes[i]!;
        // HGETALL answers an absent key with an empty hash.
        for (const _ in h) {
          found(rows, keys[i]!, project({ ...h }));
          break;
        }
      }
      return rows;
    },
    fields: () => (seen.size > 0 ? [...seen] : undefined),
    async close() {
      // A client still connecting is destroyed once it is: a cancel during connect leaks none.
      const pending = opening;
      opening = undefined;
      await pending?.catch(() => undefined);
      const c = client;
      client = undefined;
      c?.destroy();
    },
  };
}
