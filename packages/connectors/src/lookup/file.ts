import {
  type ComponentContext,
  ErrorCode,
  FatalError,
  Registry,
  type Row,
  type SourceContext,
  type SourceDefinition,
} from '@sluice/core';
import { csvSource } from '../csv/source.ts';
import { jsonSource } from '../json/source.ts';
import { ndjsonSource } from '../ndjson/source.ts';
import { parquetSource } from '../parquet/source.ts';
import { type LookupBackend, projector } from './backend.ts';
import { sizeOf } from './cache.ts';
import { cacheOptions, formatOf, type LookupConfig } from './config.ts';

const SOURCES: Record<string, SourceDefinition> = {
  csv: csvSource as SourceDefinition,
  ndjson: ndjsonSource as SourceDefinition,
  json: jsonSource as SourceDefinition,
  parquet: parquetSource as SourceDefinition,
};

const registry = new Registry();

/**
 * Reads a whole file (any location, any of the file sources' formats) into a map by key, through
 * the file source of its format, so it parses exactly as that source would. `path` is resolved as
 * the sources resolve theirs; a dataset resolved to a local Parquet file plugs in as such a path.
 * The map's estimated size is held to `maxBytes`: a bigger file fails with the limit named.
 */
export async function loadTable(
  ctx: ComponentContext<LookupConfig>,
  path: string,
): Promise<{ rows: Map<string, Row>; fields: string[] }> {
  const cfg = ctx.config;
  const format = cfg.format ?? formatOf(path)!;
  const def = SOURCES[format]!;
  const [keyField] = Object.values(cfg.key) as [string];
  const { maxBytes } = cacheOptions(cfg);
  const where = `${ctx.componentId}: lookup file ${path}`;
  const sourceCtx: SourceContext<unknown> = {
    ...ctx,
    config: registry.validate(def, { path }, 'with'),
    resumeFrom: undefined,
    state: { get: () => undefined, set: () => undefined },
    setOrigin: () => undefined,
    quarantine: (e) => {
      throw new FatalError(
        `${where}: ${e.reason}${e.line ? ` (line ${e.line})` : ''} — fix the lookup file`,
        {
          code: ErrorCode.VALIDATION,
        },
      );
    },
  };
  const project = projector(cfg.fields, keyField);
  const rows = new Map<string, Row>();
  const fields = new Set<string>(cfg.fields ? Object.values(cfg.fields) : []);
  let bytes = 0;
  for await (const batch of def.read(sourceCtx)) {
    for (const rec of batch.rows) {
      const k = rec[keyField];
      if (k === undefined || k === null || k === '') continue;
      const key = String(k);
      if (rows.has(key)) continue; // the first row of a key wins, as in the other backends
      const row = project(rec);
      bytes += 96 + 2 * key.length + sizeOf(row);
      if (bytes > maxBytes)
        throw new FatalError(
          `${where} holds more than cache.maxBytes (${maxBytes} bytes, estimated in memory) after ${rows.size} rows — ` +
            'raise cache.maxBytes, or look up in a database instead',
          { code: ErrorCode.CONFIG },
        );
      rows.set(key, row);
      if (!cfg.fields) for (const f in row) fields.add(f);
    }
  }
  return { rows, fields: [...fields] };
}

/** Looks rows up in a file loaded whole on the first batch (see loadTable); nothing to close. */
export function fileBackend(
  ctx: ComponentContext<LookupConfig>,
  path: () => Promise<string> = async () => ctx.config.path!,
): LookupBackend {
  let loading: Promise<{ rows: Map<string, Row>; fields: string[] }> | undefined;
  let fields: string[] | undefined;
  return {
    async fetch(keys) {
      loading ??= path().then((p) => loadTable(ctx, p));
      const table = await loading;
      fields = table.fields;
      const found = new Map<string, Row>();
      for (const k of keys) {
        const row = table.rows.get(k);
        if (row !== undefined) found.set(k, row);
      }
      return found;
    },
    fields: () => fields,
    async close() {
      loading = undefined;
    },
  };
}
