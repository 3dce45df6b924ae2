import { type Static, Type } from '@sinclair/typebox';
import {
  defineSink,
  ErrorCode,
  type Row,
  type SinkContext,
  type SinkWriter,
  SluiceError,
  SOURCE_LINE,
} from '@sluice/core';
import { fileCredential } from '../location/options.ts';
import { fileSinkConnection } from '../shared/file-check.ts';
import { fileOutput } from '../shared/file-output.ts';
import { textOutputIssues, textSinkProperties } from '../shared/file-sink-config.ts';
import { builtinWorker } from '../shared/worker-module.ts';
import { JsonRowEncoder } from './encode.ts';

export const ndjsonSinkConfig = Type.Object(textSinkProperties, { additionalProperties: false });
export type NdjsonSinkConfig = Static<typeof ndjsonSinkConfig>;

export const ndjsonSink = defineSink({
  name: 'ndjson',
  version: '1.0.0',
  summary:
    'Writes rows to a newline-delimited JSON file (one object per line), crash-safe and resumable; .gz and .zst names are written compressed.',
  config: ndjsonSinkConfig,
  credentialSchema: fileCredential,
  connection: fileSinkConnection,
  example: { path: 'out/orders.ndjson.gz', overwrite: true, compression: 'auto', verify: 'count' },
  check: textOutputIssues,
  rowEncoder: { create: (ctx) => jsonRows(ctx.componentId, [], [0x0a], true) },
  worker: builtinWorker,
  async open(ctx: SinkContext<NdjsonSinkConfig>): Promise<SinkWriter> {
    const out = await fileOutput(ctx, 'lines');
    const encode = jsonRows(ctx.componentId, [], [0x0a]);
    const writeEncoded = async (data: Uint8Array, rows: number) => {
      ctx.signal.throwIfAborted();
      if (rows > 0) await out.append(data, rows);
    };
    return {
      async start(resume) {
        await out.start(resume);
      },
      async startAppend(resume) {
        await out.startAppend(resume);
      },
      async write(rows) {
        await writeEncoded(rows.length === 0 ? EMPTY : encode(rows, out.rows), rows.length);
      },
      encoderState: () => null,
      writeEncoded,
      commit: () => out.commit(),
      close: () => out.close(),
      abort: () => out.abort(),
    };
  },
});

const EMPTY = new Uint8Array(0);

/**
 * An encoder of rows as JSON, each between the bytes `before` and `after`. `rowsBefore` (rows
 * already in the output) numbers a row that has no JSON form in the error; in a worker thread,
 * which does not know it, the row's source line names it instead. With `reuse`, the bytes of a
 * call are valid only until the next (see ByteWriter.reuse).
 */
export function jsonRows(
  where: string,
  before: number[],
  after: number[],
  reuse = false,
): (rows: Row[], rowsBefore?: number) => Buffer {
  const encoder = new JsonRowEncoder();
  return (rows, rowsBefore) => {
    if (reuse) encoder.reuse();
    let index = rowsBefore ?? 0;
    // One closure a batch, not one a row: the fallback needs the row's index for its message.
    const fallback = (row: Row) => stringifyRow(row, rowsBefore === undefined ? undefined : index, where);
    for (let i = 0; i < rows.length; i++, index++) {
      for (const b of before) encoder.byte(b);
      encoder.row(rows[i]!, fallback);
      for (const b of after) encoder.byte(b);
    }
    return encoder.take();
  };
}

/** One row's JSON; Dates become ISO strings through their toJSON, like everywhere in JSON. */
export function stringifyRow(row: Row, index: number | undefined, where: string): string {
  try {
    return JSON.stringify(row);
  } catch (err) {
    const line = row[SOURCE_LINE];
    const which =
      index !== undefined ? `row ${index + 1} of the output` : `the row from source line ${line ?? '?'}`;
    // BigInt values and cycles are the usual causes; neither has a JSON form to fall back on.
    throw new SluiceError(
      ErrorCode.CONFIG,
      `${where}: ${which} cannot be written as JSON: ${(err as Error).message}. ` +
        'Cast BigInt fields to string or number (a map or cast step) and remove circular references.',
      { cause: err },
    );
  }
}
