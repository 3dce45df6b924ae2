import { type Static, Type } from '@sinclair/typebox';
import {
  defineSink,
  ErrorCode,
  type Row,
  type SinkContext,
  type SinkWriter,
  SluiceError,
} from '@sluice/core';
import { fileOutput, fileSinkProperties } from '../internal/file-output.ts';
import { JsonRowEncoder } from '../internal/json-encode.ts';

export const ndjsonSinkConfig = Type.Object(fileSinkProperties, { additionalProperties: false });
export type NdjsonSinkConfig = Static<typeof ndjsonSinkConfig>;

export const ndjsonSink = defineSink({
  name: 'ndjson',
  version: '1.0.0',
  summary: 'Writes rows to a newline-delimited JSON file (one object per line), crash-safe and resumable.',
  config: ndjsonSinkConfig,
  example: { path: 'out/orders.ndjson', overwrite: true },
  async open(ctx: SinkContext<NdjsonSinkConfig>): Promise<SinkWriter> {
    const out = fileOutput(ctx);
    const encoder = new JsonRowEncoder();
    return {
      async start(resume) {
        await out.start(resume);
      },
      async write(rows) {
        ctx.signal.throwIfAborted();
        if (rows.length === 0) return;
        let index = out.rows;
        // One closure a batch, not one a row: the fallback needs the row's index for its message.
        const fallback = (row: Row) => stringifyRow(row, index, ctx.componentId);
        for (let i = 0; i < rows.length; i++, index++) {
          encoder.row(rows[i]!, fallback);
          encoder.byte(0x0a);
        }
        await out.append(encoder.take(), rows.length);
      },
      commit: () => out.commit(),
      close: () => out.close(),
      abort: () => out.abort(),
    };
  },
});

/** One row's JSON; Dates become ISO strings through their toJSON, like everywhere in JSON. */
export function stringifyRow(row: Row, index: number, where: string): string {
  try {
    return JSON.stringify(row);
  } catch (err) {
    // BigInt values and cycles are the usual causes; neither has a JSON form to fall back on.
    throw new SluiceError(
      ErrorCode.CONFIG,
      `${where}: row ${index + 1} of the output cannot be written as JSON: ${(err as Error).message}. ` +
        'Cast BigInt fields to string or number (a map or cast step) and remove circular references.',
      { cause: err },
    );
  }
}
