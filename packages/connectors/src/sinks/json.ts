import { type Static, Type } from '@sinclair/typebox';
import { defineSink, type Row, type SinkContext, type SinkWriter } from '@sluice/core';
import { fileOutput, fileSinkProperties } from '../internal/file-output.ts';
import { JsonRowEncoder } from '../internal/json-encode.ts';
import { stringifyRow } from './ndjson.ts';

export const jsonSinkConfig = Type.Object(fileSinkProperties, { additionalProperties: false });
export type JsonSinkConfig = Static<typeof jsonSinkConfig>;

export const jsonSink = defineSink({
  name: 'json',
  version: '1.0.0',
  summary:
    'Writes rows to a file holding one JSON array of objects (one per line), crash-safe and resumable.',
  config: jsonSinkConfig,
  example: { path: 'out/orders.json', overwrite: true },
  async open(ctx: SinkContext<JsonSinkConfig>): Promise<SinkWriter> {
    const out = fileOutput(ctx);
    const encoder = new JsonRowEncoder();
    return {
      async start(resume) {
        await out.start(resume);
        // A resumed file already holds the `[`: the checkpoint's length always includes it.
        if (resume === undefined) await out.append('[', 0);
      },
      async write(rows) {
        ctx.signal.throwIfAborted();
        const n = rows.length;
        if (n === 0) return;
        let index = out.rows;
        const fallback = (row: Row) => stringifyRow(row, index, ctx.componentId);
        // The separator depends only on how many rows precede, so a resumed file matches a clean one.
        for (let i = 0; i < n; i++, index++) {
          if (index > 0) encoder.byte(0x2c);
          encoder.byte(0x0a);
          encoder.row(rows[i]!, fallback);
        }
        await out.append(encoder.take(), n);
      },
      commit: () => out.commit(),
      close: () => out.close('\n]\n'),
      abort: () => out.abort(),
    };
  },
});
