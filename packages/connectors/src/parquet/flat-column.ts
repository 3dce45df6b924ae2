import type { AsyncBuffer, ColumnMetaData, Compressors, SchemaTree } from 'hyparquet';
import type { ColumnDecoder, DecodedArray, ParquetParsers } from 'hyparquet/src/types.js';

/** A column's values from row `start` (of the file) on. */
export interface ColumnPiece {
  start: number;
  data: ArrayLike<unknown>;
}

/** hyparquet's page decoding, loaded with the first Parquet read (see source.ts). */
type Parts = typeof import('hyparquet/src/column.js') &
  typeof import('hyparquet/src/convert.js') &
  typeof import('hyparquet/src/datapage.js') &
  typeof import('hyparquet/src/plain.js') &
  typeof import('hyparquet/src/schema.js');

let parts: Parts | undefined;

async function load(): Promise<Parts> {
  parts ??= Object.assign(
    {},
    ...(await Promise.all([
      import('hyparquet/src/column.js'),
      import('hyparquet/src/convert.js'),
      import('hyparquet/src/datapage.js'),
      import('hyparquet/src/plain.js'),
      import('hyparquet/src/schema.js'),
    ])),
  ) as Parts;
  return parts;
}

/** Where a column chunk's pages lie in the file: from its dictionary page (if any) on. */
export function chunkRange(meta: ColumnMetaData): { start: number; end: number } {
  const start = Number(meta.dictionary_page_offset || meta.data_page_offset);
  return { start, end: start + Number(meta.total_compressed_size) };
}

/**
 * The bytes of each range, read in as few reads as the gaps allow: the column chunks of a row
 * group lie side by side, so reading them together is one request to the store, not one each.
 */
export async function readRanges(
  file: AsyncBuffer,
  ranges: { start: number; end: number }[],
  maxGap = 1 << 16,
): Promise<Uint8Array[]> {
  const order = ranges.map((_, i) => i).sort((a, b) => ranges[a]!.start - ranges[b]!.start);
  const out = new Array<Uint8Array>(ranges.length);
  for (let i = 0; i < order.length; ) {
    let end = ranges[order[i]!]!.end;
    let j = i + 1;
    while (j < order.length && ranges[order[j]!]!.start - end <= maxGap)
      end = Math.max(end, ranges[order[j++]!]!.end);
    const start = ranges[order[i]!]!.start;
    const bytes = new Uint8Array(await file.slice(start, end));
    for (; i < j; i++) {
      const r = ranges[order[i]!]!;
      out[order[i]!] = bytes.subarray(r.start - start, r.end - start);
    }
  }
  return out;
}

/** How a file's selected columns are read: flat ones by FlatColumnReader, the others by hyparquet. */
export interface ColumnPlan {
  /** Flat columns and their schema paths (root, column), for FlatColumnReader. */
  flat: { name: string; path: SchemaTree[] }[];
  /** Nested or repeated columns, for hyparquet's parquetRead. */
  nested: string[];
}

/** Splits `columns` of the schema `tree` (the one the pages are decoded with) once per file. */
export async function planColumns(tree: SchemaTree, columns: string[]): Promise<ColumnPlan> {
  const { isFlatColumn } = await load();
  const plan: ColumnPlan = { flat: [], nested: [] };
  for (const name of columns) {
    const path = [tree, tree.children.find((c) => c.element.name === name)!];
    if (isFlatColumn(path)) plan.flat.push({ name, path });
    else plan.nested.push(name);
  }
  return plan;
}

/** Which flat column chunk to read, and from which row. */
export interface FlatColumnAt {
  chunk: Uint8Array;
  meta: ColumnMetaData;
  schemaPath: SchemaTree[];
  options: { parsers: Partial<ParquetParsers>; compressors: Compressors; utf8: boolean };
  /** The row of the file the row group starts at. */
  groupStart: number;
  /** The first row (of the group) wanted: pages wholly before it are skipped undecoded. */
  selectStart: number;
}

/**
 * A flat column chunk decoded one data page at a time, from the page holding row `selectStart`
 * on: the source holds the pages its current batch needs, not the row group's values.
 *
 * Why not hyparquet's own reader: it places every value of an OPTIONAL column through
 * `assembleLists`, its general Dremel assembly, pushing values one by one, even when the column is
 * flat (DuckDB, Spark and pandas write every column OPTIONAL). On W5 that was ~1.7 s of ~13 s. For
 * a flat column a definition level only says "value or null": a page without nulls is its values
 * as decoded, and one with nulls takes one pass. Everything else is hyparquet's: page headers,
 * decompression, levels, encodings, dictionaries, type conversion.
 */
export class FlatColumnReader {
  readonly #p: Parts;
  readonly #chunk: Uint8Array;
  readonly #reader: { view: DataView; offset: number };
  readonly #decoder: ColumnDecoder;
  readonly #maxDefinition: number;
  readonly #groupStart: number;
  readonly #selectStart: number;
  #dictionary: DecodedArray | undefined;
  /** Rows of the group before the next page. */
  #row = 0;

  private constructor(p: Parts, { chunk, meta, schemaPath, options, groupStart, selectStart }: FlatColumnAt) {
    this.#p = p;
    this.#chunk = chunk;
    this.#reader = { view: new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength), offset: 0 };
    this.#decoder = {
      pathInSchema: meta.path_in_schema,
      type: meta.type,
      element: schemaPath[schemaPath.length - 1]!.element,
      schemaPath,
      codec: meta.codec,
      compressors: options.compressors,
      utf8: options.utf8,
      parsers: { ...p.DEFAULT_PARSERS, ...options.parsers },
    };
    this.#maxDefinition = p.getMaxDefinitionLevel(schemaPath);
    this.#groupStart = groupStart;
    this.#selectStart = selectStart;
  }

  static async open(at: FlatColumnAt): Promise<FlatColumnReader> {
    return new FlatColumnReader(await load(), at);
  }

  /** The next data page's rows (the first one holding selectStart, then each after), or undefined at the chunk's end. */
  next(): ColumnPiece | undefined {
    const p = this.#p;
    const reader = this.#reader;
    const decoder = this.#decoder;
    while (reader.offset < reader.view.byteLength - 1) {
      const header = p.parquetHeader(reader);
      const bytes = this.#chunk.subarray(reader.offset, reader.offset + header.compressed_page_size);
      reader.offset += header.compressed_page_size;
      if (header.type === 'DICTIONARY_PAGE') {
        const page = p.decompressPage(
          bytes,
          header.uncompressed_page_size,
          decoder.codec,
          decoder.compressors,
        );
        const pageReader = { view: new DataView(page.buffer, page.byteOffset, page.byteLength), offset: 0 };
        const count = header.dictionary_page_header!.num_values;
        this.#dictionary = p.convert(
          p.readPlain(pageReader, decoder.type, count, decoder.element.type_length),
          decoder,
        );
        continue;
      }
      let rows: number;
      let decoded: { definitionLevels?: number[]; dataPage: DecodedArray };
      let encoding: string;
      if (header.type === 'DATA_PAGE') {
        const daph = header.data_page_header!;
        // In a flat column every value is a row.
        rows = daph.num_values;
        if (this.#row + rows <= this.#selectStart) {
          this.#row += rows;
          continue;
        }
        const page = p.decompressPage(
          bytes,
          header.uncompressed_page_size,
          decoder.codec,
          decoder.compressors,
        );
        decoded = p.readDataPage(page, daph, decoder);
        encoding = daph.encoding;
      } else if (header.type === 'DATA_PAGE_V2') {
        const daph2 = header.data_page_header_v2!;
        rows = daph2.num_rows;
        if (this.#row + rows <= this.#selectStart) {
          this.#row += rows;
          continue;
        }
        decoded = p.readDataPageV2(bytes, header, decoder);
        encoding = daph2.encoding;
      } else {
        // An index page: nothing to decode (hyparquet's reader refuses it; none is written in practice).
        continue;
      }
      const values = p.convertWithDictionary(
        decoded.dataPage,
        this.#dictionary,
        encoding as Parameters<Parts['convertWithDictionary']>[2],
        decoder,
      );
      const piece = {
        start: this.#groupStart + this.#row,
        data: withNulls(values, decoded.definitionLevels, this.#maxDefinition, rows),
      };
      this.#row += rows;
      return piece;
    }
    return undefined;
  }
}

/** A flat page's values with a null at each row whose definition level is below the maximum. */
function withNulls(
  values: DecodedArray,
  levels: number[] | undefined,
  max: number,
  rows: number,
): ArrayLike<unknown> {
  if (!levels || levels.length === 0 || values.length === rows) return values;
  const out = new Array<unknown>(levels.length);
  let v = 0;
  for (let i = 0; i < levels.length; i++) out[i] = levels[i] === max ? values[v++] : null;
  return out;
}
