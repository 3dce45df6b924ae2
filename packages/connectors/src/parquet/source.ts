import { Type } from '@sinclair/typebox';
import {
  defineSource,
  ErrorCode,
  type Row,
  SluiceError,
  type SourceBatch,
  type SourceContext,
} from '@sluice/core';
import type { AsyncBuffer, Compressors, FileMetaData, SchemaTree } from 'hyparquet';
import { openLocation } from '../location/index.ts';
import { globPartitions } from '../shared/file-parts.ts';
import { overFiles } from '../shared/file-set.ts';
import { type BuildRow, compileBuildRow } from '../shared/pick.ts';
import { Resume, resumeState } from '../shared/resume-state.ts';
import { locationBuffer } from './async-buffer.ts';
import { type ParquetSourceConfig, parquetSourceConfig } from './config.ts';
import {
  type ColumnPiece,
  type ColumnPlan,
  chunkRange,
  FlatColumnReader,
  planColumns,
  readRanges,
} from './flat-column.ts';
import { type Convert, converter, parsers, readerSchema, Unmappable } from './values.ts';

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
  partitions: globPartitions('data/*.parquet'),
});

async function* readParquet(ctx: SourceContext<ParquetSourceConfig>): AsyncGenerator<SourceBatch> {
  const cfg = ctx.config;
  const where = `${ctx.componentId}: config.path`;
  const resume = ctx.resumeFrom === undefined ? undefined : toPosition(ctx.resumeFrom, where);
  // Loaded when a run reads Parquet, not with every command (with the writer, ~100 ms).
  const { parquetMetadataAsync, parquetSchema } = await import('hyparquet');
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
    const mapper = new RowMapper(columns, nodes);
    const reading: FileMetaData = { ...metadata, schema: readerSchema(metadata.schema) };
    const plan = await planColumns(parquetSchema(reading), columns);
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
      // One row group at a time, as columns whose pages decode as the batches reach them: memory
      // holds the group's compressed chunks and a page or so of each column's values, never the
      // file's, and each row object is made once, per batch, so it dies young (reading rows as
      // objects and mapping them into new ones spent ~30% of W5's time in the garbage collector).
      const what = `${where}: ${entry.url} row group ${g}`;
      const group = await parse(what, () =>
        readColumns(what, file, reading, plan, g, groupStart, from, groupRows),
      );
      const cursors = columns.map((c) => group.get(c)!);
      const count = groupRows - from;
      for (let i = 0; i < count; ) {
        ctx.signal.throwIfAborted();
        const end = Math.min(count, i + cfg.batchSize);
        const rows: Row[] = [];
        for (; i < end; i++) {
          let row: Row | Unmapped;
          try {
            row = mapper.row(cursors, groupStart + from + i);
          } catch (err) {
            // A page that cannot be decoded: the rows before it are handed on first.
            if (rows.length > 0)
              yield {
                rows,
                position: { rowGroup: g, row: from + i },
                progress: { done: groupStart + from + i, total },
              };
            throw err;
          }
          if (!(row instanceof Unmapped)) rows.push(row);
          else {
            ctx.quarantine({
              reason: `row group ${g}, row ${from + i}: column ${row.column}: ${row.error.message}`,
              row: row.partial,
            });
          }
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

/** A row group's columns, each read by row of the file in increasing order. */
type GroupColumns = Map<string, ColumnCursor>;

/**
 * A column's values in pieces (pages, as they decode), looked up by increasing row: a piece is let
 * go once a row past it is asked for, and the next one is pulled only then.
 */
class ColumnCursor {
  readonly #what: string;
  readonly #pull: () => ColumnPiece | undefined;
  #piece: ColumnPiece | undefined;

  /** `what`: the file, row group and column, for the error of a page that cannot be decoded. */
  constructor(what: string, pull: () => ColumnPiece | undefined) {
    this.#what = what;
    this.#pull = pull;
  }

  at(index: number): unknown {
    for (;;) {
      const piece = this.#piece;
      if (piece && index >= piece.start && index < piece.start + piece.data.length)
        return piece.data[index - piece.start];
      try {
        this.#piece = this.#pull();
      } catch (err) {
        throw unreadable(this.#what, err);
      }
      if (!this.#piece)
        throw unreadable(this.#what, new Error(`its pages end before row ${index} of the file`));
    }
  }
}

/**
 * The planned columns of rows [from, to) of row group `g`, which starts at row `groupStart` of the
 * file; `what` names the group in errors.
 */
async function readColumns(
  what: string,
  file: AsyncBuffer,
  metadata: FileMetaData,
  { flat, nested }: ColumnPlan,
  g: number,
  groupStart: number,
  from: number,
  to: number,
): Promise<GroupColumns> {
  const { compressors } = await import('hyparquet-compressors');
  const chunks = metadata.row_groups[g]!.columns;
  const metas = flat.map(({ name }) => {
    const chunk = chunks.find((c) => c.meta_data?.path_in_schema[0] === name);
    if (!chunk?.meta_data || chunk.file_path)
      throw new Error(`row group ${g} has no column chunk of ${name} in this file`);
    return chunk.meta_data;
  });
  const options = { parsers, compressors, utf8: false };
  const out: GroupColumns = new Map();
  // Nested columns are decoded by hyparquet while the flat columns' chunks are fetched: two
  // requests in flight on a remote store, as before.
  const [bytes, nestedPieces] = await Promise.all([
    readRanges(file, metas.map(chunkRange)),
    nested.length === 0
      ? undefined
      : readNested(file, metadata, nested, compressors, [groupStart + from, groupStart + to]),
  ]);
  // Flat columns' pages decode as the batches reach them: memory holds the group's compressed
  // chunks and a page or two of values per column, not the group's values.
  for (let i = 0; i < flat.length; i++) {
    const reader = await FlatColumnReader.open({
      chunk: bytes[i]!,
      meta: metas[i]!,
      schemaPath: flat[i]!.path,
      options,
      groupStart,
      selectStart: from,
    });
    out.set(flat[i]!.name, new ColumnCursor(`${what} column ${flat[i]!.name}`, () => reader.next()));
  }
  for (const [name, list] of nestedPieces ?? [])
    out.set(name, new ColumnCursor(`${what} column ${name}`, () => list.shift()));
  return out;
}

/** Nested columns' values of file rows [rowStart, rowEnd), by hyparquet, in pieces sorted by row. */
async function readNested(
  file: AsyncBuffer,
  metadata: FileMetaData,
  columns: string[],
  compressors: Compressors,
  [rowStart, rowEnd]: [number, number],
): Promise<Map<string, ColumnPiece[]>> {
  const { parquetRead } = await import('hyparquet');
  const pieces = new Map<string, ColumnPiece[]>(columns.map((c) => [c, []]));
  await parquetRead({
    file,
    metadata,
    columns,
    rowStart,
    rowEnd,
    compressors,
    utf8: false,
    parsers,
    // A piece may begin before rowStart (a page is decoded whole); its rowStart says where.
    onChunk: ({ columnName, columnData, rowStart: start }) => {
      pieces.get(columnName)?.push({ start, data: columnData });
    },
  });
  for (const list of pieces.values()) list.sort((a, b) => a.start - b.start);
  return pieces;
}

/** A row that cannot be made: its column, why, and the values read before it (the column null). */
class Unmapped {
  constructor(
    readonly column: string,
    readonly error: Unmappable,
    readonly partial: Row,
  ) {}
}

/** Makes rows from a row group's column cursors, in `columns` order. */
class RowMapper {
  readonly #columns: string[];
  readonly #convert: Convert[];
  readonly #build: BuildRow;
  readonly #values: unknown[];

  constructor(columns: string[], nodes: Map<string, SchemaTree>) {
    this.#columns = columns;
    this.#convert = columns.map((c) => converter(nodes.get(c)!));
    this.#build = compileBuildRow(columns);
    // Filled, not sparse: a quarantined row's values are mapped (see row), and map skips holes.
    this.#values = new Array(columns.length).fill(undefined);
  }

  row(cursors: readonly ColumnCursor[], index: number): Row | Unmapped {
    const values = this.#values;
    const convert = this.#convert;
    for (let c = 0; c < cursors.length; c++) {
      try {
        values[c] = convert[c]!(cursors[c]!.at(index));
      } catch (err) {
        if (!(err instanceof Unmappable)) throw err;
        // The columns after it are left undefined: a quarantine entry, as JSON, has none of them.
        const partial = values.map((v, k) => (k < c ? v : k === c ? null : undefined));
        return new Unmapped(this.#columns[c]!, err, this.#build(partial));
      }
    }
    return this.#build(values);
  }
}

/** hyparquet's errors (a truncated file, an unknown codec) name the file and what to do. */
async function parse<T>(what: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    throw unreadable(what, err);
  }
}

function unreadable(what: string, err: unknown): unknown {
  if (err instanceof SluiceError || (err as Error).name === 'AbortError') return err;
  return new SluiceError(
    ErrorCode.CONFIG,
    `${what}: cannot read it as Parquet: ${(err as Error).message}. Check that it is a complete Parquet file.`,
    { cause: err },
  );
}

const toPosition = resumeState(Type.Object({ rowGroup: Resume.index, row: Resume.index }), 'source');
