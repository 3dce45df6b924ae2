import { type Static, Type } from '@sinclair/typebox';
import { defineSink, type SinkContext, type SinkWriter } from '@sluice/core';
import { fileCredential } from '../location/options.ts';
import { jsonRows } from '../ndjson/sink.ts';
import { fileSinkConnection } from '../shared/file-check.ts';
import { fileOutput } from '../shared/file-output.ts';
import { textOutputIssues, textSinkProperties } from '../shared/file-sink-config.ts';
import { builtinWorker } from '../shared/worker-module.ts';

export const jsonSinkConfig = Type.Object(textSinkProperties, { additionalProperties: false });
export type JsonSinkConfig = Static<typeof jsonSinkConfig>;

const TRAILER = '\n]\n';

export const jsonSink = defineSink({
  name: 'json',
  version: '1.0.0',
  summary:
    'Writes rows to a file holding one JSON array of objects (one per line), crash-safe and resumable; .gz and .zst names are written compressed.',
  config: jsonSinkConfig,
  credentialSchema: fileCredential,
  connection: fileSinkConnection,
  example: { path: 'out/orders.json', overwrite: true, compression: 'auto', verify: 'content' },
  check: textOutputIssues,
  // Every row is preceded by `,\n`; the writer drops the comma of the file's first row, so the
  // separator depends only on how many rows precede and a resumed file matches a clean one.
  rowEncoder: { create: (ctx) => jsonRows(ctx.componentId, [0x2c, 0x0a], [], true) },
  worker: builtinWorker,
  async open(ctx: SinkContext<JsonSinkConfig>): Promise<SinkWriter> {
    const out = await fileOutput(ctx, 'lines');
    const encode = jsonRows(ctx.componentId, [0x2c, 0x0a], []);
    // Appending (a replay) to a file that holds rows: its next row needs the comma too.
    let hadRows = false;
    const writeEncoded = async (data: Uint8Array, rows: number) => {
      ctx.signal.throwIfAborted();
      if (rows > 0) await out.append(out.rows === 0 && !hadRows ? data.subarray(1) : data, rows);
    };
    return {
      async start(resume) {
        await out.start(resume);
        // A resumed file already holds the `[`: the checkpoint's length always includes it.
        if (resume === undefined) await out.append('[', 0, 0);
      },
      async startAppend(resume) {
        // Without its trailer, a file holds `[` and, when it has rows, the line break after it: a
        // record. (Its length cannot tell once compressed; older checkpoints have no records.)
        const { bytes, records } = await out.startAppend(resume, TRAILER);
        hadRows = (records ?? (bytes > 1 ? 1 : 0)) > 0;
        if (bytes === 0) await out.append('[', 0);
      },
      async write(rows) {
        await writeEncoded(encode(rows, out.rows), rows.length);
      },
      encoderState: () => null,
      writeEncoded,
      commit: () => out.commit(),
      // Two lines of framing: `[` (the first row's separator leaves its line feed) and `]`.
      close: () => out.close(TRAILER, 2),
      abort: () => out.abort(),
    };
  },
});
