import { createHash } from 'node:crypto';
import { type Static, Type } from '@sinclair/typebox';
import {
  type ComponentContext,
  defineSink,
  ErrorCode,
  FatalError,
  type Json,
  RetryableError,
  type Row,
  type SchemaChange,
  type SinkContext,
  type SinkResult,
  type SinkVerification,
  type SinkWriter,
  verifyMismatch,
  verifyProperty,
} from '@sluice/core';
import { CONTRACTS, Fit, type SchemaContract } from '../shared/schema-contract.ts';
import { type BatchPlan, ChangeLog, changeText, planBatch } from '../shared/schema-evolve.ts';
import { partitionedModeRefusal } from '../shared/sql-sink.ts';
import { builtinWorker } from '../shared/worker-module.ts';
import { connect, type MyConnection, myConnection, myError, myHost } from './conn.ts';
import { MyCredential } from './credential.ts';
import { idList, quoteId } from './ident.ts';
import { type Kind, kindsOf, LoadEncoder } from './load.ts';
import { type LoadResult, LoadStream } from './load-stream.ts';
import {
  addColumnSql,
  checkpointTableSql,
  createTableSql,
  describeTable,
  inferColumnTypes,
  MY_LADDER,
  primaryKeyColumns,
  rowDigestSql,
  stageSql,
  type TableColumn,
  widenColumnSql,
} from './table.ts';

const Config = Type.Object(
  {
    url: Type.String({
      minLength: 1,
      description:
        'MySQL or MariaDB connection url, e.g. mysql://user:password@host:3306/database (or a credential ' +
        'holding it). The server must allow LOAD DATA LOCAL INFILE (local_infile=ON, the default in MariaDB).',
    }),
    table: Type.String({ minLength: 1, description: "Target table, in the url's database." }),
    mode: Type.Unsafe<'append' | 'truncate' | 'upsert'>({
      type: 'string',
      enum: ['append', 'truncate', 'upsert'],
      default: 'append',
      description:
        'append adds rows (a new run is refused while an interrupted run that committed rows can still ' +
        'resume); truncate empties the table with DELETE in the same transaction as the first rows (never ' +
        'on resume; TRUNCATE would commit at once in MySQL); upsert inserts or updates by `key` with ' +
        'INSERT … ON DUPLICATE KEY UPDATE (the last row wins for a repeated key).',
    }),
    key: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        uniqueItems: true,
        description:
          'Columns identifying a row, required for upsert; a primary key or unique index must cover them.',
      }),
    ),
    createTable: Type.Boolean({
      default: false,
      description:
        'Create the table when it is missing, from the fields of the first inferRows rows: integers bigint, ' +
        'other numbers double, booleans boolean, Dates datetime(6), objects and arrays json, bytes longblob, ' +
        'strings, mixed and all-null values longtext (varchar(255) in the key of upsert, its primary key).',
    }),
    inferRows: Type.Integer({
      minimum: 1,
      default: 1000,
      description: 'With createTable: rows held back to infer the new table from.',
    }),
    schema: Type.Unsafe<SchemaContract>({
      type: 'string',
      enum: [...CONTRACTS],
      default: 'evolve',
      description:
        'Schema contract: what happens to a field the table has no column for, or a value too wide for its ' +
        "column's type. evolve adds the column and widens types (tinyint → smallint → mediumint → int → " +
        'bigint → decimal(65,30), varchar(n) → longtext); freeze fails the step naming the column; ' +
        'discard_row quarantines such rows; discard_value writes the row without such values. MySQL commits ' +
        'any open transaction on ALTER TABLE: when rows since the last checkpoint are pending, they are rolled ' +
        'back, the column is changed, and the step fails as retryable so it resumes from its checkpoint.',
    }),
    columns: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        uniqueItems: true,
        description:
          'Fields to write; others are not written, whatever the schema contract. Default: every field.',
      }),
    ),
    checkpointTable: Type.String({
      minLength: 1,
      default: 'sluice_checkpoints',
      description:
        "Table of Sluice's own, in the url's database, where the sink keeps its checkpoints (created when " +
        'missing; one row per running step and sink, written in the same transaction as the rows).',
    }),
    verify: verifyProperty,
  },
  {
    additionalProperties: false,
    if: { properties: { mode: { const: 'upsert' } }, required: ['mode'] },
    // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then, not a thenable.
    then: { required: ['key'] },
  },
);
type Config = Static<typeof Config>;

const STAGE = 'sluice_stage';

/**
 * Seconds a run waits for another to finish changing the table (see #inTurn): as long as another
 * partition's transaction may hold the table, which its change waits for, up to its checkpoint.
 */
const LOCK_WAIT_S = 600;

/** A 64-bit sum as 16 hex digits, as the PostgreSQL sink reports them. */
const hex64 = (sum: bigint): string => BigInt.asUintN(64, sum).toString(16).padStart(16, '0');

// LOAD DATA bytes Node may queue ahead of the server, so encoding the next batch overlaps the
// server's work; as for the PostgreSQL sink's COPY, a few MiB at most, or every commit waits,
// idle, for the server to drain the queue.
const LOAD_BUFFER_BYTES = 2 << 20;

/**
 * Rows go in with `LOAD DATA LOCAL INFILE` from a stream, one statement per checkpoint (or per
 * list of columns) fed batch by batch (see LoadStream). Measured here (MariaDB 10.11, 200k rows of
 * the W1 shape, one transaction): multi-row INSERTs of 1000 and 5000 rows took 2.32 s and 2.04 s,
 * LOAD DATA of 5000- and 50000-row chunks 1.59 s and 1.67 s: the server parses no SQL per value,
 * and the client escapes less. LOAD DATA LOCAL turns data errors into warnings (the server cannot
 * stop a client's upload), so a load with any warning, or with fewer rows than sent, fails the
 * step: nothing is truncated or skipped silently.
 */
class MysqlWriter implements SinkWriter {
  readonly #ctx: SinkContext<Config>;
  readonly #c: MyConnection;
  readonly #where: string;
  readonly #key: string;
  #existing: TableColumn[] | undefined;
  #table = new Map<string, TableColumn>();
  #columns: string[] | undefined;
  #fit: Fit | undefined;
  #kinds: Kind[] = [];
  #encoder: LoadEncoder | undefined;
  /** The encoders' state for the columns written now (see encoderState). */
  #encoded: EncoderState | undefined;
  /** The open LOAD DATA statement, for one list of columns; ended by a flush or a change. */
  #load: { stream: LoadStream; columns: string[]; into: string } | undefined;
  #staged = false;
  /** Columns of the primary key when all are written: verify content reads rows back by them. */
  #readBackKey: string[] | undefined;
  #buffered: Row[] = [];
  #keyChecked = false;
  readonly #changes = new ChangeLog();
  /** The open transaction holds changes (rows, a truncate's DELETE) that DDL would commit. */
  #dirty = false;
  #pending = 0;
  #committed = 0;
  #handed = { rows: 0, sum: 0n };
  #found = { rows: 0, sum: 0n };
  #append = false;

  constructor(ctx: SinkContext<Config>, c: MyConnection) {
    this.#ctx = ctx;
    this.#c = c;
    this.#where = ctx.componentId;
    this.#key = `${ctx.checkpointKey} → ${c.target.database}.${ctx.config.table}`;
    ctx.signal.addEventListener('abort', this.#onAbort, { once: true });
  }

  readonly #onAbort = (): void => {
    void this.#c.cancel();
  };

  get #target(): string {
    return quoteId(this.#ctx.config.table);
  }

  get #location(): string {
    return `${this.#c.target.database}.${this.#ctx.config.table}`;
  }

  async #query<T = unknown>(sql: string, params?: unknown[], doing = 'run a query'): Promise<T> {
    try {
      return await this.#c.query<T>(sql, params);
    } catch (err) {
      if (this.#ctx.signal.aborted) throw this.#ctx.signal.reason;
      throw myError(err, this.#where, this.#c.target, doing);
    }
  }

  async #ensureCheckpointTable(): Promise<void> {
    const name = this.#ctx.config.checkpointTable;
    await this.#query(checkpointTableSql(name), [], `create ${name} (with.checkpointTable)`);
  }

  async recover(): Promise<number | undefined> {
    await this.#ensureCheckpointTable();
    const rows = await this.#query<{ seq: number }[]>(
      `SELECT seq FROM ${quoteId(this.#ctx.config.checkpointTable)} WHERE k = ?`,
      [this.#key],
    );
    await this.#query('COMMIT');
    return rows[0]?.seq;
  }

  async start(resume: Json | undefined): Promise<void> {
    await this.#ensureCheckpointTable();
    const { table, createTable, mode } = this.#ctx.config;
    try {
      this.#existing = await describeTable(this.#c, table);
    } catch (err) {
      throw myError(err, this.#where, this.#c.target, 'inspect the table');
    }
    if (!this.#existing && !createTable) {
      throw new FatalError(
        `${this.#where}: table ${table} (with.table) does not exist in database "${this.#c.target.database}" at ` +
          `${this.#c.target.address} — create it, or set createTable: true`,
        { code: ErrorCode.NOT_FOUND },
      );
    }
    if (resume === undefined) {
      if (mode === 'append' || (this.#append && mode === 'truncate')) {
        const left = await this.recover();
        if (left !== undefined) this.#refuseAppend(left);
      }
      await this.#query(`DELETE FROM ${quoteId(this.#ctx.config.checkpointTable)} WHERE k = ?`, [this.#key]);
    }
    // Everything from here on is one transaction per checkpoint (autocommit is off).
    await this.#query('COMMIT');
    if (resume !== undefined) return;
    if (mode === 'truncate' && this.#existing && !this.#append) {
      await this.#query(`DELETE FROM ${this.#target}`, [], 'empty the table (mode truncate)');
      this.#dirty = true;
    }
  }

  async startAppend(resume: Json | undefined): Promise<void> {
    this.#append = true;
    await this.start(resume);
  }

  #refuseAppend(seq: number): never {
    const t = this.#ctx.config.checkpointTable;
    throw new FatalError(
      `${this.#where}: an earlier run of this step stopped after committing rows to ${this.#location} (its ` +
        `checkpoint ${seq} is still in ${t}); a new run in mode "append" would write them again. Continue ` +
        'that run with --resume (on the platform: retry its job), or, to append anyway, delete its ' +
        `checkpoint: DELETE FROM ${t} WHERE k = '${this.#key.replaceAll("'", "''")}'`,
      { code: ErrorCode.CHECKPOINT },
    );
  }

  async #prepare(rows: Row[]): Promise<void> {
    const { key, mode, columns: configured, verify, table } = this.#ctx.config;
    // The partitions of a step may all find the table missing at once: they take turns, and
    // those after the first find the table and use it.
    this.#existing ??= await this.#inTurn(async () => {
      const found = await describeTable(this.#c, table);
      if (found) return found;
      const columns = configured ?? fieldsOf(rows);
      if (columns.length === 0)
        throw new FatalError(
          `${this.#where}: the first rows have no fields, so table ${table} cannot be created from them; ` +
            'list the fields in with.columns, or create the table',
          { code: ErrorCode.CONFIG },
        );
      const types = inferColumnTypes(rows, columns);
      // No rows are pending yet: the implicit commit of CREATE TABLE takes nothing with it.
      await this.#query(
        createTableSql(table, columns, types, mode === 'upsert' ? key : undefined),
        [],
        'create the table',
      );
      this.#ctx.log.info(`created table ${this.#location} from ${rows.length} row(s)`, { columns, types });
      return (await describeTable(this.#c, table)) ?? [];
    });
    this.#table = new Map(this.#existing.map((c) => [c.name, c]));
    this.#setColumns((configured ?? Object.keys(rows[0]!)).filter((c) => this.#table.has(c)));
    this.#staged = mode === 'upsert' || verify === 'content';
    if (verify === 'content' && mode !== 'upsert') {
      const pk = await primaryKeyColumns(this.#c, table);
      this.#readBackKey = pk.length > 0 && pk.every((k) => this.#columns!.includes(k)) ? pk : undefined;
    }
    await this.#makeStage();
  }

  async #makeStage(): Promise<void> {
    if (!this.#staged) return;
    await this.#query(`DROP TEMPORARY TABLE IF EXISTS ${STAGE}`);
    await this.#query(
      stageSql(STAGE, this.#ctx.config.table, this.#columns!),
      [],
      'create the staging table',
    );
  }

  #setColumns(columns: string[]): void {
    this.#columns = columns;
    this.#fit = new Fit(MY_LADDER, [...this.#table.values()], columns, this.#ctx.config.columns);
    this.#kinds = kindsOf(columns, this.#table);
    this.#encoder = new LoadEncoder(columns, this.#kinds);
  }

  /** A lock of MySQL's (GET_LOCK) for this table, its name short enough for any server (64 characters). */
  get #lockName(): string {
    const id = createHash('sha1')
      .update(`${this.#c.target.database}.${this.#ctx.config.table}`)
      .digest('hex');
    return `sluice:${id}`;
  }

  /**
   * Runs `change` (DDL, which commits in MySQL) holding this table's lock, so runs (the partitions
   * of a step) change the table in turns, each on the table as the last one left it. Taken with no
   * transaction open: the one waiting would otherwise hold the table's metadata lock, which the
   * one changing it waits for.
   */
  async #inTurn<T>(change: () => Promise<T>): Promise<T> {
    if (this.#dirty)
      throw new FatalError(
        `${this.#where}: a change to ${this.#location} was about to commit the rows pending since the last ` +
          'checkpoint without their checkpoint; this is a bug of the sink',
        { code: ErrorCode.INTERNAL },
      );
    await this.#query('COMMIT');
    const name = this.#lockName;
    const [got] = await this.#query<{ ok: number | null }[]>(
      'SELECT GET_LOCK(?, ?) AS ok',
      [name, LOCK_WAIT_S],
      `wait for another run changing ${this.#location}`,
    );
    if (got?.ok !== 1)
      throw new RetryableError(
        `${this.#where}: waited ${LOCK_WAIT_S} s for another run (another partition of this step) to finish ` +
          `changing ${this.#location}; the step is retried`,
      );
    try {
      return await change();
    } finally {
      await this.#c.query('SELECT RELEASE_LOCK(?)', [name]).catch(() => undefined);
    }
  }

  async #admit(rows: Row[]): Promise<Row[]> {
    for (let pass = 0; pass < 3; pass++) {
      if (this.#fit!.fits(rows)) break;
      const found = this.#fit!.scan(rows);
      if (!found) break;
      const table = this.#ctx.config.table;
      const plan = planBatch(found, rows, {
        contract: this.#ctx.config.schema,
        table: this.#table,
        where: this.#where,
        location: this.#location,
        infer: inferColumnTypes,
        addColumnSql: (column, type) => addColumnSql(table, column, type),
        widenColumnSql: (column, type) => widenColumnSql(table, column, type),
      });
      for (const d of plan.discarded) this.#ctx.quarantine({ reason: d.reason, row: rows[d.index]! });
      for (const c of plan.counted) this.#note(c);
      rows = plan.rows;
      if (plan.add.length + plan.widen.length + plan.write.length === 0) break;
      await this.#reshape(plan);
    }
    return rows;
  }

  async #reshape(plan: BatchPlan): Promise<void> {
    const table = this.#ctx.config.table;
    // The session takes no other statement while a load is open (and the load may fail the step).
    await this.#endLoad();
    const columnsNow = async () =>
      new Map(((await describeTable(this.#c, table)) ?? []).map((c) => [c.name, c]));
    // Changes still to make on the table as it is now: another run (a partition of the step) may
    // have made them.
    const needed = (now: Map<string, TableColumn>) =>
      plan.add.some((a) => !now.has(a.column)) || plan.widen.some((w) => now.get(w.column)?.type === w.from);
    const change = needed(await columnsNow());
    const rolledBack = change && this.#dirty;
    if (rolledBack) {
      // DDL commits the open transaction in MySQL: rows pending since the last checkpoint go
      // back, and the step resumes from it once the table is changed.
      await this.#query('ROLLBACK');
      this.#dirty = false;
      this.#pending = 0;
    }
    const done: string[] = [];
    if (change)
      await this.#inTurn(async () => {
        const now = await columnsNow();
        for (const { column, type } of plan.add) {
          // Another run added it first: its type stands, and the table is read again below.
          if (now.has(column)) continue;
          try {
            await this.#query(addColumnSql(table, column, type), [], `add column ${column}`);
          } catch (err) {
            if ((err as { cause?: { code?: string } }).cause?.code !== 'ER_DUP_FIELDNAME') throw err;
            continue;
          }
          done.push(`add column ${column}`);
          this.#note({ change: 'column_added', column, type });
        }
        for (const { column, from, to } of plan.widen) {
          // Changed since: the next pass of #admit plans again from the type it has now (one
          // planned from the old type could narrow it).
          const current = now.get(column);
          if (current?.type !== from) continue;
          await this.#query(
            widenColumnSql(table, column, to, current.nullable),
            [],
            `widen column ${column}`,
          );
          done.push(`widen column ${column}`);
          this.#note({ change: 'type_widened', column, from, type: to });
        }
      });
    if (rolledBack)
      throw new RetryableError(
        `${this.#where}: ${this.#location} needed a change (${done.join(', ') || 'made by another run meanwhile'}), ` +
          "which MySQL cannot make inside the run's transaction: the rows since the last checkpoint were rolled " +
          'back and the change made; the step resumes from its checkpoint (if no retry is left, run it again with --resume)',
        { code: ErrorCode.CONFIG },
      );
    this.#existing = (await describeTable(this.#c, table)) ?? [];
    this.#table = new Map(this.#existing.map((c) => [c.name, c]));
    const more = [...plan.write, ...plan.add.map((a) => a.column)].filter((c) => !this.#columns!.includes(c));
    this.#setColumns([...this.#columns!, ...new Set(more)]);
    await this.#makeStage();
  }

  #note(c: SchemaChange): void {
    const first = this.#changes.add(c);
    const text = changeText(c, this.#location);
    if (c.change === 'column_added' || c.change === 'type_widened') this.#ctx.log.info(text);
    else if (first) this.#ctx.log.warn(`${text}; the run report has the total`);
  }

  async write(rows: Row[]): Promise<void> {
    if (this.#ctx.signal.aborted) throw this.#ctx.signal.reason;
    if (rows.length === 0) return;
    if (!this.#existing) {
      for (const r of rows) this.#buffered.push(r);
      if (this.#buffered.length < this.#ctx.config.inferRows) return;
      rows = this.#buffered;
      this.#buffered = [];
    }
    await this.#writeRows(rows);
  }

  async #writeRows(given: Row[]): Promise<void> {
    if (!this.#columns) await this.#prepare(given);
    const admitted = await this.#admit(given);
    if (admitted.length === 0) return;
    if (!this.#keyChecked) this.#checkColumns();
    const batch = loadRows(this.#ctx, this.#encoder!, admitted, this.#location);
    await this.#send(batch.data, batch.rows, this.#columns!, this.#kinds);
  }

  encoderState(): Json | undefined {
    if (this.#columns === undefined) return undefined;
    // One object per list of columns: `#send` tells lists apart by identity.
    if (this.#encoded?.columns !== this.#columns) {
      this.#encoded = {
        columns: this.#columns,
        kinds: this.#kinds,
        types: this.#columns.map((c) => this.#table.get(c)!.type),
        location: this.#location,
      };
    }
    return this.#encoded;
  }

  async writeEncoded(data: Uint8Array, _rows: number, state: Json): Promise<void> {
    if (this.#ctx.signal.aborted) throw this.#ctx.signal.reason;
    // Chunks may reach the sink before any batch went through `write` (which checks this).
    if (!this.#keyChecked) this.#checkColumns();
    const { columns, kinds } = state as EncoderState;
    // The stream holds the bytes until the socket took them: a copy, as `data` is reused. Every
    // row is one line (a line feed in a value is escaped), and quarantined rows have none.
    await this.#send(Buffer.from(data), lineCount(data), columns, kinds);
  }

  /**
   * Appends `rows` encoded rows of `columns` to the open load, first opening one for them when
   * none is (bytes encoded before the columns grew are for the columns of their time).
   */
  async #send(data: Uint8Array, rows: number, columns: string[], kinds: readonly Kind[]): Promise<void> {
    if (rows === 0) return;
    if (this.#load && this.#load.columns !== columns) await this.#endLoad();
    const into = this.#staged ? STAGE : this.#ctx.config.table;
    this.#load ??= {
      stream: new LoadStream(this.#c, new LoadEncoder(columns, kinds).statement(into), LOAD_BUFFER_BYTES),
      columns,
      into,
    };
    this.#dirty = true;
    try {
      await this.#load.stream.write(data, rows);
    } catch (err) {
      throw this.#loadFailed(err, into);
    }
  }

  #loadFailed(err: unknown, into: string): Error {
    if (this.#ctx.signal.aborted) return this.#ctx.signal.reason;
    const doing = `load rows into ${into === STAGE ? 'the staging table' : this.#location}`;
    return myError(err, this.#where, this.#c.target, doing);
  }

  /** Ends the open load, checks that the server took every row, and merges staged rows. */
  async #endLoad(): Promise<void> {
    const open = this.#load;
    if (!open) return;
    this.#load = undefined;
    const rows = open.stream.rows;
    let done: LoadResult;
    try {
      done = await open.stream.end();
    } catch (err) {
      throw this.#loadFailed(err, open.into);
    }
    if (done.warningStatus > 0 || done.affectedRows !== rows) {
      const warnings =
        await this.#query<{ Level: string; Code: number; Message: string }[]>('SHOW WARNINGS LIMIT 5');
      throw new FatalError(
        `${this.#where}: MySQL took ${done.affectedRows} of ${rows} row(s) into ${this.#location} with ` +
          `${done.warningStatus} warning(s): ${warnings.map((w) => w.Message).join('; ') || 'none listed'} — ` +
          'check the values against the column types (nothing of this checkpoint was committed)',
        { code: ErrorCode.INTEGRITY },
      );
    }
    if (open.into === STAGE) await this.#mergeStage();
    else this.#pending += rows;
  }

  #checkColumns(): void {
    const { key, mode } = this.#ctx.config;
    const columns = this.#columns!;
    if (columns.length === 0)
      throw new FatalError(
        `${this.#where}: no field of the rows has a column in table ${this.#location} (its columns: ` +
          `${[...this.#table.keys()].join(', ')}); rename the fields, or set schema: evolve to add columns`,
        { code: ErrorCode.CONFIG },
      );
    const missing = (key ?? []).filter((k) => !columns.includes(k));
    if (mode === 'upsert' && missing.length > 0)
      throw new FatalError(
        `${this.#where}: with.key column(s) ${missing.join(', ')} are not among the written fields`,
        {
          code: ErrorCode.CONFIG,
        },
      );
    this.#keyChecked = true;
  }

  /** Moves staged rows into the table (upsert, or append under verify content) and verifies them. */
  async #mergeStage(): Promise<void> {
    const { key, mode, verify } = this.#ctx.config;
    const columns = this.#columns!;
    const cols = idList(columns);
    const content = verify === 'content';
    if (mode !== 'upsert') {
      const handed = content ? await this.#digest(`SELECT * FROM ${STAGE}`) : undefined;
      const pk = this.#readBackKey;
      const before = content && !pk ? await this.#digest(`SELECT * FROM ${this.#target}`) : undefined;
      const res = await this.#query<{ affectedRows: number }>(
        `INSERT INTO ${this.#target} (${cols}) SELECT ${cols} FROM ${STAGE} ORDER BY sluice_ord`,
        [],
        `insert into ${this.#location}`,
      );
      this.#pending += res.affectedRows;
      if (handed) {
        // By the primary key when it is written; else the table's digest after less before, which
        // in the run's snapshot differs by exactly the rows inserted (but reads the whole table).
        let found: { rows: number; sum: bigint };
        if (pk) {
          const keys = idList(pk);
          found = await this.#digest(
            `SELECT * FROM ${this.#target} WHERE (${keys}) IN (SELECT ${keys} FROM ${STAGE})`,
          );
        } else {
          const after = await this.#digest(`SELECT * FROM ${this.#target}`);
          found = { rows: after.rows - before!.rows, sum: after.sum - before!.sum };
        }
        this.#check(handed, found);
      }
      await this.#query(`DELETE FROM ${STAGE}`);
      return;
    }
    const keys = idList(key!);
    const [count] = await this.#query<{ n: number; d: number }[]>(
      `SELECT COUNT(*) AS n, COUNT(DISTINCT ${keys}) AS d FROM ${STAGE}`,
    );
    const handed = content
      ? await this.#digest(
          `SELECT * FROM (SELECT s.*, ROW_NUMBER() OVER (PARTITION BY ${keys} ORDER BY sluice_ord DESC) AS sluice_rn ` +
            `FROM ${STAGE} s) l WHERE sluice_rn = 1`,
        )
      : undefined;
    const updates = columns
      .filter((c) => !key!.includes(c))
      .map((c) => `${quoteId(c)} = VALUES(${quoteId(c)})`);
    // Rows go in arrival order, so a key repeated in the batch ends with its last row's values.
    await this.#query(
      `INSERT INTO ${this.#target} (${cols}) SELECT ${cols} FROM ${STAGE} ORDER BY sluice_ord ` +
        `ON DUPLICATE KEY UPDATE ${updates.length > 0 ? updates.join(', ') : `${quoteId(key![0]!)} = ${quoteId(key![0]!)}`}`,
      [],
      `upsert into ${this.#location}`,
    );
    this.#pending += Number(count!.d);
    if (count!.n > count!.d) this.#ctx.merged(Number(count!.n) - Number(count!.d));
    if (handed) {
      const found = await this.#digest(
        `SELECT * FROM ${this.#target} WHERE (${keys}) IN (SELECT ${keys} FROM ${STAGE})`,
      );
      this.#check(handed, found);
    }
    await this.#query(`DELETE FROM ${STAGE}`);
  }

  async #digest(from: string): Promise<{ rows: number; sum: bigint }> {
    const [r] = await this.#query<{ n: number; s: string }[]>(
      rowDigestSql(from, this.#columns!),
      [],
      `verify ${this.#location}`,
    );
    return { rows: Number(r!.n), sum: BigInt(r!.s) };
  }

  #check(handed: { rows: number; sum: bigint }, found: { rows: number; sum: bigint }): void {
    this.#handed = { rows: this.#handed.rows + handed.rows, sum: this.#handed.sum + handed.sum };
    this.#found = { rows: this.#found.rows + found.rows, sum: this.#found.sum + found.sum };
    if (handed.rows !== found.rows || handed.sum !== found.sum)
      throw verifyMismatch(this.#where, `table ${this.#location}`, this.#verification());
  }

  #verification(): SinkVerification {
    return {
      level: 'content',
      rowsHanded: this.#handed.rows,
      rowsFound: this.#found.rows,
      handed: hex64(this.#handed.sum),
      found: hex64(this.#found.sum),
    };
  }

  async flush(): Promise<void> {
    if (this.#buffered.length > 0) {
      const rows = this.#buffered;
      this.#buffered = [];
      await this.#writeRows(rows);
    }
    await this.#endLoad();
  }

  async #commitTransaction(): Promise<void> {
    await this.#query('COMMIT', [], 'commit');
    this.#dirty = false;
    this.#committed += this.#pending;
    this.#pending = 0;
  }

  async commit(checkpoint: { seq: number; position: Json }): Promise<undefined> {
    await this.flush();
    await this.#query(
      `INSERT INTO ${quoteId(this.#ctx.config.checkpointTable)} (k, seq, position, updated_at) VALUES (?, ?, ?, NOW(6))
       ON DUPLICATE KEY UPDATE seq = VALUES(seq), position = VALUES(position), updated_at = VALUES(updated_at)`,
      [this.#key, checkpoint.seq, JSON.stringify(checkpoint.position)],
      'save the checkpoint',
    );
    await this.#commitTransaction();
    return undefined;
  }

  async close(): Promise<SinkResult> {
    await this.flush();
    await this.#commitTransaction();
    this.#ctx.signal.removeEventListener('abort', this.#onAbort);
    await this.#c.end();
    return {
      rowsWritten: this.#committed,
      location: this.#location,
      ...(this.#ctx.config.verify === 'content' ? { verification: this.#verification() } : {}),
      ...(this.#changes.list().length > 0 ? { schemaChanges: this.#changes.list() } : {}),
    };
  }

  async forget(): Promise<void> {
    const c = await open(this.#ctx);
    try {
      await c.query(`DELETE FROM ${quoteId(this.#ctx.config.checkpointTable)} WHERE k = ?`, [this.#key]);
      await c.query('COMMIT');
    } catch (err) {
      throw myError(err, this.#where, c.target, "remove the run's checkpoint");
    } finally {
      await c.end();
    }
  }

  async abort(error: unknown): Promise<void> {
    this.#ctx.signal.removeEventListener('abort', this.#onAbort);
    this.#load?.stream.cancel(error instanceof Error ? error : new Error(String(error)));
    this.#load = undefined;
    // Dropping the session rolls back its transaction; a ROLLBACK first frees the locks sooner.
    await Promise.race([
      this.#c.query('ROLLBACK').catch(() => undefined),
      new Promise((resolve) => setTimeout(resolve, 5000).unref()),
    ]);
    this.#c.destroy();
  }
}

/** What the encoder needs from the writer, which learns it from the table and the first rows. */
type EncoderState = { columns: string[]; kinds: Kind[]; types: string[]; location: string };

/**
 * `rows` as LOAD DATA lines; rows with a value MySQL cannot take go to quarantine. The writer's
 * `write` and the parallel path's encoder (in a worker thread) both use it.
 */
function loadRows(
  ctx: ComponentContext<Config>,
  encoder: LoadEncoder,
  rows: readonly Row[],
  location: string,
): { data: Buffer; rows: number } {
  const batch = encoder.encode(rows);
  for (const bad of batch.rejected)
    ctx.quarantine({ reason: `${bad.reason} (table ${location})`, row: rows[bad.index]! });
  return batch;
}

/** Rows in LOAD DATA bytes: one line feed ends each (one inside a value is escaped as `\n`). */
function lineCount(data: Uint8Array): number {
  let n = 0;
  for (let at = data.indexOf(10); at !== -1; at = data.indexOf(10, at + 1)) n++;
  return n;
}

function fieldsOf(rows: readonly Row[]): string[] {
  const seen = new Set<string>();
  for (const row of rows) for (const k of Object.keys(row)) seen.add(k);
  return [...seen];
}

/** A session with autocommit off: every change waits for the checkpoint's COMMIT. */
async function open(ctx: SinkContext<Config>): Promise<MyConnection> {
  const c = await connect(ctx.config.url, {
    where: ctx.componentId,
    guard: ctx.guardConnect,
    net: ctx,
    onError: (err) => ctx.log.warn(`connection to MySQL lost: ${err.message}`),
  });
  try {
    await c.query('SET autocommit = 0');
  } catch (err) {
    await c.end();
    throw myError(err, ctx.componentId, c.target, 'set up the session');
  }
  return c;
}

export const mysqlSink = defineSink({
  name: 'mysql',
  version: '1.0.0',
  summary:
    'Writes rows to a MySQL or MariaDB table with LOAD DATA LOCAL INFILE, exactly once: data and checkpoint commit together.',
  config: Config,
  credentialSchema: MyCredential,
  connection: myConnection,
  transactional: true,
  server: (config) => myHost(config.url),
  rowEncoder: {
    create(ctx, state) {
      const { columns, kinds, types, location } = state as EncoderState;
      const encoder = new LoadEncoder(columns, kinds);
      const fit = new Fit(
        MY_LADDER,
        columns.map((name, i) => ({ name, type: types[i]! })),
        columns,
        ctx.config.columns,
      );
      // A field with no column yet, or a value too wide for one: the writer applies the contract.
      return (rows) => {
        if (!fit.fits(rows)) return undefined;
        // The caller copied the last bytes: the slab is written over instead of growing garbage.
        encoder.reuse();
        return loadRows(ctx, encoder, rows, location).data;
      };
    },
  },
  worker: builtinWorker,
  partitions: { check: (c) => partitionedModeRefusal(c.mode, c.table) },
  example: {
    url: 'mysql://etl@localhost:3306/warehouse',
    table: 'customers',
    mode: 'upsert',
    key: ['customer_id'],
    createTable: false,
    inferRows: 1000,
    schema: 'evolve',
    checkpointTable: 'sluice_checkpoints',
    verify: 'count',
  },
  async open(ctx) {
    const { mode, key } = ctx.config;
    if (mode === 'upsert' && (key === undefined || key.length === 0))
      throw new FatalError(
        `${ctx.componentId}: mode "upsert" needs with.key: the columns that identify a row`,
        {
          code: ErrorCode.CONFIG,
        },
      );
    return new MysqlWriter(ctx, await open(ctx));
  },
});
