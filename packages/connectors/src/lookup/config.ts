import { type Static, Type } from '@sinclair/typebox';
import type { Issue } from '@sluice/core';
import { parseSize, SIZE } from '../shared/size.ts';
import type { CacheOptions } from './cache.ts';

const DURATION = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/;

const Cache = Type.Object(
  {
    policy: Type.Unsafe<'lru' | 'lfu' | 'ttl'>({
      type: 'string',
      enum: ['lru', 'lfu', 'ttl'],
      default: 'lru',
      description:
        'Which entry makes room when the cache is full: `lru` the least recently used, `lfu` the least ' +
        'frequently used (better when a few keys are hot and the rest are seen once), `ttl` like `lru` ' +
        'but every entry also expires `ttl` after it was fetched (for data that changes during a run).',
      examples: ['lru', 'lfu'],
    }),
    maxEntries: Type.Integer({
      minimum: 1,
      default: 100_000,
      description:
        'Keys kept at most, found or not (a key not found is cached too, so asking again costs nothing).',
      examples: [100_000],
    }),
    maxBytes: Type.Union([Type.Integer({ minimum: 1 }), Type.String({ pattern: SIZE.source })], {
      default: '64MiB',
      description:
        'Memory the cache may hold, estimated from its keys and values: a number of bytes or a size such as ' +
        '`64MiB`, `512KiB`, `1GiB`. For `from: file` it bounds the whole file, which is held in memory.',
      examples: ['64MiB', 268435456],
    }),
    ttl: Type.Optional(
      Type.Union([Type.Number({ exclusiveMinimum: 0 }), Type.String({ pattern: DURATION.source })], {
        description:
          'How long an entry lives after it was fetched: seconds, or a duration such as `500ms`, `30s`, `10m`, ' +
          '`2h`. Required by the `ttl` policy, optional with `lru`, refused with `lfu`.',
        examples: ['10m', 30],
      }),
    ),
    compress: Type.Boolean({
      default: false,
      description:
        'Keep values deflated: wide looked-up rows take less memory, at the cost of inflating one per row.',
    }),
  },
  {
    additionalProperties: false,
    description: 'The step’s cache of looked-up rows, one per step and process.',
  },
);

export const LookupConfig = Type.Object(
  {
    from: Type.Unsafe<'postgres' | 'redis' | 'file' | 'dataset'>({
      type: 'string',
      enum: ['postgres', 'redis', 'file', 'dataset'],
      description:
        'Where rows are looked up: a PostgreSQL table or query, Redis keys (hashes or JSON strings), a ' +
        'file (CSV, NDJSON, JSON, Parquet) or a dataset an earlier step wrote, loaded into memory once.',
      examples: ['postgres', 'redis', 'file', 'dataset'],
    }),
    url: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'postgres: postgres://user:password@host:5432/db; redis: redis://user:password@host:6379/0.',
        examples: ['postgres://etl@localhost:5432/shop', 'redis://127.0.0.1:6379'],
      }),
    ),
    table: Type.Optional(
      Type.String({ minLength: 1, description: 'postgres: the table to look rows up in (or give `query`).' }),
    ),
    dbSchema: Type.String({
      minLength: 1,
      default: 'public',
      description: 'postgres: the PostgreSQL schema of `table` (named as on the postgres source and sink).',
    }),
    query: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'postgres: a SELECT whose rows are looked up (instead of `table`); it must return the key column. ' +
          'It runs once per batch as a subquery filtered by `key = ANY(…)`.',
        examples: ['SELECT id, name, tier FROM customers WHERE active'],
      }),
    ),
    keyPrefix: Type.String({
      default: '',
      description: 'redis: prefix of the keys: a row whose key field is 42 reads the key `${keyPrefix}42`.',
      examples: ['customer:'],
    }),
    valueType: Type.Unsafe<'hash' | 'json'>({
      type: 'string',
      enum: ['hash', 'json'],
      default: 'hash',
      description:
        'redis: how values are stored: `hash` (HGETALL, one pipelined round trip per batch) or `json` strings ' +
        'holding an object (MGET, one command per batch).',
    }),
    path: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'file: the file to load, local or remote (s3://, sftp://, https://) as for the file sources.',
        examples: ['ref/customers.csv', 's3://ref/customers.parquet'],
      }),
    ),
    dataset: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'dataset: the name of a dataset an earlier step of the run wrote (`sink: dataset`); the step must ' +
          'need that step.',
        examples: ['customers'],
      }),
    ),
    format: Type.Optional(
      Type.Unsafe<'csv' | 'ndjson' | 'json' | 'parquet'>({
        type: 'string',
        enum: ['csv', 'ndjson', 'json', 'parquet'],
        description:
          'file: its format; default: from the extension of `path` (.csv, .ndjson/.jsonl, .json, .parquet).',
      }),
    ),
    key: Type.Record(Type.String({ minLength: 1 }), Type.String({ minLength: 1 }), {
      minProperties: 1,
      maxProperties: 1,
      description:
        'The row field whose value is looked up, and what it matches: the column (postgres), the key suffix ' +
        '(redis) or the field (file). Values compare as text: 42 and "42" are one key. A row whose key field is ' +
        'missing, null or empty is a miss.',
      examples: [{ customer_id: 'id' }],
    }),
    fields: Type.Optional(
      Type.Record(Type.String({ minLength: 1 }), Type.String({ minLength: 1 }), {
        minProperties: 1,
        description:
          'Looked-up column → the row field it is written to. Default: every column but the key, under its own name.',
        examples: [{ name: 'customer_name', tier: 'customer_tier' }],
      }),
    ),
    onMiss: Type.Unsafe<'keep' | 'quarantine' | 'fail'>({
      type: 'string',
      enum: ['keep', 'quarantine', 'fail'],
      default: 'keep',
      description:
        'A row whose key is not found: `keep` passes it on with the looked-up fields set to null (those known), ' +
        '`quarantine` sets it aside with the key and its value as reason, `fail` stops the step.',
    }),
    cache: Type.Optional(Cache),
  },
  { additionalProperties: false },
);
export type LookupConfig = Static<typeof LookupConfig>;

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1e3, m: 6e4, h: 36e5, d: 864e5 };

/** `10m` → 600000 ms; a number is seconds. */
export function parseDuration(v: number | string): number {
  if (typeof v === 'number') return v * 1000;
  const m = DURATION.exec(v);
  return m ? Number(m[1]) * DURATION_UNITS[m[2]!]! : Number.NaN;
}

export function cacheOptions(cfg: LookupConfig): CacheOptions {
  const c = cfg.cache;
  return {
    policy: c?.policy ?? 'lru',
    maxEntries: c?.maxEntries ?? 100_000,
    maxBytes: parseSize(c?.maxBytes ?? '64MiB'),
    ttlMs: c?.ttl === undefined ? undefined : parseDuration(c.ttl),
    compress: c?.compress ?? false,
  };
}

const ONLY: Record<string, LookupConfig['from'][]> = {
  url: ['postgres', 'redis'],
  table: ['postgres'],
  query: ['postgres'],
  path: ['file'],
  format: ['file'],
  dataset: ['dataset'],
};

/** Options that need or exclude each other, by `from`, beyond what the schema says. */
export function checkLookup(cfg: LookupConfig): Issue[] {
  const issues: Issue[] = [];
  const bad = (path: string, message: string) => issues.push({ path, message });
  for (const [opt, froms] of Object.entries(ONLY))
    if ((cfg as Record<string, unknown>)[opt] !== undefined && !froms.includes(cfg.from))
      bad(opt, `applies to from: ${froms.join(' or ')}, not from: ${cfg.from}; remove it`);
  if (cfg.from !== 'redis' && cfg.keyPrefix !== '')
    bad('keyPrefix', 'applies to from: redis only; remove it');
  if ((cfg.from === 'postgres' || cfg.from === 'redis') && cfg.url === undefined)
    bad('url', `from: ${cfg.from} needs the url of the server`);
  if (cfg.from === 'postgres' && (cfg.table === undefined) === (cfg.query === undefined))
    bad('table', 'give either table or query, not both and not neither');
  if (cfg.from === 'file' && cfg.path === undefined)
    bad('path', 'from: file needs the path of the file to load');
  if (cfg.from === 'dataset' && cfg.dataset === undefined)
    bad('dataset', 'from: dataset needs the name of the dataset to load');
  if (cfg.from === 'file' && cfg.path !== undefined && cfg.format === undefined && !formatOf(cfg.path))
    bad(
      'format',
      `cannot tell the format of ${cfg.path} from its extension: set format (csv, ndjson, json, parquet)`,
    );
  const c = cfg.cache;
  if (c) {
    if (c.policy === 'ttl' && c.ttl === undefined) bad('cache.ttl', 'the ttl policy needs a ttl, e.g. 10m');
    if (c.policy === 'lfu' && c.ttl !== undefined)
      bad('cache.ttl', 'lfu keeps entries by use, not age: remove ttl or use policy lru or ttl');
  }
  return issues;
}

/** The file format an extension says (compressed files too: `x.csv.gz` is csv), if any. */
export function formatOf(path: string): 'csv' | 'ndjson' | 'json' | 'parquet' | undefined {
  const p = path.toLowerCase().replace(/\.(gz|zst|zstd|br)$/, '');
  if (p.endsWith('.csv')) return 'csv';
  if (p.endsWith('.ndjson') || p.endsWith('.jsonl')) return 'ndjson';
  if (p.endsWith('.json')) return 'json';
  if (p.endsWith('.parquet')) return 'parquet';
  return undefined;
}

/** A stored credential's part of the config: the url, password included (postgres and redis). */
export const LookupCredential = Type.Object(
  {
    url: Type.String({
      minLength: 1,
      writeOnly: true,
      description:
        'The url with its password: postgres://user:password@host:5432/db or redis://user:password@host:6379',
      examples: ['postgres://etl:secret@db.internal:5432/warehouse'],
    }),
  },
  { additionalProperties: false },
);
