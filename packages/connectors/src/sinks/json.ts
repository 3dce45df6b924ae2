import { type Static, Type } from '@sinclair/typebox';
import { defineSink, type SinkContext, type SinkWriter } from '@sluice/core';
import { fileOutput, fileSinkProperties } from '../internal/file-output.ts';
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
        const before = out.rows;
        const parts = new Array<string>(n);
        // The separator depends only on how many rows precede, so a resumed file matches a clean one.
        for (let i = 0; i < n; i++) {
          parts[i] = (before + i === 0 ? '\n' : ',\n') + stringifyRow(rows[i]!, before + i, ctx.componentId);
        }
        await out.append(parts.join(''), n);
      },
      commit: () => out.commit(),
      close: () => out.close('\n]\n'),
      abort: () => out.abort(),
    };
  },
});
