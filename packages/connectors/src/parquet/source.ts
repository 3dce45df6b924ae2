import { Type } from '@sinclair/typebox';
import {
  defineSource,
  ErrorCode,
  type Row,
  SluiceError,
  type SourceBatch,
  type SourceContext,
} from '@sluice/core';
import { type FileMetaData, parquetMetadataAsync, parquetReadObjects, parquetSchema } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { openLocation } from '../location/index.ts';
import { overFiles } from '../shared/file-set.ts';
import { Resume, resumeState } from '../shared/resume-state.ts';
import { locationBuffer } from './async-buffer.ts';
import { type ParquetSourceConfig, parquetSourceConfig } from './config.ts';
import { parsers, readerSchema, toJson, Unmappable } from './values.ts';

/** The row group being read and the rows of it already handed on. */
type ParquetPosition = { rowGroup: number; row: number };

export const parquetSource = defineSource({
  name: 'parquet',
  version: '1.0.0',
  summary:
    'Reads Apache Parquet files (any codec) row group by row group as rows; values with no JSON form go to quarantine.',
  config: parquetSourceConfig,
  example: { path: 'data/orders.parquet', incremental: false, batchSize: 1024 },
  read: overFiles(readParquet),
});

async function* readParquet(ctx: SourceContext<ParquetSourceConfig>): AsyncGenerator<SourceBatch> {
  const cfg = ctx.config;
  const where = `${ctx.componentId}: config.path`;
  const resume = ctx.resumeFrom === undefined ? undefined : toPosition(ctx.resumeFrom, where);
  const location = await openLocation(cfg.path, cfg, ctx, where);
  try {
    const entry = await location.stat(cfg.path, ctx.signal);
    ctx.setOrigin(entry.url);
    const file = locationBuffer(location, cfg.path, entry.size, ctx.signal);
    const metadata = await parse(`${where}: ${entry.url}`, () =>
      parquetMetadataAsync(file, { parsers, geoparquet: false }),
    );
    const tree = parquetSchema(metadata);
    const nodes = new Map(tree.children.map((c) => [c.element.name, c]));
    const columns = cfg.columns ?? [...nodes.keys()];
    const unknown = columns.filter((c) => !nodes.has(c));
    if (unknown.length > 0) {
      throw new SluiceError(
        ErrorCode.CONFIG,
        `${ctx.componentId}: config.columns names ${unknown.join(', ')}, which ${entry.url} does not have; ` +
          `its columns are ${[...nodes.keys()].join(', ')}`,
      );
    }
    const reading: FileMetaData = { ...metadata, schema: readerSchema(metadata.schema) };
    const total = Number(metadata.num_rows);
    let groupStart = 0;
    for (let g = 0; g < metadata.row_groups.length; g++) {
      const groupRows = Number(metadata.row_groups[g]!.num_rows);
      const from = resume && g === resume.rowGroup ? resume.row : 0;
      if ((resume && g < resume.rowGroup) || from >= groupRows) {
        groupStart += groupRows;
        continue;
      }
      ctx.signal.throwIfAborted();
      // One row group at a time: memory holds one group's rows, never the file's.
      const raw = await parse(`${where}: ${entry.url} row group ${g}`, () =>
        parquetReadObjects({
          file,
          metadata: reading,
          columns,
          rowStart: groupStart + from,
          rowEnd: groupStart + groupRows,
          compressors,
          utf8: false,
          parsers,
        }),
      );
      for (let i = 0; i < raw.length; ) {
        ctx.signal.throwIfAborted();
        const end = Math.min(raw.length, i + cfg.batchSize);
        const rows: Row[] = [];
        for (; i < end; i++) {
          const row = mapRow(ctx, raw[i]!, columns, nodes, { rowGroup: g, row: from + i });
          if (row) rows.push(row);
          raw[i] = undefined as never;
        }
        const position: ParquetPosition = { rowGroup: g, row: from + i };
        yield { rows, position, progress: { done: groupStart + from + i, total } };
      }
      groupStart += groupRows;
    }
  } finally {
    await location.close();
  }
}

function mapRow(
  ctx: SourceContext<ParquetSourceConfig>,
  raw: Record<string, unknown>,
  columns: string[],
  nodes: Map<string, ReturnType<typeof parquetSchema>>,
  at: ParquetPosition,
): Row | undefined {
  const row: Row = {};
  for (const name of columns) {
    try {
      row[name] = toJson(raw[name], nodes.get(name)!) as Row[string];
    } catch (err) {
      if (!(err instanceof Unmappable)) throw err;
      ctx.quarantine({
        reason: `row group ${at.rowGroup}, row ${at.row}: column ${name}: ${err.message}`,
        row: { ...row, [name]: null },
      });
      return undefined;
    }
  }
  return row;
}

/** hyparquet's errors (a truncated file, an unknown codec) name the file and what to do. */
async function parse<T>(what: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    if (err instanceof SluiceError || (err as Error).name === 'AbortError') throw err;
    throw new SluiceError(
      ErrorCode.CONFIG,
      `${what}: cannot read it as Parquet: ${(err as Error).message}. Check that it is a complete Parquet file.`,
      { cause: err },
    );
  }
}

const toPosition = resumeState(Type.Object({ rowGroup: Resume.index, row: Resume.index }), 'source');
