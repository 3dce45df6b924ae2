import { type Static, Type } from '@sinclair/typebox';
import {
  type ChunkedRead,
  defineSource,
  type PartitionedRead,
  type SourceBatch,
  type SourceContext,
} from '@sluice/core';
import { locationHost } from '../location/index.ts';
import { fileCredential } from '../location/options.ts';
import {
  checkBytePart,
  compressedRefusal,
  planByteParts,
  toBytePart,
  wholeFilePart,
} from '../shared/byte-parts.ts';
import { codecOf, compressionProperty } from '../shared/compression.ts';
import { fileSourceConnection } from '../shared/file-check.ts';
import { openFileInput } from '../shared/file-input.ts';
import { fileSetRefusal, listFiles, planFileParts } from '../shared/file-parts.ts';
import { oneFile, overFiles } from '../shared/file-set.ts';
import { fileSourceProperties } from '../shared/file-source-options.ts';
import { ColumnTypeSchema, inferProperties } from '../shared/infer.ts';
import { NdjsonLines } from '../shared/json-lines.ts';
import { countLines, cutAtLastLine } from '../shared/line-cut.ts';
import { chunkInput } from '../shared/remote-bytes.ts';
import { Resume, resumeState } from '../shared/resume-state.ts';
import { type TypedOptions, typedChunks, typedPartitions, typedRead } from '../shared/typed-read.ts';
import { builtinWorker } from '../shared/worker-module.ts';

// Encoders, checksums and worker threads downstream recurse on nested values (JSON.stringify,
// structuredClone): measured, they overflow the main thread's stack from ~3,200 levels.
const MAX_DEPTH = 2000;

/** Config properties shared by the JSON file sources. */
export const jsonFileSourceProperties = {
  ...fileSourceProperties,
  compression: compressionProperty(true),
  // 1024 rows: as fast as 4096 and less memory (measured in csv).
  batchSize: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1024, description: 'Rows per batch.' }),
  chunkSize: Type.Integer({
    minimum: 64,
    maximum: 64 << 20,
    // 128 KiB: values slice the decoded chunk, so bigger chunks pin more memory (measured in csv).
    default: 1 << 17,
    description: 'Bytes read from the file at a time.',
  }),
  bigNumbers: Type.Union([Type.Literal('quarantine'), Type.Literal('string')], {
    default: 'quarantine',
    description:
      'Numbers a double would change: out of its range (`1e400`) or too close to 0 (`1e-400`), integers ' +
      'no double holds (past 2^53), and decimals with more digits than it keeps. `quarantine` sends the ' +
      'row to quarantine, naming the field; `string` keeps the number exact, as its text.',
  }),
  schema: Type.Optional(
    Type.Record(Type.String(), ColumnTypeSchema, {
      description:
        'Field types to cast to (as the cast transform does); other fields keep their JSON types. A value ' +
        'that does not cast sends its row to quarantine; empty text is null in a non-string field.',
      examples: [{ id: 'integer', amount: 'number', created_at: 'timestamp' }],
    }),
  ),
  ...inferProperties,
  maxDepth: Type.Integer({
    minimum: 1,
    maximum: MAX_DEPTH,
    default: 1000,
    description:
      'Deepest nesting of objects and arrays in a row (the row itself is depth 1); a row nested ' +
      'deeper goes to quarantine.',
  }),
};

export const ndjsonSourceConfig = Type.Object(jsonFileSourceProperties, { additionalProperties: false });
export type NdjsonSourceConfig = Static<typeof ndjsonSourceConfig>;

/** Byte offset after the last line read (in the decompressed text for .gz and .zst) and the next line's number. */
type NdjsonPosition = { offset: number; line: number };

// A quarantined row is one line again: JSON.stringify leaves out SOURCE_LINE, and a fileField
// would not be a field of the line (its row is not rebuilt then).
const typing: TypedOptions<NdjsonSourceConfig> = {
  castDeclared: true,
  raw: (row, cfg) => (cfg.fileField === undefined ? JSON.stringify(row) : undefined),
};

export const ndjsonSource = defineSource({
  name: 'ndjson',
  version: '1.0.0',
  summary:
    'Reads newline-delimited JSON (one object per line, optionally gzip or zstd compressed) as rows; bad lines go to quarantine.',
  config: ndjsonSourceConfig,
  credentialSchema: fileCredential,
  connection: fileSourceConnection,
  server: (config) => locationHost(config.path, config),
  example: {
    path: 'data/events.ndjson.gz',
    incremental: false,
    compression: 'auto',
    batchSize: 1024,
    chunkSize: 1 << 17,
    bigNumbers: 'quarantine',
    infer: true,
    inferRows: 1000,
    maxDepth: 1000,
  },
  read: typedRead(overFiles(readNdjson), typing),
  chunked: typedChunks(ndjsonChunks(), readNdjson, typing),
  partitions: typedPartitions(ndjsonPartitions(), overFiles(readNdjson)),
  worker: builtinWorker,
});

function ndjsonChunks(): ChunkedRead<NdjsonSourceConfig> {
  return {
    async split(ctx, minBytes) {
      const cfg = ctx.config;
      if (!oneFile(cfg) || codecOf(cfg.path, cfg.compression)) return undefined;
      const where = `${ctx.componentId} (${cfg.path})`;
      const resume = ctx.resumeFrom === undefined ? undefined : toPosition(ctx.resumeFrom, where);
      const input = await chunkInput(ctx, cfg.path, `${ctx.componentId}: config.path`);
      if (input === undefined || input.size - (resume?.offset ?? 0) < minBytes) return undefined;
      ctx.setOrigin(input.path);
      return {
        ...input,
        start: { offset: resume?.offset ?? 0, line: resume?.line ?? 1 },
        shared: null,
        batchRows: cfg.batchSize,
        cut: cutAtLastLine,
        lines: countLines,
        position: (at) => ({ offset: at.offset, line: at.line }) satisfies NdjsonPosition,
      };
    },
    parse: (ctx, chunk, start) =>
      new NdjsonLines(ctx, start, ctx.config.batchSize, ctx.config).batches(chunk),
  };
}

/**
 * How a partitioned step cuts NDJSON input: one plain file into byte ranges at line feeds (found
 * as the parallel path finds chunks), a glob (or a read with fileField) into groups of files.
 */
function ndjsonPartitions(): PartitionedRead<NdjsonSourceConfig> {
  return {
    check(cfg) {
      const refused = fileSetRefusal(cfg);
      if (refused !== undefined || !oneFile(cfg)) return refused;
      return codecOf(cfg.path, cfg.compression) ? compressedRefusal(cfg.path) : undefined;
    },
    async plan(ctx, n) {
      if (!oneFile(ctx.config)) return planFileParts(ctx, n);
      const split = await ndjsonChunks().split(ctx, 0);
      if (split !== undefined) return planByteParts(ctx, split, n);
      // The file could not be looked up: listing it again fails with a message naming it.
      const [file] = await listFiles(ctx);
      return wholeFilePart(file!.size);
    },
  };
}

async function* readNdjson(ctx: SourceContext<NdjsonSourceConfig>): AsyncGenerator<SourceBatch> {
  const cfg = ctx.config;
  const where = `${ctx.componentId} (${cfg.path})`;
  const part = ctx.part === undefined ? undefined : toBytePart(ctx.part, where);
  const resume = ctx.resumeFrom === undefined ? undefined : toPosition(ctx.resumeFrom, where);
  const from = resume ?? part?.start;
  const input = await openFileInput(cfg.path, {
    ctx,
    options: cfg,
    start: from?.offset ?? 0,
    ...(part ? { end: part.end } : {}),
    compression: cfg.compression,
    signal: ctx.signal,
    chunkSize: cfg.chunkSize,
    where: `${ctx.componentId}: config.path`,
    ...(part ? { checkEntry: (e) => checkBytePart(part, e.size, resume?.offset, e.url, where) } : {}),
  });
  ctx.setOrigin(input.path);
  const start = { offset: from?.offset ?? 0, line: from?.line ?? 1 };
  const lines = new NdjsonLines(ctx, start, cfg.batchSize, cfg);
  let yielded = -1;

  const batch = (): SourceBatch => {
    const out = lines.rows;
    lines.rows = [];
    const { offset, line } = lines;
    yielded = offset;
    const position: NdjsonPosition = { offset, line };
    return {
      rows: out,
      position,
      progress: part
        ? { done: offset - part.start.offset, total: part.end - part.start.offset }
        : { done: input.codec ? input.bytesRead() : offset, total: input.size },
    };
  };

  // Each full batch pauses the parse of a region; it is handed on before the parse goes on.
  const region = function* (buf: Buffer): Generator<SourceBatch> {
    for (const _ of lines.region(buf)) yield batch();
  };

  try {
    let carry: Buffer[] = [];
    for await (const chunk of input.chunks) {
      ctx.signal.throwIfAborted();
      const nl = chunk.lastIndexOf(10);
      if (nl === -1) {
        carry.push(chunk);
        continue;
      }
      const head = chunk.subarray(0, nl + 1);
      const buf = carry.length === 0 ? head : Buffer.concat([...carry, head]);
      carry = nl + 1 < chunk.length ? [chunk.subarray(nl + 1)] : [];
      yield* region(buf);
    }
    ctx.signal.throwIfAborted();
    // The last line may lack its newline.
    if (carry.length > 0) yield* region(Buffer.concat(carry));
    if (lines.rows.length > 0 || lines.offset !== yielded) yield batch();
  } finally {
    lines.rows = [];
  }
}

const toPosition = resumeState(Type.Object({ offset: Resume.offset, line: Resume.line }), 'source');
