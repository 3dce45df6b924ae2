import { type FileHandle, mkdir, open, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Type } from '@sinclair/typebox';
import {
  ErrorCode,
  type Json,
  type Row,
  type SinkContext,
  type SinkResult,
  SluiceError,
  verifyMismatch,
} from '@sluice/core';
import type { RowGroup, SchemaElement } from 'hyparquet';
import { ParquetWriter } from 'hyparquet-writer';
import type { FinalFile } from '../shared/final-file.ts';
import { checkFinal, outputTarget } from '../shared/output-target.ts';
import { compilePick, type Pick } from '../shared/pick.ts';
import { Resume, resumeState } from '../shared/resume-state.ts';
import type { ParquetColumnType, ParquetSinkConfig } from './config.ts';
import {
  CODECS,
  FileByteWriter,
  fromJsonTagged,
  toJsonTagged,
  type WriteCompressors,
  writeCompressors,
} from './file-writer.ts';
import { readFooter } from './footer.ts';
import { encodeStrings, mostlyDistinct } from './plain-strings.ts';
import { columnTypes, convert, schemaElements, typeOfElement } from './schema.ts';

// hyparquet-writer bundles its own copy of hyparquet's types; the shapes are the same.
type WriterSchema = ConstructorParameters<typeof ParquetWriter>[0]['schema'];
type WriterRowGroups = ParquetWriter['row_groups'];

/**
 * The parquet sink's file: row groups go to `<path>.partial` (a local staging file for a remote
 * path), and `close` writes the footer and renames (or uploads) it into place. Parquet's footer
 * describes every row group, so a checkpoint keeps their metadata: a resumed run truncates the
 * partial file to the checkpoint, writes more row groups after it and one footer for them all.
 */
export class ParquetOutput {
  readonly #ctx: SinkContext<ParquetSinkConfig>;
  readonly #where: string;
  readonly #partial: string;
  readonly #final: FinalFile;
  readonly #compressors: WriteCompressors;
  #handle: FileHandle | undefined;
  #writer: FileByteWriter | undefined;
  #parquet: ParquetWriter | undefined;
  #columns: [string, ParquetColumnType][] | undefined;
  /** The first row group's rows, held until they fix the columns. */
  #buffer: Row[] = [];
  /** The row group being filled, as column values, once the columns are known. */
  #group: Group | undefined;
  /** Rows in the file, those of earlier attempts (or the file appended to) included. */
  #rows = 0;
  #startRows = 0;
  #appending = false;
  /** A resume found the output already published by the run it resumes. */
  #closed = false;

  private constructor(
    ctx: SinkContext<ParquetSinkConfig>,
    partial: string,
    final: FinalFile,
    compressors: WriteCompressors,
  ) {
    this.#ctx = ctx;
    this.#compressors = compressors;
    this.#where = `${ctx.componentId}: config.path`;
    this.#partial = partial;
    this.#final = final;
  }

  static async create(ctx: SinkContext<ParquetSinkConfig>): Promise<ParquetOutput> {
    const where = `${ctx.componentId}: config.path`;
    const { file, final } = await outputTarget(ctx, where);
    return new ParquetOutput(ctx, `${file}.partial`, final, await writeCompressors());
  }

  async start(resume: Json | undefined): Promise<void> {
    this.#ctx.signal.throwIfAborted();
    await mkdir(dirname(this.#partial), { recursive: true });
    if (resume === undefined) {
      await this.#checkFinal();
      this.#open(await open(this.#partial, 'w+'), 0);
      return;
    }
    const state = toState(resume, this.#where);
    const size = (await stat(this.#partial).catch(() => undefined))?.size;
    if (size === undefined && typeof (await this.#final.size()) === 'number') {
      // Published by the run being resumed, which crashed before recording its success.
      this.#closed = true;
      return;
    }
    if (size === undefined || size < state.bytes) {
      throw new SluiceError(
        ErrorCode.CHECKPOINT,
        `${this.#where}: cannot resume: the checkpoint expects ${this.#partial} to hold ${state.bytes} bytes ` +
          `(${state.rows} rows), but it ${size === undefined ? 'does not exist' : `holds ${size}`}. Rerun without --resume.`,
      );
    }
    await this.#checkFinal();
    const handle = await open(this.#partial, 'r+');
    await handle.truncate(state.bytes);
    this.#open(handle, state.bytes);
    this.#rows = this.#startRows = state.rows;
    if (state.schema !== null) {
      const schema = fromJsonTagged(state.schema as Json) as SchemaElement[];
      this.#resumeWriter(schema, fromJsonTagged(state.rowGroups as Json) as RowGroup[]);
    }
  }

  /** A quarantine replay: the final file's row groups are kept and new ones follow them. */
  async startAppend(resume: Json | undefined): Promise<void> {
    this.#appending = true;
    if (resume !== undefined) return this.start(resume);
    await this.#checkFinal();
    await mkdir(dirname(this.#partial), { recursive: true });
    if (typeof (await this.#final.size()) !== 'number') return this.start(undefined);
    await this.#final.fetch(this.#partial);
    const handle = await open(this.#partial, 'r+');
    const { size } = await handle.stat();
    const meta = await readFooter(handle, size, `${this.#where}: ${this.#final.name}`);
    // The footer is cut off; the row groups (and any page indexes) before it stay where they are.
    const body = size - 8 - meta.metadata_length;
    await handle.truncate(body);
    this.#open(handle, body);
    this.#rows = this.#startRows = Number(meta.num_rows);
    this.#resumeWriter(meta.schema, meta.row_groups);
  }

  async write(rows: Row[]): Promise<void> {
    const size = this.#ctx.config.rowGroupSize;
    for (const row of rows) {
      // Once the columns are known (after the first row group), rows become column values as
      // they come and die young; the first group's rows are held to infer the columns from.
      if (this.#group) this.#take(row);
      else this.#buffer.push(row);
      if ((this.#group?.count ?? this.#buffer.length) >= size) await this.#flushGroup();
    }
  }

  async commit(): Promise<Json> {
    this.#noRowsIfClosed();
    await this.#flushGroup();
    const writer = this.#writer!;
    await writer.flush();
    await this.#handle!.sync();
    return {
      bytes: writer.offset,
      rows: this.#rows,
      schema: this.#parquet ? toJsonTagged(this.#parquet.schema) : null,
      rowGroups: toJsonTagged(this.#parquet?.row_groups ?? []),
    };
  }

  async close(): Promise<SinkResult> {
    if (this.#closed) return { rowsWritten: 0, location: this.#final.name };
    await this.#flushGroup();
    // No row at all: a file with the declared columns (or none), still a valid Parquet file.
    this.#parquet ??= this.#newWriter(Object.entries(this.#ctx.config.schema ?? {}));
    await this.#parquet.finish();
    const handle = this.#handle!;
    await handle.sync();
    const bytes = this.#writer!.offset;
    const { size } = await handle.stat();
    const meta = await readFooter(handle, size, `${this.#where}: ${this.#partial}`);
    await handle.close();
    this.#handle = undefined;
    // The whole file, rows before a resumed checkpoint included, as the other file sinks and the
    // engine report it: a resumed run's report then shows the rows the file holds.
    const verification = {
      level: 'count' as const,
      rowsHanded: this.#rows,
      rowsFound: Number(meta.num_rows),
    };
    if (size !== bytes || verification.rowsFound !== verification.rowsHanded) {
      throw verifyMismatch(
        this.#ctx.componentId,
        `${this.#partial} (${bytes} bytes written, ${size} on disk)`,
        verification,
      );
    }
    await this.#checkFinal();
    await this.#final.publish(this.#partial);
    return { rowsWritten: this.#rows - this.#startRows, bytes, location: this.#final.name, verification };
  }

  async abort(): Promise<void> {
    this.#buffer = [];
    this.#group = undefined;
    const handle = this.#handle;
    this.#handle = undefined;
    await handle?.close();
  }

  #open(handle: FileHandle, at: number): void {
    this.#handle = handle;
    this.#writer = new FileByteWriter(handle, at);
  }

  #newWriter(columns: [string, ParquetColumnType][]): ParquetWriter {
    this.#columns = columns;
    this.#group = this.#newGroup();
    return new ParquetWriter({
      writer: this.#writer!,
      schema: schemaElements(columns) as WriterSchema,
      codec: CODECS[this.#ctx.config.compression],
      compressors: this.#compressors,
      createdBy: 'sluice',
    });
  }

  #resumeWriter(schema: SchemaElement[], rowGroups: RowGroup[]): void {
    const columns = schema.slice(1).map((e): [string, ParquetColumnType] => {
      const t = typeOfElement(e);
      if (t === undefined || (e.num_children ?? 0) > 0) {
        throw new SluiceError(
          ErrorCode.CONFIG,
          `${this.#where}: cannot append to ${this.#final.name}: its column ${e.name} (${e.type}` +
            `${e.converted_type ? ` ${e.converted_type}` : ''}) is not one this sink writes. Write the rows to a new file.`,
        );
      }
      return [e.name, t];
    });
    this.#columns = columns;
    this.#group = this.#newGroup();
    this.#parquet = new ParquetWriter({
      writer: this.#writer!,
      schema: schema as WriterSchema,
      codec: CODECS[this.#ctx.config.compression],
      compressors: this.#compressors,
      createdBy: 'sluice',
    });
    // The constructor wrote the leading magic again; the file already has it.
    this.#writer!.discard();
    this.#parquet.row_groups = rowGroups as WriterRowGroups;
    this.#parquet.num_rows = rowGroups.reduce((n, g) => n + g.num_rows, 0n);
  }

  /** Encodes the buffered rows as one row group; rows that do not fit the columns go to quarantine. */
  async #flushGroup(): Promise<void> {
    const rows = this.#buffer;
    if (rows.length > 0) {
      this.#noRowsIfClosed();
      this.#buffer = [];
      this.#parquet ??= this.#newWriter(columnTypes(rows, this.#ctx.config.schema));
      for (const row of rows) this.#take(row);
    }
    const group = this.#group;
    if (group === undefined || group.count === 0) return;
    this.#noRowsIfClosed();
    this.#group = this.#newGroup();
    this.#ctx.signal.throwIfAborted();
    // No page indexes: they sit after the row groups and are not kept across a checkpoint.
    await this.#parquet!.write({
      columnData: this.#columns!.map(([name, type], c) => {
        const data = group.data[c]!;
        if (type !== 'string' || !mostlyDistinct(data))
          return { name, data: data as never, offsetIndex: false };
        encodeStrings(data);
        return { name, data: data as never, offsetIndex: false, encoding: 'PLAIN' as const };
      }),
      rowGroupSize: group.count,
    });
    this.#rows += group.count;
  }

  /** Adds a row to the row group being filled, or sends it to quarantine when it does not fit the columns. */
  #take(row: Row): void {
    const group = this.#group!;
    const columns = this.#columns!;
    for (const k in row) {
      const v = row[k];
      if (!group.known.has(k) && v !== null && v !== undefined) {
        this.#ctx.quarantine({
          reason: `field ${k} is not a column of the file (${[...group.known].join(', ')}); name it in config.schema`,
          row,
        });
        return;
      }
    }
    const { cells, types } = group;
    group.pick(row, cells);
    for (let c = 0; c < columns.length; c++) {
      const v = cells[c];
      const type = types[c]!;
      // Values already in the form the writer takes go as they are: no conversion result per cell
      // (these objects were most of W5's sink time outside hyparquet-writer).
      if (v === null || v === undefined) cells[c] = null;
      else if (type === 'json' || typeof v === SAME_FORM[type]) continue;
      else {
        const r = convert(v, type);
        if (!r.ok) {
          this.#ctx.quarantine({ reason: `column ${columns[c]![0]} (${type}): ${r.reason}`, row });
          return;
        }
        cells[c] = r.value;
      }
    }
    for (let c = 0; c < columns.length; c++) group.data[c]!.push(cells[c]);
    group.count++;
  }

  #newGroup(): Group {
    const columns = this.#columns!;
    return {
      pick: compilePick(columns.map(([n]) => n)),
      types: columns.map(([, t]) => t),
      known: new Set(columns.map(([n]) => n)),
      data: columns.map(() => []),
      cells: new Array(columns.length),
      count: 0,
    };
  }

  #noRowsIfClosed(): void {
    if (!this.#closed) return;
    throw new SluiceError(
      ErrorCode.CHECKPOINT,
      `${this.#where}: ${this.#final.name} was already completed by the run being resumed, yet rows arrived for it; rerun without --resume`,
    );
  }

  async #checkFinal(): Promise<void> {
    await checkFinal(this.#final, this.#ctx.config.overwrite || this.#appending, this.#where);
  }
}

/** The column types whose values the writer takes as they come, and the JS type of those values. */
const SAME_FORM: Partial<Record<ParquetColumnType, string>> = {
  string: 'string',
  number: 'number',
  boolean: 'boolean',
};

/** A row group being filled: each column's values, and the row being converted. */
interface Group {
  /** Copies a row's values of the columns, in order, into `cells`. */
  pick: Pick;
  types: ParquetColumnType[];
  known: Set<string>;
  data: unknown[][];
  cells: unknown[];
  count: number;
}

const toState = resumeState(
  Type.Object({
    bytes: Resume.bytes,
    rows: Resume.rows,
    schema: Type.Unknown(),
    rowGroups: Type.Unknown(),
  }),
  'sink',
);
