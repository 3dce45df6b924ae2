import { type Static, Type } from '@sinclair/typebox';
import {
  defineSink,
  ErrorCode,
  FatalError,
  type Json,
  type Row,
  type SinkContext,
  type SinkResult,
  type SinkWriter,
  verifyProperty,
} from '@sluice/core';
import { identList, quoteIdent } from '../postgres/ident.ts';
import { createTableSql } from '../postgres/table.ts';
import { fieldsOf, inferColumnKinds } from '../shared/column-kinds.ts';
import {
  appendAfterInterruption,
  ContentProof,
  keyProperty,
  modeProperty,
  upsertNeedsKey,
} from '../shared/sql-sink.ts';
import {
  breathe,
  type Database,
  openDatabase,
  pathProperty,
  sqliteConnection,
  sqliteError,
  toSqlite,
} from './db.ts';
import {
  checkpointTableSql,
  describeTable,
  isBlobColumn,
  mergeStage,
  SQLITE_TYPE,
  STAGE,
  stageSql,
  type TableColumn,
} from './table.ts';

const Config = Type.Object(
  {
    path: pathProperty,
    table: Type.String({ minLength: 1, description: 'Target table name (taken literally).' }),
    mode: modeProperty,
    key: keyProperty,
    createTable: Type.Boolean({
      default: false,
      description:
        'Create the database file and the table when missing, with the fields of the first batch as ' +
        'columns and types inferred from its values: integers and booleans INTEGER, other numbers REAL, ' +
        'strings, Dates, objects and arrays TEXT (JSON for the last two), bytes BLOB; a field null in ' +
        'every row of the batch gets no declared type (it takes any value). With upsert, key is the ' +
        'primary key.',
    }),
    columns: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        uniqueItems: true,
        description:
          'Fields to write; other fields are not written. Default: every field of the rows, each of ' +
          'which must have a column in the table.',
      }),
    ),
    checkpointTable: Type.String({
      minLength: 1,
      default: 'sluice_checkpoints',
      description:
        "Table of Sluice's own, in the same database, where the sink keeps its checkpoints (created when " +
        'missing; one row per running step and sink, removed when the run succeeds), committed in the ' +
        'same transaction as the rows.',
    }),
    verify: verifyProperty,
  },
  upsertNeedsKey,
);
type Config = Static<typeof Config>;

class SqliteWriter implements SinkWriter {
  readonly #ctx: SinkContext<Config>;
  readonly #db: Database;
  readonly #file: string;
  readonly #where: string;
  readonly #target: string;
  readonly #checkpoints: string;
  /** The run's key and the target: runs of one name loading different tables keep apart. */
  readonly #key: string;
  #existing: TableColumn[] | undefined;
  #table = new Map<string, TableColumn>();
  /** The columns written now, and the statement writing them (into the table, or the stage). */
  #columns: string[] | undefined;
  #blob: boolean[] = [];
  #insert: ReturnType<Database['prepare']> | undefined;
  /** Upsert and content verification write through the stage (see table.ts). */
  readonly #staged: boolean;
  #stagedRows = 0;
  #inTransaction = false;
  #pending = 0;
  #committed = 0;
  readonly #proof = new ContentProof();
  /** Started by `startAppend` (a replay): the table keeps its rows whatever the mode. */
  #append = false;

  constructor(ctx: SinkContext<Config>, db: Database, file: string) {
    this.#ctx = ctx;
    this.#db = db;
    this.#file = file;
    this.#where = ctx.componentId;
    this.#target = quoteIdent(ctx.config.table);
    this.#checkpoints = quoteIdent(ctx.config.checkpointTable);
    this.#key = `${ctx.checkpointKey} → ${ctx.config.table}`;
    this.#staged = ctx.config.mode === 'upsert' || ctx.config.verify === 'content';
  }

  /** Runs `fn`, turning what SQLite throws into an error saying what was being done, and where. */
  #run<T>(doing: string, fn: () => T): T {
    if (this.#ctx.signal.aborted) throw this.#ctx.signal.reason;
    try {
      return fn();
    } catch (err) {
      if (err instanceof FatalError) throw err;
      throw sqliteError(err, this.#where, this.#file, doing);
    }
  }

  #exec(sql: string, doing: string): void {
    this.#run(doing, () => this.#db.exec(sql));
  }

  get #location(): string {
    return `${this.#file} table ${this.#ctx.config.table}`;
  }

  async recover(): Promise<number | undefined> {
    this.#exec(
      checkpointTableSql(this.#ctx.config.checkpointTable),
      `create ${this.#ctx.config.checkpointTable}`,
    );
    const row = this.#run('read the checkpoint', () =>
      this.#db.prepare(`SELECT seq FROM ${this.#checkpoints} WHERE key = ?`).get(this.#key),
    ) as { seq: number } | undefined;
    return row?.seq;
  }

  async start(resume: Json | undefined): Promise<void> {
    const { table, createTable, mode } = this.#ctx.config;
    const left = await this.recover();
    this.#existing = this.#run('inspect the table', () => describeTable(this.#db, table));
    if (!this.#existing && !createTable)
      throw new FatalError(
        `${this.#where}: table "${table}" does not exist in ${this.#file} — create it, or set createTable: true`,
        { code: ErrorCode.NOT_FOUND },
      );
    if (resume === undefined) {
      if (left !== undefined && (mode === 'append' || (this.#append && mode === 'truncate')))
        throw appendAfterInterruption(
          this.#where,
          this.#location,
          this.#ctx.config.checkpointTable,
          this.#key,
          left,
        );
      this.#run('remove the old checkpoint', () =>
        this.#db.prepare(`DELETE FROM ${this.#checkpoints} WHERE key = ?`).run(this.#key),
      );
    }
    // IMMEDIATE takes the write lock now: a second writer waits (busy timeout) here, not mid-run.
    this.#exec('BEGIN IMMEDIATE', 'start a transaction');
    this.#inTransaction = true;
    if (resume === undefined && mode === 'truncate' && this.#existing && !this.#append)
      this.#exec(`DELETE FROM ${this.#target}`, 'truncate');
  }

  /** A replay adds to the table: truncate acts as append, append and upsert as configured. */
  async startAppend(resume: Json | undefined): Promise<void> {
    this.#append = true;
    await this.start(resume);
  }

  /** Creates the table from the first rows (createTable), and learns its columns. */
  #prepare(rows: Row[]): void {
    const { key, mode, columns: configured, table } = this.#ctx.config;
    if (!this.#existing) {
      const columns = configured ?? fieldsOf(rows);
      if (columns.length === 0)
        throw new FatalError(
          `${this.#where}: the first rows have no fields, so table "${table}" cannot be created from them; ` +
            'list the fields to write in columns, or create the table',
          { code: ErrorCode.CONFIG },
        );
      const types = inferColumnKinds(rows, columns).map((k) => (k === undefined ? '' : SQLITE_TYPE[k]));
      this.#exec(
        createTableSql(this.#target, columns, types, mode === 'upsert' ? key : undefined),
        'create the table',
      );
      this.#existing = columns.map((name, i) => ({ name, type: types[i]! }));
      this.#ctx.log.info(`created table ${this.#location} from ${rows.length} row(s)`, { columns, types });
    }
    this.#table = new Map(this.#existing.map((c) => [c.name, c]));
    this.#setColumns([]);
  }

  /** The batch's fields that are written, each of which the table must have. */
  #fieldsOf(rows: Row[]): string[] {
    const configured = this.#ctx.config.columns;
    const fields = configured ?? fieldsOf(rows);
    const missing = fields.filter((f) => !this.#table.has(f));
    if (missing.length > 0)
      throw new FatalError(
        `${this.#where}: table ${this.#location} has no column ${missing.map((m) => `"${m}"`).join(', ')} ` +
          `(its columns: ${[...this.#table.keys()].join(', ')}) — add the column, or list the fields to write in columns`,
        { code: ErrorCode.CONFIG },
      );
    return fields;
  }

  #setColumns(columns: string[]): void {
    const { key, mode } = this.#ctx.config;
    this.#columns = columns;
    this.#blob = columns.map((c) => isBlobColumn(this.#table.get(c)!));
    if (columns.length === 0) {
      this.#insert = undefined;
      return;
    }
    const missingKey = mode === 'upsert' ? key!.filter((k) => !columns.includes(k)) : [];
    if (missingKey.length > 0)
      throw new FatalError(
        `${this.#where}: key column(s) ${missingKey.join(', ')} are not among the written fields`,
        {
          code: ErrorCode.CONFIG,
        },
      );
    if (this.#staged)
      for (const sql of stageSql(this.#ctx.config.table, columns)) this.#exec(sql, 'prepare staging');
    const into = this.#staged ? STAGE : `main.${this.#target}`;
    this.#insert = this.#run('prepare the insert', () =>
      this.#db.prepare(
        `INSERT INTO ${into} (${identList(columns)}) VALUES (${columns.map(() => '?').join(', ')})`,
      ),
    );
  }

  async write(rows: Row[]): Promise<void> {
    if (this.#ctx.signal.aborted) throw this.#ctx.signal.reason;
    if (rows.length === 0) return;
    if (this.#columns === undefined) this.#prepare(rows);
    const fields = this.#fieldsOf(rows);
    if (fields.some((f) => !this.#columns!.includes(f))) {
      // A field first seen now: rows staged for the old columns go in before the stage is remade.
      this.#merge();
      this.#setColumns([...this.#columns!, ...fields.filter((f) => !this.#columns!.includes(f))]);
    }
    const columns = this.#columns!;
    const blob = this.#blob;
    const insert = this.#insert!;
    const values: unknown[] = new Array(columns.length);
    let changes = 0;
    this.#run(`insert into ${this.#location}`, () => {
      for (const row of rows) {
        for (let i = 0; i < columns.length; i++) values[i] = toSqlite(row[columns[i]!], blob[i]);
        changes += insert.run(values).changes;
      }
    });
    if (this.#staged) this.#stagedRows += changes;
    else this.#pending += changes;
    // Inserting is synchronous: the event loop gets its turn between batches.
    await breathe();
  }

  /** Moves staged rows into the table (upsert, or verify content), verifying them when asked. */
  #merge(): void {
    if (!this.#staged || this.#stagedRows === 0) return;
    const { mode, key, verify, table } = this.#ctx.config;
    const upsertKey = mode === 'upsert' ? key! : undefined;
    const doing = `${upsertKey ? 'upsert' : 'insert'} into ${this.#location}`;
    const { written, handed, found } = this.#run(doing, () =>
      mergeStage(this.#db, table, this.#columns!, upsertKey, verify === 'content'),
    );
    this.#pending += written;
    // A key staged twice, or already there as staged with nothing to update, was merged.
    if (upsertKey && this.#stagedRows > written) this.#ctx.merged(this.#stagedRows - written);
    this.#stagedRows = 0;
    if (handed && found) this.#proof.add(handed, found, this.#where, this.#location);
  }

  async flush(): Promise<void> {
    this.#merge();
  }

  #commitTransaction(): void {
    this.#exec('COMMIT', 'commit');
    this.#inTransaction = false;
    this.#committed += this.#pending;
    this.#pending = 0;
  }

  async commit(checkpoint: { seq: number; position: Json }): Promise<undefined> {
    this.#merge();
    this.#run('save the checkpoint', () =>
      this.#db
        .prepare(
          `INSERT INTO ${this.#checkpoints} (key, seq, position, updated_at) VALUES (?, ?, ?, datetime('now'))
           ON CONFLICT (key) DO UPDATE SET seq = excluded.seq, position = excluded.position, updated_at = excluded.updated_at`,
        )
        .run(this.#key, checkpoint.seq, JSON.stringify(checkpoint.position)),
    );
    this.#commitTransaction();
    this.#exec('BEGIN IMMEDIATE', 'start a transaction');
    this.#inTransaction = true;
    return undefined;
  }

  async close(): Promise<SinkResult> {
    this.#merge();
    // The checkpoint row stays until `forget`: see the postgres sink.
    this.#commitTransaction();
    this.#db.close();
    return {
      rowsWritten: this.#committed,
      location: this.#location,
      ...(this.#ctx.config.verify === 'content' ? { verification: this.#proof.verification() } : {}),
    };
  }

  async forget(): Promise<void> {
    const { db, file } = await openDatabase(this.#ctx, this.#ctx.config.path, {
      where: `${this.#where}: config.path`,
    });
    try {
      db.prepare(`DELETE FROM ${this.#checkpoints} WHERE key = ?`).run(this.#key);
    } catch (err) {
      // No checkpoint table: the database was replaced since the run wrote (or it never
      // checkpointed); there is nothing of the run's to remove.
      if (/no such table/.test((err as Error).message)) return;
      throw sqliteError(err, this.#where, file, "remove the run's checkpoint");
    } finally {
      db.close();
    }
  }

  async abort(): Promise<void> {
    try {
      if (this.#inTransaction && this.#db.inTransaction) this.#db.exec('ROLLBACK');
    } catch {
      // Closing the database rolls back what is open anyway.
    }
    this.#inTransaction = false;
    if (this.#db.open) this.#db.close();
  }
}

export const sqliteSink = defineSink({
  name: 'sqlite',
  version: '1.0.0',
  summary: 'Writes rows to a SQLite table, exactly once: data and checkpoint commit together (WAL mode).',
  config: Config,
  connection: sqliteConnection,
  transactional: true,
  example: {
    path: 'data/warehouse.db',
    table: 'orders',
    mode: 'upsert',
    key: ['order_id'],
    createTable: true,
    checkpointTable: 'sluice_checkpoints',
    verify: 'count',
  },
  async open(ctx) {
    const { db, file } = await openDatabase(ctx, ctx.config.path, {
      create: ctx.config.createTable,
      where: `${ctx.componentId}: config.path`,
    });
    return new SqliteWriter(ctx, db, file);
  },
});
