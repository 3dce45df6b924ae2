import type { ComponentContext, Row } from '@sluice/core';
import type pg from 'pg';
import { connect, type PgConnection, pgError } from '../postgres/conn.ts';
import { identList, qualified, quoteIdent } from '../postgres/ident.ts';
import { type LookupBackend, projector } from './backend.ts';
import type { LookupConfig } from './config.ts';

// The key column's text form, as PostgreSQL prints it: results map back to the keys asked for by it.
const KEY_ALIAS = '__sluice_lookup_key';

const INT_RANGE: Record<number, bigint> = { 21: 2n ** 15n, 23: 2n ** 31n, 20: 2n ** 63n };
const NUMERIC_TYPES = new Set([700, 701, 1700]);
const UUID_TYPE = 2950;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A key's text as PostgreSQL prints the column's values, or undefined when the column cannot hold
 * it (`abc` for an integer column): such a key is a miss, not a query error for its whole batch.
 */
function normaliser(typeId: number): (key: string) => string | undefined {
  const range = INT_RANGE[typeId];
  if (range !== undefined)
    return (k) => {
      if (!/^\s*[+-]?\d+\s*$/.test(k)) return undefined;
      const n = BigInt(k.trim());
      return n >= -range && n < range ? n.toString() : undefined;
    };
  if (NUMERIC_TYPES.has(typeId))
    return (k) => (k.trim() !== '' && Number.isFinite(Number(k)) ? k.trim() : undefined);
  if (typeId === UUID_TYPE) return (k) => (UUID.test(k) ? k.toLowerCase() : undefined);
  return (k) => k;
}

/**
 * Looks rows up in a PostgreSQL table or query: one `WHERE key = ANY($1)` per batch of missing
 * keys, over one connection opened on the first batch (through the step's circuit breaker).
 */
export function postgresBackend(ctx: ComponentContext<LookupConfig>): LookupBackend {
  const cfg = ctx.config;
  const [keyColumn] = Object.values(cfg.key) as [string];
  const text = cfg.query?.trim().replace(/;+\s*$/, '');
  const from = text === undefined ? qualified(cfg.dbSchema, cfg.table!) : `(\n${text}\n)`;
  const what = text === undefined ? `${cfg.dbSchema}.${cfg.table}` : 'the lookup query';
  const qk = `t.${quoteIdent(keyColumn)}`;
  const cols = cfg.fields ? identList([...new Set([keyColumn, ...Object.keys(cfg.fields)])]) : 't.*';
  const sql = `SELECT ${cols}, ${qk}::text AS ${quoteIdent(KEY_ALIAS)} FROM ${from} AS t WHERE ${qk} = ANY($1)`;
  const project = projector(cfg.fields, keyColumn);
  let conn: PgConnection | undefined;
  let opening: Promise<{ conn: PgConnection; normalise: (k: string) => string | undefined }> | undefined;
  let fields: string[] | undefined = cfg.fields ? Object.values(cfg.fields) : undefined;

  const open = async () => {
    conn = await connect(cfg.url!, {
      where: ctx.componentId,
      utc: true,
      guard: ctx.guardConnect,
      net: ctx,
      onError: (err) => ctx.log.warn(`connection to PostgreSQL lost: ${err.message}`),
    });
    // The key column's type and the columns there are, without reading a row.
    let probe: pg.QueryResult;
    try {
      probe = await conn.client.query(
        `SELECT ${cols}, ${qk} AS ${quoteIdent(KEY_ALIAS)} FROM ${from} AS t WHERE false`,
      );
    } catch (err) {
      throw pgError(err, ctx.componentId, conn.target, `look up in ${what}`);
    }
    const keyField = probe.fields.find((f) => f.name === KEY_ALIAS)!;
    fields ??= probe.fields.map((f) => f.name).filter((n) => n !== KEY_ALIAS && n !== keyColumn);
    return { conn, normalise: normaliser(keyField.dataTypeID) };
  };

  return {
    async fetch(keys) {
      opening ??= open();
      const { conn, normalise } = await opening;
      // Keys that print alike in the column ("7" and "07" in an integer column) share one result.
      const asked = new Map<string, string[]>();
      for (const k of keys) {
        const n = normalise(k);
        if (n === undefined) continue;
        const same = asked.get(n);
        if (same) same.push(k);
        else asked.set(n, [k]);
      }
      const found = new Map<string, Row>();
      if (asked.size === 0) return found;
      let res: { rows: Record<string, unknown>[] };
      try {
        res = await conn.client.query({ text: sql, values: [[...asked.keys()]] });
      } catch (err) {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        throw pgError(err, ctx.componentId, conn.target, `look up in ${what}`);
      }
      for (const rec of res.rows) {
        const originals = asked.get(rec[KEY_ALIAS] as string);
        // A key matching several rows takes one of them: the lookup table's key should be unique.
        if (!originals || found.has(originals[0]!)) continue;
        delete rec[KEY_ALIAS];
        const row = project(rec);
        for (const k of originals) found.set(k, row);
      }
      return found;
    },
    fields: () => fields,
    async close() {
      // A connection still being opened is closed once it is: a cancel during connect leaks none.
      const pending = opening;
      opening = undefined;
      await pending?.catch(() => undefined);
      const c = conn;
      conn = undefined;
      await c?.client.end().catch(() => undefined);
    },
  };
}
