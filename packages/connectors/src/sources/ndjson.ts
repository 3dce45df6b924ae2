import { TextDecoder } from 'node:util';
import { type Static, Type } from '@sinclair/typebox';
import { defineSource, type Row, SOURCE_LINE, type SourceBatch, type SourceContext } from '@sluice/core';
import { openFileInput, resolvePath } from '../internal/file-input.ts';
import { Resume, resumeState } from '../internal/resume-state.ts';

/** Config properties shared by the JSON file sources. */
export const jsonFileSourceProperties = {
  path: Type.String({
    minLength: 1,
    description: "File to read (UTF-8). Relative paths resolve against the spec file's directory.",
  }),
  compression: Type.Union([Type.Literal('auto'), Type.Literal('gzip'), Type.Literal('none')], {
    default: 'auto',
    description: '`auto` decompresses files whose name ends in .gz.',
  }),
  // 1024 rows: as fast as 4096 and less memory (measured in csv).
  batchSize: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1024, description: 'Rows per batch.' }),
  chunkSize: Type.Integer({
    minimum: 64,
    maximum: 64 << 20,
    // 128 KiB: values slice the decoded chunk, so bigger chunks pin more memory (measured in csv).
    default: 1 << 17,
    description: 'Bytes read from the file at a time.',
  }),
};

export const ndjsonSourceConfig = Type.Object(jsonFileSourceProperties, { additionalProperties: false });
export type NdjsonSourceConfig = Static<typeof ndjsonSourceConfig>;

/** Byte offset after the last line read (in the decompressed text for .gz) and the next line's number. */
type NdjsonPosition = { offset: number; line: number };

export const ndjsonSource = defineSource({
  name: 'ndjson',
  version: '1.0.0',
  summary:
    'Reads newline-delimited JSON (one object per line, optionally gzipped) as rows; bad lines go to quarantine.',
  config: ndjsonSourceConfig,
  example: { path: 'data/events.ndjson.gz', compression: 'auto', batchSize: 1024, chunkSize: 1 << 17 },
  read: readNdjson,
});

const RAW_LIMIT = 65536;
export const clip = (raw: string): string => (raw.length > RAW_LIMIT ? `${raw.slice(0, RAW_LIMIT)}…` : raw);

export function describeJson(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

async function* readNdjson(ctx: SourceContext<NdjsonSourceConfig>): AsyncGenerator<SourceBatch> {
  const cfg = ctx.config;
  const where = `${ctx.componentId} (${cfg.path})`;
  const resume = ctx.resumeFrom === undefined ? undefined : toPosition(ctx.resumeFrom, where);
  ctx.setOrigin(resolvePath(ctx.baseDir, cfg.path));
  const input = await openFileInput(cfg.path, {
    baseDir: ctx.baseDir,
    start: resume?.offset ?? 0,
    compression: cfg.compression,
    signal: ctx.signal,
    chunkSize: cfg.chunkSize,
    where: `${ctx.componentId}: config.path`,
  });
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const batchSize = cfg.batchSize;
  let rows: Row[] = [];
  /** Byte offset of the first byte not yet consumed, and the number of its line. */
  let offset = resume?.offset ?? 0;
  let line = resume?.line ?? 1;
  let yielded = -1;

  const batch = (): SourceBatch => {
    const out = rows;
    rows = [];
    yielded = offset;
    const position: NdjsonPosition = { offset, line };
    return {
      rows: out,
      position,
      progress: { done: input.gzip ? input.bytesRead() : offset, total: input.size },
    };
  };

  const reject = (reason: string, raw: string, at: number): void => {
    ctx.quarantine({ reason, line, offset: at, raw: clip(raw) });
  };

  const take = (text: string): void => {
    const first = text.charCodeAt(0);
    // Blank lines (a lone \r too) separate nothing and are skipped.
    if (text.length === 0 || (first <= 32 && text.trim() === '')) return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      reject(`line ${line} is not valid JSON: ${(err as Error).message}`, text, offset);
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      reject(`line ${line} holds ${describeJson(value)}, not a JSON object`, text, offset);
      return;
    }
    (value as Row)[SOURCE_LINE] = line;
    rows.push(value as Row);
  };

  /**
   * Reads the complete lines in `buf` (it ends with \n, or at the end of the file). The text is
   * decoded in one call; a newline byte never occurs inside a UTF-8 character, so the i-th \n
   * of the text is the i-th 0x0A byte, which gives the exact byte offset of every line.
   */
  const region = function* (buf: Buffer, oneLine: boolean): Generator<SourceBatch> {
    let text: string;
    try {
      text = decoder.decode(buf);
    } catch {
      if (oneLine) {
        reject(`line ${line} is not valid UTF-8`, buf.toString('utf8'), offset);
        offset += buf.length;
        line++;
        if (rows.length >= batchSize) yield batch();
        return;
      }
      // Find the bad line(s) one at a time; the others are read as usual.
      for (let b = 0; b < buf.length; ) {
        const nl = buf.indexOf(10, b);
        const end = nl === -1 ? buf.length : nl + 1;
        yield* region(buf.subarray(b, end), true);
        b = end;
      }
      return;
    }
    const base = offset;
    let s = offset === 0 && text.charCodeAt(0) === 0xfeff ? 1 : 0;
    let b = 0;
    while (s < text.length || b < buf.length) {
      const e = text.indexOf('\n', s);
      const be = buf.indexOf(10, b);
      take(text.slice(s, e === -1 ? text.length : e));
      s = e === -1 ? text.length : e + 1;
      b = be === -1 ? buf.length : be + 1;
      offset = base + b;
      line++;
      if (rows.length >= batchSize) {
        ctx.signal.throwIfAborted();
        yield batch();
      }
    }
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
      yield* region(buf, false);
    }
    ctx.signal.throwIfAborted();
    // The last line may lack its newline.
    if (carry.length > 0) yield* region(Buffer.concat(carry), false);
    if (rows.length > 0 || offset !== yielded) yield batch();
  } finally {
    rows = [];
  }
}

const toPosition = resumeState(Type.Object({ offset: Resume.offset, line: Resume.line }), 'source');
