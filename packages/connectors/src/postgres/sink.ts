import { type Static, Type } from '@sinclair/typebox';
import {
  type ComponentContext,
  defineSink,
  ErrorCode,
  FatalError,
  type Issue,
  type Json,
  type Row,
  type SchemaChange,
  type SinkContext,
  type SinkResult,
  type SinkWriter,
  verifyProperty,
} from '@sluice/core';
import type pg from 'pg';
import { fieldsOf } from '../shared/column-kinds.ts';
import { type BatchPlan, ChangeLog, changeText, planBatch } from '../shared/schema-evolve.ts';
import {
  appendAfterInterruption,
  ContentProof,
  keyProperty,
  modeProperty,
  partitionedModeRefusal,
  upsertNeedsKey,
} from '../shared/sql-sink.ts';
import { builtinWorker } from '../shared/worker-module.ts';
import { connect, type PgConnection, pgConnection, pgError, pgHost } from './conn.ts';
import { CONTRACTS, Fit, isContract, type SchemaContract } from './contract.ts';
import { CopyEncoder } from './copy.ts';
import { CopyIn, loadCopyIn, within } from './copy-in.ts';
import { PgCredential } from './credential.ts';
import { identList, qualified, quoteIdent } from './ident.ts';
import {
  addColumnSql,
  CHECKPOINT_TABLE,
  checkpointTableSql,
  createTableSql,
  describeTable,
  inferColumnTypes,
  mergeSql,
  rowDigestSql,
  schemaExists,
  stageSql,
  type TableColumn,
  widenColumnSql,
  withDeclaredTypes,
} from './table.ts';

const Config = Type.Object(
  {
    url: Type.String({
      minLength: 1,
      description: 'PostgreSQL connection url, e.g. postgres://user:password@host:5432/database',
    }),
    table: Type.String({
      minLength: 1,
      description: 'Target table name (taken literally: no schema prefix; see dbSchema).',
    }),
    dbSchema: Type.String({
      minLength: 1,
      default: 'public',
      description: 'PostgreSQL schema (namespace) of the target table.',
      examples: ['public', 'analytics'],
    }),
    // A string checked by `check`, not an enum: an old spec's `schema: analytics` (the namespace,
    // before dbSchema) then gets a message saying where the namespace went.
    schema: Type.Unsafe<SchemaContract>({
      type: 'string',
      default: 'evolve',
      examples: [...CONTRACTS],
      description:
        'Schema contract: what happens to a field the table has no column for, or a value too wide for ' +
        "its column's type. evolve adds the column (ALTER TABLE ADD COLUMN, its type inferred from the " +
        'batch) and widens types where no value can change: smallint → integer → bigint → numeric, ' +
        'varchar(n) → text; freeze fails the step naming the column; discard_row quarantines such rows; ' +
        'discard_value writes the row without such values. Fields null in every row ask for nothing. ' +
        "Changes are made in the run's transaction, logged, and listed in the run report. Other type " +
        "mismatches (a word in an integer column) are PostgreSQL's to refuse, as before.",
    }),
    checkpointSchema: Type.String({
      minLength: 1,
      default: 'sluice',
      description:
        "Schema of Sluice's own where the sink keeps its checkpoints (table checkpoints, created with the " +
        'schema when missing; one row per running step and sink, removed when the run succeeds).',
    }),
    mode: modeProperty,
    key: keyProperty,
    createTable: Type.Boolean({
      default: false,
      description:
        'Create the table when it is missing, with the fields of the first inferRows rows as columns ' +
        'and types inferred from all their values: integers bigint, other numbers double precision, ' +
        'booleans boolean, Dates timestamptz, objects and arrays jsonb, strings, mixed and all-null ' +
        'values text. A type the spec declares before the sink (a source `schema`, a `cast`) wins: ' +
        'integer bigint, number double precision, boolean, date date, timestamp timestamptz, string text.',
    }),
    inferRows: Type.Integer({
      minimum: 1,
      default: 1000,
      description:
        'With createTable: rows held back to infer the new table from, so a field null in the first ' +
        'batch still gets its type. Fewer when the input ends, or a checkpoint comes, first.',
      examples: [1000, 10000],
    }),
    columns: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        uniqueItems: true,
        description:
          'Fields to write; other fields are not written, whatever the schema contract. Default: every ' +
          'field of the rows (the contract decides about those the table has no column for).',
      }),
    ),
    verify: verifyProperty,
    batchRows: Type.Optional(
      Type.Integer({
        minimum: 1,
        description:
          'Rows encoded per chunk of COPY data, to bound memory for very large batches; default: a whole ' +
          'batch at once.',
      }),
    ),
  },
  upsertNeedsKey,
);
type Config = Static<typeof Config>;

// COPY data Node may queue ahead of the server, so encoding the next batch overlaps the server's
// work. Measured (500k rows, a checkpoint every 100k): 1–2 MiB ran at ~1.2× psql \copy; 8 MiB at
// ~2×, as every commit then waits, idle, for the server to drain the whole queue.
const COPY_BUFFER_BYTES = 2 << 20;

/** Tuple ids of the rows a flush inserted, to read them back (verify content, modes append and truncate). */
const WRITTEN = 'sluice_written';

/** SQLSTATEs of a CREATE … IF NOT EXISTS that lost a race to another session. */
const NAME_TAKEN = new Set(['23505', '42P07', '42P06', '42710']);

class PostgresWriter implements SinkWriter {
  readonly #ctx: SinkContext<Config>;
  readonly #conn: PgConnection;
  readonly #where: string;
  readonly #target: string;
  readonly #checkpoints: string;
  /** The run's key and the target: runs of one name loading different tables keep apart. */
  readonly #key: string;
  /** The columns written now: a new array whenever they change (a COPY is for one list). */
  #columns: string[] | undefined;
  #arrayColumns: boolean[] = [];
  #existing: TableColumn[] | undefined;
  #table = new Map<string, TableColumn>();
  #fit: Fit | undefined;
  /** The encoders' state for the columns written now (see encoderState). */
  #encoded: EncoderState | undefined;
  /** createTable: rows held back to infer the table from (see inferRows). */
  #buffered: Row[] = [];
  #keyChecked = false;
  readonly #changes = new ChangeLog();
  #stage: string | undefined;
  #copy: { stream: CopyIn; columns: string[] } | undefined;
  readonly #encoder = new CopyEncoder();
  #checkpointTableReady = false;
  #inTransaction = false;
  #pending = 0;
  #committed = 0;
  /** verify content: rows and checksum handed over and found, summed over this attempt's flushes. */
  readonly #proof = new ContentProof();
  /** Started by `startAppend` (a replay): the table keeps its rows whatever the mode. */
  #append = false;

  constructor(ctx: SinkContext<Config>, conn: PgConnection) {
    this.#ctx = ctx;
    this.#conn = conn;
    this.#where = ctx.componentId;
    this.#target = qualified(ctx.config.dbSchema, ctx.config.table);
    this.#checkpoints = qualified(ctx.config.checkpointSchema, CHECKPOINT_TABLE);
    this.#key = `${ctx.checkpointKey} → ${ctx.config.dbSchema}.${ctx.config.table}`;
    ctx.signal.addEventListener('abort', this.#onAbort, { once: true });
  }

  // A statement waiting on a lock (TRUNCATE behind a long reader, say) ignores the client; only a
  // server-side cancel stops it, and the failed query then reports the cancellation.
  readonly #onAbort = (): void => {
    void this.#conn.cancel();
  };

  get #location(): string {
    return `${this.#ctx.config.dbSchema}.${this.#ctx.config.table}`;
  }

  async #query(sql: string, params?: unknown[], doing = 'run a query'): Promise<pg.QueryResult> {
    try {
      return await this.#conn.client.query(sql, params);
    } catch (err) {
      if (this.#ctx.signal.aborted) throw this.#ctx.signal.reason;
      throw pgError(err, this.#where, this.#conn.target, doing);
    }
  }

  async #ensureCheckpointTable(): Promise<void> {
    if (this.#checkpointTableReady) return;
    const { checkpointSchema } = this.#ctx.config;
    // Each statement on its own: a partition that lost the race to create the schema must still
    // find the table, which the winner may not have created yet.
    for (const sql of [
      `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(checkpointSchema)}`,
      checkpointTableSql(this.#checkpoints),
    ]) {
      try {
        await this.#conn.client.query(sql);
      } catch (err) {
        // Two sinks creating it at once: one wins, the other sees the name taken (as a unique
        // violation, the relation, the schema, or the table's row type: 42710); both may go on.
        const code = (err as { code?: string }).code ?? '';
        if (!NAME_TAKEN.has(code)) {
          throw pgError(
            err,
            this.#where,
            this.#conn.target,
            `create ${checkpointSchema}.${CHECKPOINT_TABLE} (set checkpointSchema to a schema ` +
              'this user may create tables in)',
          );
        }
      }
    }
    this.#checkpointTableReady = true;
  }

  async recover(): Promise<number | undefined> {
    await this.#ensureCheckpointTable();
    const res = await this.#query(`SELECT seq FROM ${this.#checkpoints} WHERE key = $1`, [this.#key]);
    return res.rows[0]?.seq as number | undefined;
  }

  async start(resume: Json | undefined): Promise<void> {
    await this.#ensureCheckpointTable();
    const { dbSchema, table, createTable, mode } = this.#ctx.config;
    try {
      this.#existing = await describeTable(this.#conn.client, this.#target);
      if (!this.#existing && !createTable) {
        const hint = (await schemaExists(this.#conn.client, dbSchema))
          ? `create it, or set createTable: true${table.includes('.') ? ` (for schema.table set dbSchema: and table: apart)` : ''}`
          : `schema "${dbSchema}" does not exist either`;
        throw new FatalError(
          `${this.#where}: table ${this.#location} does not exist in database "${this.#conn.target.database}" at ` +
            `${this.#conn.target.address} — ${hint}`,
          { code: ErrorCode.NOT_FOUND },
        );
      }
    } catch (err) {
      if (this.#ctx.signal.aborted) throw this.#ctx.signal.reason;
      throw err instanceof FatalError
        ? err
        : pgError(err, this.#where, this.#conn.target, 'inspect the table');
    }
    // A fresh run drops the old checkpoint at once, in its own transaction: left pending until the
    // first commit, it could be taken by a resume after a crash for this run's own first checkpoint.
    if (resume === undefined) {
      // An interrupted run under this key committed rows; appending afresh would write them twice
      // (an incremental source starts again from the cursor of the last successful run).
      if (mode === 'append' || (this.#append && mode === 'truncate')) {
        const left = await this.recover();
        if (left !== undefined) this.#refuseAppendAfterInterruption(left);
      }
      await this.#query(`DELETE FROM ${this.#checkpoints} WHERE key = $1`, [this.#key]);
    }
    await this.#query('BEGIN');
    this.#inTransaction = true;
    if (resume !== undefined) return;
    if (mode === 'truncate' && this.#existing && !this.#append)
      await this.#query(`TRUNCATE ${this.#target}`, [], 'truncate');
  }

  /** A replay adds to the table: truncate acts as append, append and upsert as configured. */
  async startAppend(resume: Json | undefined): Promise<void> {
    this.#append = true;
    await this.start(resume);
  }

  #refuseAppendAfterInterruption(seq: number): never {
    throw appendAfterInterruption(this.#where, this.#location, this.#checkpoints, this.#key, seq);
  }

  /** Settles the table on the first rows: creates it (createTable), reads its columns, prepares staging. */
  async #prepare(rows: Row[]): Promise<void> {
    const { key, mode, columns: configured } = this.#ctx.config;
    // The partitions of a step may all find the table missing at once: CREATE TABLE IF NOT EXISTS
    // does not stop the second of two (it waits for the first to commit, then fails on the name),
    // so creators take turns, and the others then find the table and use it.
    let turn = false;
    if (!this.#existing) {
      await this.#ddlTurn();
      turn = true;
      this.#existing = await this.#describe();
    }
    if (!this.#existing) {
      const columns = configured ?? fieldsOf(rows);
      if (columns.length === 0) {
        throw new FatalError(
          `${this.#where}: the first rows have no fields, so table ${this.#location} cannot be created from ` +
            'them; list the fields to write in columns, or create the table',
          { code: ErrorCode.CONFIG },
        );
      }
      const types = withDeclaredTypes(columns, inferColumnTypes(rows, columns), this.#ctx.columns);
      await this.#query(createTableSql(this.#target, columns, types, mode === 'upsert' ? key : undefined));
      this.#existing = columns.map((name, i) => ({ name, type: types[i]!, isArray: false }));
      this.#ctx.log.info(`created table ${this.#location} from ${rows.length} row(s)`, { columns, types });
    }
    this.#table = new Map(this.#existing.map((c) => [c.name, c]));
    this.#setColumns((configured ?? Object.keys(rows[0]!)).filter((c) => this.#table.has(c)));
    // The first rows need a column changed: take the turn before the staging table below takes a
    // lock on the table, which another partition's ALTER would wait on while it waits for ours.
    if (!turn && this.#ctx.config.schema === 'evolve' && !this.#fit!.fits(rows)) {
      await this.#ddlTurn();
      this.#existing = (await this.#describe()) ?? [];
      this.#table = new Map(this.#existing.map((c) => [c.name, c]));
      this.#setColumns((configured ?? Object.keys(rows[0]!)).filter((c) => this.#table.has(c)));
    }
    // Content verification stages every mode: the staged rows are what the sink handed over, typed
    // by the table, but with none of its triggers, rules or constraints.
    if (mode === 'upsert' || this.#ctx.config.verify === 'content') {
      this.#stage = quoteIdent('sluice_stage');
      for (const sql of stageSql(this.#stage, this.#target, this.#columns!)) await this.#query(sql);
      if (mode !== 'upsert') await this.#query(`CREATE TEMP TABLE IF NOT EXISTS ${WRITTEN} (t tid)`);
    }
  }

  #setColumns(columns: string[]): void {
    this.#columns = columns;
    this.#arrayColumns = columns.map((c) => this.#table.get(c)!.isArray);
    this.#fit = new Fit([...this.#table.values()], columns, this.#ctx.config.columns);
  }

  /**
   * Applies the schema contract to a batch: adds and widens columns (evolve), fails (freeze), sets
   * rows (discard_row) or values (discard_value) aside; returns the rows to write.
   */
  async #admit(rows: Row[]): Promise<Row[]> {
    // A second pass checks the values of columns the first one started writing.
    for (let pass = 0; pass < 3; pass++) {
      if (this.#fit!.fits(rows)) break;
      const found = this.#fit!.scan(rows);
      if (!found) break;
      const plan = planBatch(found, rows, {
        contract: this.#ctx.config.schema,
        table: this.#table,
        where: this.#where,
        location: this.#location,
        infer: inferColumnTypes,
        addColumnSql: (column, type) =>
          `ALTER TABLE ${this.#target} ADD COLUMN ${quoteIdent(column)} ${type}`,
        widenColumnSql: (column, type) => widenColumnSql(this.#target, column, type),
      });
      for (const d of plan.discarded) this.#ctx.quarantine({ reason: d.reason, row: rows[d.index]! });
      for (const c of plan.counted) this.#note(c);
      rows = plan.rows;
      if (plan.add.length + plan.widen.length + plan.write.length === 0) break;
      await this.#reshape(plan);
    }
    return rows;
  }

  /**
   * Makes the table's changes in the run's transaction (PostgreSQL's DDL is transactional: a
   * rollback takes a column back with the rows that needed it) and writes the new columns too.
   */
  async #reshape(plan: BatchPlan): Promise<void> {
    // No DDL while a COPY is open, and staged rows go in before the stage is made again.
    await this.#endCopy();
    // Runs (the partitions of a step) change the table in turns, each on the table as the last
    // one left it: a widening planned from a type another run has widened since would narrow it.
    await this.#ddlTurn();
    const now = new Map(((await this.#describe()) ?? []).map((c) => [c.name, c]));
    for (const { column, type } of plan.add) {
      if (now.has(column)) continue;
      await this.#query(addColumnSql(this.#target, column, type), [], `add column "${column}"`);
      this.#note({ change: 'column_added', column, type });
    }
    for (const { column, from, to } of plan.widen) {
      // Changed since: the next pass of #admit plans again from the type it has now.
      if (now.get(column)?.type !== from) continue;
      await this.#query(widenColumnSql(this.#target, column, to), [], `widen column "${column}"`);
      this.#note({ change: 'type_widened', column, from, type: to });
    }
    // Read again: a concurrent run may have added a column first, with a type of its own.
    this.#existing = (await this.#describe()) ?? [];
    this.#table = new Map(this.#existing.map((c) => [c.name, c]));
    const more = [...plan.write, ...plan.add.map((a) => a.column)].filter((c) => !this.#columns!.includes(c));
    this.#setColumns([...this.#columns!, ...new Set(more)]);
    if (this.#stage) {
      await this.#query(`DROP TABLE ${this.#stage}`);
      for (const sql of stageSql(this.#stage, this.#target, this.#columns!)) await this.#query(sql);
    }
  }

  /**
   * Waits for this table's turn to change it, and keeps it till the transaction ends: PostgreSQL's
   * DDL is transactional, so another run sees the change only once it commits.
   */
  async #ddlTurn(): Promise<void> {
    await this.#query(
      'SELECT pg_advisory_xact_lock(hashtext($1))',
      [this.#target],
      `wait for another run changing ${this.#location}`,
    );
  }

  async #describe(): Promise<TableColumn[] | undefined> {
    try {
      return await describeTable(this.#conn.client, this.#target);
    } catch (err) {
      if (this.#ctx.signal.aborted) throw this.#ctx.signal.reason;
      throw pgError(err, this.#where, this.#conn.target, 'inspect the table');
    }
  }

  /** Records a change for the report and logs it; rows and values only in their first batch. */
  #note(c: SchemaChange): void {
    const first = this.#changes.add(c);
    const text = changeText(c, this.#location);
    if (c.change === 'column_added' || c.change === 'type_widened') this.#ctx.log.info(text);
    else if (first) this.#ctx.log.warn(`${text}; the run report has the total`);
  }

  #copyFailed(err: unknown): Error {
    if (this.#ctx.signal.aborted) return this.#ctx.signal.reason;
    return pgError(err, this.#where, this.#conn.target, `copy rows into ${this.#location}`);
  }

  async write(rows: Row[]): Promise<void> {
    const signal = this.#ctx.signal;
    if (signal.aborted) throw signal.reason;
    if (rows.length === 0) return;
    if (!this.#existing) {
      // createTable: the table is inferred from more than one batch (see inferRows).
      for (const r of rows) this.#buffered.push(r);
      if (this.#buffered.length < this.#ctx.config.inferRows) return;
      rows = this.#buffered;
      this.#buffered = [];
    }
    await this.#writeRows(rows);
  }

  async #writeRows(given: Row[]): Promise<void> {
    if (!this.#columns) await this.#prepare(given);
    const rows = await this.#admit(given);
    if (rows.length === 0) return;
    const columns = this.#columns!;
    if (!this.#keyChecked) this.#checkColumns(columns);
    const step = this.#ctx.config.batchRows ?? rows.length;
    for (let i = 0; i < rows.length; i += step) {
      const to = Math.min(rows.length, i + step);
      await this.#send(copyRows(this.#ctx, this.#encoder, rows, columns, this.#arrayColumns, i, to), columns);
    }
  }

  #checkColumns(columns: string[]): void {
    const { key, mode } = this.#ctx.config;
    if (columns.length === 0) {
      throw new FatalError(
        `${this.#where}: no field of the rows has a column in table ${this.#location} (its columns: ` +
          `${[...this.#table.keys()].join(', ')}); rename the fields, or set schema: evolve to add columns`,
        { code: ErrorCode.CONFIG },
      );
    }
    const keyMissing = (key ?? []).filter((k) => !columns.includes(k));
    if (mode === 'upsert' && keyMissing.length > 0) {
      throw new FatalError(
        `${this.#where}: key column(s) ${keyMissing.join(', ')} are not among the written fields`,
        { code: ErrorCode.CONFIG },
      );
    }
    this.#keyChecked = true;
  }

  encoderState(): Json | undefined {
    if (this.#columns === undefined) return undefined;
    // One object per list of columns: `#send` tells lists apart by identity.
    if (this.#encoded?.columns !== this.#columns) {
      this.#encoded = {
        columns: this.#columns,
        arrayColumns: this.#arrayColumns,
        types: this.#columns.map((c) => this.#table.get(c)!.type),
      };
    }
    return this.#encoded;
  }

  async writeEncoded(data: Uint8Array, _rows: number, state: Json): Promise<void> {
    const signal = this.#ctx.signal;
    if (signal.aborted) throw signal.reason;
    // The COPY stream holds what it is given until the socket took it, for an unknown time: the
    // bytes are copied into the encoder's slab, as `write` encodes them, and `data` is free.
    this.#encoder.bytes(data);
    // Bytes encoded before the columns grew are for the columns of their time.
    await this.#send(this.#encoder.take(), (state as EncoderState).columns);
  }

  /** Queues COPY data of `columns`, opening the COPY first when none is open for them. */
  async #send(data: Uint8Array, columns: string[]): Promise<void> {
    if (data.length === 0) return;
    const signal = this.#ctx.signal;
    if (this.#copy && this.#copy.columns !== columns) await this.#endCopy();
    this.#copy ??= {
      stream: new CopyIn(
        this.#conn.client,
        `COPY ${this.#stage ?? this.#target} (${identList(columns)}) FROM STDIN`,
        COPY_BUFFER_BYTES,
      ),
      columns,
    };
    try {
      await this.#copy.stream.write(data, signal);
    } catch (err) {
      throw signal.aborted ? err : this.#copyFailed(err);
    }
  }

  async flush(): Promise<void> {
    // Rows held back for createTable go in before a checkpoint can count them as written.
    if (this.#buffered.length > 0) {
      const rows = this.#buffered;
      this.#buffered = [];
      await this.#writeRows(rows);
    }
    await this.#endCopy();
  }

  /**
   * Ends the open COPY and merges staged rows; adds the acknowledged count to `#pending`. Staged
   * rows that found no row of their own (a key seen twice, or already present with nothing to
   * update) are reported as merged.
   */
  async #endCopy(): Promise<void> {
    const open = this.#copy;
    if (!open) return;
    this.#copy = undefined;
    const copy = open.stream;
    let copied: number;
    try {
      copied = await copy.end();
    } catch (err) {
      throw this.#copyFailed(err);
    }
    if (!this.#stage) {
      this.#pending += copied;
      return;
    }
    const { key, mode, verify } = this.#ctx.config;
    const columns = open.columns;
    const stage = this.#stage;
    if (mode !== 'upsert') {
      // Only content verification stages rows in this mode: they go on as they are, and the
      // rows the table took are then read back by their tuple ids.
      const handed = await this.#digest(columns, `SELECT * FROM ${stage}`);
      const res = await this.#query(
        `WITH ins AS (INSERT INTO ${this.#target} (${identList(columns)}) SELECT ${identList(columns)} ` +
          `FROM ${stage} ORDER BY "sluice$ord" RETURNING ctid) INSERT INTO ${WRITTEN} SELECT ctid FROM ins`,
        [],
        `insert into ${this.#location}`,
      );
      this.#pending += res.rowCount ?? 0;
      const found = await this.#digest(
        columns,
        `SELECT * FROM ${this.#target} WHERE ctid = ANY(ARRAY(SELECT t FROM ${WRITTEN}))`,
      );
      await this.#query(`TRUNCATE ${stage}, ${WRITTEN}`);
      this.#proof.add(handed, found, this.#where, `table ${this.#location}`);
      return;
    }
    const keys = identList(key!);
    const handed =
      verify === 'content'
        ? await this.#digest(
            columns,
            `SELECT DISTINCT ON (${keys}) * FROM ${stage} ORDER BY ${keys}, "sluice$ord" DESC`,
          )
        : undefined;
    const merged = await this.#query(
      mergeSql(this.#target, stage, columns, key!),
      [],
      `upsert into ${this.#location}`,
    );
    const affected = merged.rowCount ?? 0;
    this.#pending += affected;
    if (copied > affected) this.#ctx.merged(copied - affected);
    // Read back by key: a key whose row was already there as staged (nothing to update) counts too.
    const found = handed
      ? await this.#digest(
          columns,
          `SELECT * FROM ${this.#target} WHERE (${keys}) IN (SELECT ${keys} FROM ${stage})`,
        )
      : undefined;
    await this.#query(`TRUNCATE ${stage}`);
    if (handed && found) this.#proof.add(handed, found, this.#where, `table ${this.#location}`);
  }

  /** Rows of `from` (a query) and the sum of their digests, over the written columns. */
  async #digest(columns: string[], from: string): Promise<{ rows: number; sum: bigint }> {
    const res = await this.#query(rowDigestSql(from, columns), [], `verify ${this.#location}`);
    const row = res.rows[0] as { rows: string; sum: string };
    return { rows: Number(row.rows), sum: BigInt(row.sum) };
  }

  /**
   * Adds one flush's digests to the attempt's and fails, before the transaction commits (the
   * runner then rolls it back), when what the table holds is not what was handed to it.
   */

  async #commitTransaction(): Promise<void> {
    await this.#query('COMMIT', [], 'commit');
    this.#inTransaction = false;
    this.#committed += this.#pending;
    this.#pending = 0;
  }

  async commit(checkpoint: { seq: number; position: Json }): Promise<undefined> {
    await this.flush();
    await this.#query(
      `INSERT INTO ${this.#checkpoints} (key, seq, position, updated_at) VALUES ($1, $2, $3::jsonb, now())
       ON CONFLICT (key) DO UPDATE SET seq = EXCLUDED.seq, position = EXCLUDED.position, updated_at = now()`,
      [this.#key, checkpoint.seq, JSON.stringify(checkpoint.position)],
      'save the checkpoint',
    );
    await this.#commitTransaction();
    await this.#query('BEGIN');
    this.#inTransaction = true;
    return undefined;
  }

  async close(): Promise<SinkResult> {
    await this.flush();
    // The checkpoint row stays: the runner's final checkpoint is in it, which tells a resume after
    // a crash right here that every row is already in. `forget` deletes it once the run recorded
    // the step's success (and a fresh run's start deletes it).
    await this.#commitTransaction();
    this.#ctx.signal.removeEventListener('abort', this.#onAbort);
    await this.#conn.client.end().catch(() => undefined);
    return {
      rowsWritten: this.#committed,
      location: this.#location,
      ...(this.#ctx.config.verify === 'content' ? { verification: this.#proof.verification() } : {}),
      ...(this.#changes.list().length > 0 ? { schemaChanges: this.#changes.list() } : {}),
    };
  }

  async forget(): Promise<void> {
    const conn = await connect(this.#ctx.config.url, {
      where: this.#where,
      guard: this.#ctx.guardConnect,
      net: this.#ctx,
      onError: () => undefined,
    });
    try {
      await conn.client.query(`DELETE FROM ${this.#checkpoints} WHERE key = $1`, [this.#key]);
    } catch (err) {
      throw pgError(err, this.#where, conn.target, "remove the run's checkpoint");
    } finally {
      await conn.client.end().catch(() => undefined);
    }
  }

  async abort(error: unknown): Promise<void> {
    this.#ctx.signal.removeEventListener('abort', this.#onAbort);
    await this.#copy?.stream.cancel(error instanceof Error ? error : new Error(String(error)), 5000);
    this.#copy = undefined;
    if (this.#inTransaction)
      await within(
        5000,
        this.#conn.client.query('ROLLBACK').catch(() => undefined),
      );
    this.#inTransaction = false;
    await within(
      5000,
      this.#conn.client.end().catch(() => undefined),
    );
  }
}

/**
 * Rows `from`..`to` as COPY data; rows with a value PostgreSQL cannot store go to quarantine.
 * The writer's `write` and the parallel path's encoder (in a worker thread) both use it.
 */
function copyRows(
  ctx: ComponentContext<Config>,
  encoder: CopyEncoder,
  rows: Row[],
  columns: readonly string[],
  arrayColumns: readonly boolean[],
  from: number,
  to: number,
): Buffer {
  const batch = encoder.encode(rows, columns, arrayColumns, from, to);
  for (const bad of batch.rejected) {
    const table = `${ctx.config.dbSchema}.${ctx.config.table}`;
    ctx.quarantine({ reason: `${bad.reason} (table ${table})`, row: rows[bad.index]! });
  }
  return batch.data;
}

/** What the encoder needs from the writer, which learns it from the table and the first rows. */
type EncoderState = { columns: string[]; arrayColumns: boolean[]; types: string[] };

/** An old spec's `schema: analytics` meant the namespace, which is `dbSchema` now. */
function check(config: Config): Issue[] {
  const value: unknown = config.schema;
  if (isContract(value)) return [];
  return [
    {
      path: 'schema',
      message:
        `\`schema\` is the schema contract (${CONTRACTS.join(', ')}); the table's PostgreSQL schema is ` +
        `now \`dbSchema: ${String(value)}\``,
    },
  ];
}

export const postgresSink = defineSink({
  name: 'postgres',
  version: '1.0.0',
  summary: 'Writes rows to a PostgreSQL table with COPY, exactly once: data and checkpoint commit together.',
  config: Config,
  credentialSchema: PgCredential,
  connection: pgConnection,
  transactional: true,
  server: (config) => pgHost(config.url),
  rowEncoder: {
    create(ctx, state) {
      const { columns, arrayColumns, types } = state as EncoderState;
      const encoder = new CopyEncoder();
      const fit = new Fit(
        columns.map((name, i) => ({ name, type: types[i]! })),
        columns,
        ctx.config.columns,
      );
      return (rows) => {
        // A field with no column yet, or a value too wide for one: the writer applies the contract.
        if (!fit.fits(rows)) return undefined;
        encoder.reuse();
        return copyRows(ctx, encoder, rows, columns, arrayColumns, 0, rows.length);
      };
    },
  },
  worker: builtinWorker,
  example: {
    url: 'postgres://etl@localhost:5432/warehouse',
    table: 'orders',
    dbSchema: 'public',
    checkpointSchema: 'sluice',
    mode: 'upsert',
    key: ['order_id'],
    schema: 'evolve',
    createTable: false,
    inferRows: 1000,
    verify: 'count',
  },
  check,
  partitions: { check: (c) => partitionedModeRefusal(c.mode, `${c.dbSchema}.${c.table}`) },
  async open(ctx) {
    const { mode, key } = ctx.config;
    if (mode === 'upsert' && (key === undefined || key.length === 0)) {
      throw new FatalError(
        `${ctx.componentId}: mode "upsert" needs key: the columns that identify a row (e.g. key: [id]), ` +
          'covered by a primary key or unique index',
        { code: ErrorCode.CONFIG },
      );
    }
    await loadCopyIn();
    const conn = await connect(ctx.config.url, {
      where: ctx.componentId,
      guard: ctx.guardConnect,
      net: ctx,
      onError: (err) => ctx.log.warn(`connection to PostgreSQL lost: ${err.message}`),
    });
    return new PostgresWriter(ctx, conn);
  },
});
