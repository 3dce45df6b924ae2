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
import { ByteWriter } from '../shared/byte-writer.ts';
import { fileSinkConnection } from '../shared/file-check.ts';
import { fileOutput } from '../shared/file-output.ts';
import { textOutputIssues, textSinkProperties } from '../shared/file-sink-config.ts';
import { Resume, resumeState } from '../shared/resume-state.ts';
import { builtinWorker } from '../shared/worker-module.ts';

export const csvSinkConfig = Type.Object(
  {
    ...textSinkProperties,
    header: Type.Boolean({ default: true, description: 'Write the column names as the first record.' }),
    columns: Type.Optional(
      Type.Array(Type.String(), {
        minItems: 1,
        uniqueItems: true,
        description:
          'Fields to write, in order; default: the fields of the first row. Other fields are not written; ' +
          'a missing field is written as null.',
      }),
    ),
    delimiter: Type.String({
      minLength: 1,
      maxLength: 1,
      default: ',',
      description: 'Field separator (one character, not a quote or line break).',
    }),
    newline: Type.Union([Type.Literal('\n'), Type.Literal('\r\n')], {
      default: '\n',
      description: 'Record terminator: "\\n", or "\\r\\n" as RFC 4180 prescribes.',
    }),
  },
  { additionalProperties: false },
);
export type CsvSinkConfig = Static<typeof csvSinkConfig>;

/** The file state plus the columns, which a resumed run cannot learn from rows it never saw. */
type CsvSinkState = { bytes: number; rows: number; columns: string[] | null };

export const csvSink = defineSink({
  name: 'csv',
  version: '1.0.0',
  summary:
    'Writes rows to a CSV file (RFC 4180 quoting; null as an empty field, "" as a quoted empty string), ' +
    'crash-safe and resumable; .gz and .zst names are written compressed.',
  config: csvSinkConfig,
  credentialSchema: fileCredential,
  connection: fileSinkConnection,
  example: {
    path: 'out/orders.csv',
    overwrite: true,
    compression: 'auto',
    header: true,
    delimiter: ',',
    newline: '\n',
    verify: 'count',
  },
  check: (cfg) => [
    ...textOutputIssues(cfg),
    ...(cfg.delimiter === '"' || cfg.delimiter === '\n' || cfg.delimiter === '\r'
      ? [
          {
            path: 'delimiter',
            message: 'cannot be a double quote or a line break; use e.g. ",", ";" or "\\t"',
          },
        ]
      : []),
  ],
  rowEncoder: {
    create(ctx, state) {
      const { delimiter, newline } = ctx.config;
      const encoder = new RecordEncoder((state as { columns: string[] }).columns, delimiter, ctx.componentId);
      const bytes = new ByteWriter();
      return (rows) => {
        bytes.reuse();
        bytes.text(encoder.records(rows, undefined, newline));
        return bytes.take();
      };
    },
  },
  worker: builtinWorker,
  async open(ctx: SinkContext<CsvSinkConfig>): Promise<SinkWriter> {
    const cfg = ctx.config;
    const out = await fileOutput(ctx, 'csv');
    let encoder: RecordEncoder | undefined;
    // Bytes the file held when a replay started appending to it: its header is written already.
    let kept = 0;

    const fix = async (columns: string[]): Promise<void> => {
      encoder = new RecordEncoder(columns, cfg.delimiter, ctx.componentId);
      if (!cfg.header) return;
      const header = encoder.header() + cfg.newline;
      if (kept === 0) await out.append(header, 0, 1);
      else if ((await out.head(Buffer.byteLength(header))).toString() !== header) {
        throw new SluiceError(
          ErrorCode.CONFIG,
          `${ctx.componentId}: cannot append to ${out.path}: its header is not "${encoder.header()}", the ` +
            'columns of the rows to add. Set config.columns to the columns of the file.',
        );
      }
    };
    const resumeColumns = (state: CsvSinkState | undefined): void => {
      if (!state?.columns) return;
      if (cfg.columns && cfg.columns.join('\0') !== state.columns.join('\0')) {
        throw new SluiceError(
          ErrorCode.CHECKPOINT,
          `${ctx.componentId}: cannot resume: config.columns changed since the checkpoint ` +
            `(was ${state.columns.join(', ')}). Restore it, or rerun without --resume.`,
        );
      }
      encoder = new RecordEncoder(state.columns, cfg.delimiter, ctx.componentId);
    };

    return {
      async start(resume) {
        const state = resume === undefined ? undefined : toState(resume, ctx.componentId);
        await out.start(resume);
        resumeColumns(state);
        if (!state?.columns && cfg.columns) await fix(cfg.columns);
      },
      async startAppend(resume) {
        const state = resume === undefined ? undefined : toState(resume, ctx.componentId);
        // Resumed before its columns were fixed, the replay had written nothing: the bytes are the file's.
        kept = (await out.startAppend(resume)).bytes;
        resumeColumns(state);
        if (!state?.columns && cfg.columns) await fix(cfg.columns);
      },
      async write(rows) {
        ctx.signal.throwIfAborted();
        if (rows.length === 0) return;
        if (encoder === undefined) await fix(Object.keys(rows[0]!));
        await out.append(encoder!.records(rows, out.rows, cfg.newline), rows.length);
      },
      encoderState: () => (encoder === undefined ? undefined : { columns: encoder.columns }),
      async writeEncoded(data, rows) {
        ctx.signal.throwIfAborted();
        if (rows > 0) await out.append(data, rows);
      },
      async commit() {
        const state: CsvSinkState = { ...(await out.commit()), columns: encoder?.columns ?? null };
        return state;
      },
      close: () => out.close(),
      abort: () => out.abort(),
    };
  },
});

/** Encodes rows as CSV records for fixed columns. */
export class RecordEncoder {
  readonly columns: string[];
  readonly #delimiter: string;
  readonly #special: RegExp;
  readonly #where: string;

  constructor(columns: string[], delimiter: string, where: string) {
    this.columns = columns;
    this.#delimiter = delimiter;
    // A byte order mark is quoted too: at the start of the file a reader would take it for one.
    this.#special = new RegExp(`["\\r\\n\\uFEFF${delimiter.replace(/[\\\]^-]/g, '\\$&')}]`);
    this.#where = where;
  }

  header(): string {
    return this.columns.map((c) => this.#text(c)).join(this.#delimiter);
  }

  /**
   * All rows as text, each record followed by `newline`. `rowsBefore` (rows already in the file)
   * numbers a row in errors; in a worker thread, which does not know it, its source line does.
   */
  records(rows: Row[], rowsBefore: number | undefined, newline: string): string {
    const columns = this.columns;
    const n = columns.length;
    const d = this.#delimiter;
    let text = '';
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r]!;
      let line = this.#field(row[columns[0]!], row, rowsBefore, r, columns[0]!);
      for (let k = 1; k < n; k++) line += d + this.#field(row[columns[k]!], row, rowsBefore, r, columns[k]!);
      // An empty line is skipped by most readers (ours too): a one-column null must stay a record.
      text += (line === '' ? '""' : line) + newline;
    }
    return text;
  }

  /** null/undefined stay empty and '' is quoted, as PostgreSQL writes them, so readers can tell them apart. */
  #field(v: unknown, row: Row, rowsBefore: number | undefined, r: number, column: string): string {
    if (typeof v === 'string') return this.#text(v);
    if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
    if (v === null || v === undefined) return '';
    if (v instanceof Date) return Number.isNaN(v.getTime()) ? '' : v.toISOString();
    let json: string | undefined;
    try {
      json = JSON.stringify(v);
    } catch (err) {
      throw new SluiceError(
        ErrorCode.CONFIG,
        `${this.#where}: field "${column}" of ${rowsBefore === undefined ? `the output row from source line ${row[SOURCE_LINE] ?? '?'}` : `output row ${rowsBefore + r + 1}`} cannot be written as JSON text: ` +
          `${(err as Error).message}. Cast it to a string first (a map or cast step).`,
        { cause: err },
      );
    }
    return json === undefined ? '' : this.#text(json);
  }

  #text(s: string): string {
    if (s === '') return '""';
    return this.#special.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  }
}

const toState = resumeState(
  Type.Object({ bytes: Resume.bytes, rows: Resume.rows, columns: Type.Union([Resume.columns, Type.Null()]) }),
  'sink',
);
