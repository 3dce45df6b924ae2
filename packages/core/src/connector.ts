import type { Static, TSchema } from '@sinclair/typebox';
import type { DatasetArea, DatasetRef } from './dataset.ts';
import type { Issue } from './errors.ts';
import type { NetContext, NetPolicy } from './net-policy.ts';
import type { PathContext, PathPolicy } from './paths.ts';
import type { SinkVerification } from './verify.ts';

/** A JSON-serialisable value: what checkpoints and sink states are made of. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * Rows may carry their source line under this symbol; symbols are invisible to sinks and to
 * JSON, so the position travels with the row at no cost to the data.
 */
export const SOURCE_LINE: unique symbol = Symbol.for('sluice.sourceLine') as typeof SOURCE_LINE;

/** A record: a plain object whose keys are field names (plus, maybe, its source line). */
export interface Row {
  [field: string]: unknown;
  [SOURCE_LINE]?: number;
}

export interface Logger {
  debug(message: string, meta?: Record<string, unknown>): void;
  info(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
  error(message: string, meta?: Record<string, unknown>): void;
}

/** A row that could not be parsed, cast or validated. It is kept, never dropped. */
export interface QuarantineEntry {
  reason: string;
  /** 1-based line in the source file where the record starts, when known. */
  line?: number;
  /** Byte offset of the record in the source, when known. */
  offset?: number;
  /** The raw text of the record, for rows that failed to parse. */
  raw?: string;
  /** The row as it was when it failed, for rows that failed later in the flow. */
  row?: Row;
}

export interface ComponentContext<C> {
  /** The validated config, defaults applied. */
  readonly config: C;
  /** Aborted on cancel, timeout or a failure elsewhere in the flow; stop promptly and clean up. */
  readonly signal: AbortSignal;
  readonly stepId: string;
  /** `<step>.<index>:<connector>`, unique within the run. */
  readonly componentId: string;
  /** Directory relative paths in configs resolve against (the spec file's directory). */
  readonly baseDir: string;
  /**
   * Where local paths may lead, when the run restricts them (the platform does). A component
   * gets every local path it opens from `resolveLocalPath(ctx, path, where)`, which applies it.
   */
  readonly paths?: PathPolicy | undefined;
  /**
   * Where network connections may lead, when the run narrows it (the platform's --deny-hosts and
   * --allow-hosts). A component checks every host a config names with `checkHost`/`checkUrl`, or
   * connects through `guardedLookup`, which apply it and the built-in refusal of link-local and
   * cloud metadata addresses (which holds even when this is absent).
   */
  readonly network?: NetPolicy | undefined;
  readonly params: Readonly<Record<string, unknown>>;
  readonly log: Logger;
  /**
   * A directory of this component's own for temporary files (a database's spill files): not created
   * until the component needs it (`mkdir -p`), removed by the runner when the flow ends, whether it
   * succeeded or not. Under the step's state directory, so it is on the disk the run was given.
   * Absent in a hand-built context (a test): a component then makes a temporary directory itself.
   */
  readonly tempDir?: string;
  /**
   * Opens a connection to an external endpoint (`host:port`) through the process's circuit
   * breaker for it, with the step's `retry.circuit` settings: call it around the connect, not
   * around queries. Throws CIRCUIT_OPEN without calling `connect` while the circuit is open;
   * otherwise returns or throws what `connect` does. Only RetryableErrors with code
   * CONNECTION_FAILED count as failures. Absent where the host runs no circuits (a hand-built
   * context in a test): connect directly.
   */
  guardConnect?<T>(endpoint: string, connect: () => Promise<T>): Promise<T>;
  /**
   * The run's datasets, the Parquet files steps hand each other (see resolveDataset). Absent where
   * the host keeps none (a hand-built context in a test).
   */
  readonly datasets?: DatasetArea | undefined;
  /** Sends a bad row to the run's quarantine; the flow goes on. */
  quarantine(entry: QuarantineEntry): void;
  /**
   * Adds `n` to this component's counter `name` (`cache.hits`, say): counters reach the run
   * report (ComponentStats.counters), the CLI summary and the platform's `/metrics`. Call it once
   * per batch with the batch's total, not per row. Absent where the host keeps no counters (a
   * hand-built context in a test): `ctx.count?.(name, n)`.
   */
  count?(name: string, n: number): void;
}

/** What a definition's `check` may use: nothing that needs I/O. */
export interface CheckContext {
  /** The run's parameters (their defaults when the spec is checked without any). */
  readonly params: Readonly<Record<string, unknown>>;
  /**
   * For a transform's `validate`: the columns rows reach it with, when the config of every
   * component before it says (see KnownColumn); absent when any of them leaves them unknown.
   */
  readonly input?: readonly KnownColumn[];
}

/**
 * A column rows are known to carry before any is read: named by a source's declared columns or a
 * `select`'s fields, and typed (a cast type: string, integer, number, boolean, date, timestamp)
 * where the config declares that too. Lets a check bind names (a SQL query's column references)
 * without reading data.
 */
export interface KnownColumn {
  readonly name: string;
  readonly type?: string;
}

/** What a definition's `checkConnection` may use: paths resolve as in a run, under its policy. */
export interface ConnectionCheckContext extends PathContext, Pick<NetContext, 'network'> {
  readonly signal: AbortSignal;
}

/**
 * How a connector proves that a config reaches its system. Used by the credentials API's Test,
 * the UI's credential form and `sluice connectors check`, with a credential's fields merged into
 * what the caller gives, as a step's `with:` is merged.
 */
export interface ConnectionCheck<S extends TSchema = TSchema> {
  /**
   * The config fields the check needs, a subset of the connector's `config` (a postgres url, a
   * file's path and store settings): a test need not name a table or a format. Checked first;
   * what fails is refused at its path.
   */
  readonly config: S;
  /**
   * Connects and authenticates as a run would, changes nothing, and resolves to what it found
   * (`connected to db:5432 as etl`, `found s3://b/k (2.0 MiB)`); otherwise throws what a run would
   * (CONNECTION_FAILED, NOT_FOUND, CONFIG), its message free of secrets.
   */
  check(config: Static<S>, ctx: ConnectionCheckContext): Promise<string>;
}

/**
 * Problems with a config that passed its schema but that the component would refuse anyway
 * (options that exclude each other, a format it cannot read), at paths relative to the config
 * (`quote`, `fields.day.format`). Called, defaults filled in, whenever a spec is checked:
 * `sluice validate`, before a run, and by the platform's API; so it must not do I/O. `read`,
 * `open` and `run` are only ever handed configs that passed it and need not check again.
 */
export type ConfigCheck<C> = (config: C, ctx: CheckContext) => Issue[];

export interface SourceBatch {
  rows: Row[];
  /**
   * Where to restart so that the next row read is the one after this batch. Saved with the
   * checkpoint and handed back as `resumeFrom`; omit it when the source cannot resume.
   */
  position?: Json;
  /** Work done and, when known, total work (bytes for files) for progress and ETA. */
  progress?: { done: number; total?: number };
  /**
   * Asks for a checkpoint right after this batch (it needs a `position`): a streaming source whose
   * broker stops delivering until messages are acknowledged (a full prefetch window) asks, rather
   * than wait for `checkpointEvery` rows or `checkpointInterval`.
   */
  checkpoint?: boolean;
  /**
   * A streaming source: messages waiting at the broker for this consumer when it last asked
   * (queue depth, a consumer's pending count), for the platform's lag gauge. Omit when unknown.
   */
  lag?: number;
}

/** Values kept between runs of the same pipeline step (an incremental cursor, say). */
export interface StateStore {
  get(key: string): Json | undefined;
  set(key: string, value: Json): void;
}

/**
 * What a streaming source (a queue) hands the flow so that a message is acknowledged only once its
 * rows are safe: see SourceContext.acknowledger.
 */
export interface Acknowledger {
  /**
   * Called after each checkpoint commits, with the `position` of the last batch it covers: every
   * row read up to that batch is in every sink (or quarantined), so the messages they came from
   * may be acknowledged. A failure fails the step; the messages are then delivered again.
   */
  commit(position: Json): Promise<void>;
  /**
   * Called once when the flow is over, after the final checkpoint's `commit` or after a failure:
   * releases the connection the acknowledgements need. Must not throw.
   */
  close(): Promise<void>;
}

export interface SourceContext<C> extends ComponentContext<C> {
  /** The `position` of the last committed batch when resuming; undefined on a fresh run. */
  readonly resumeFrom: Json | undefined;
  /**
   * Aborted when the flow is asked to stop but may first write what it read (a cancel of a
   * streaming flow): the source stops reading, yields what it holds and returns; `signal` aborts
   * only if draining takes too long. Never aborted for a source that is not `streaming`; absent in a
   * hand-built context.
   */
  readonly stop?: AbortSignal;
  /**
   * A streaming source registers how its messages are acknowledged (once, before its first
   * batch). Its generator's `finally` must then leave the connection open for `close`. Absent in a
   * hand-built context: a streaming source then refuses to run rather than never acknowledge.
   */
  acknowledger?(a: Acknowledger): void;
  /** Persistent state of this source; written to disk only when the whole step succeeds. */
  readonly state: StateStore;
  /** Names the origin of quarantined rows (a file path); shown in the quarantine. */
  setOrigin(origin: string): void;
  /**
   * The part of the input this run reads, as the source's `partitions.plan` cut it (a partition
   * of a partitioned step); undefined: all of it. `resumeFrom`, when set, lies within the part.
   */
  readonly part?: Json;
}

/**
 * A source whose input can be cut into parts that read on their own, each in its own process on
 * any worker (a step's `partitions`, docs/partitions.md). Every row is in exactly one part, and a
 * part's read resumes from its own checkpoints.
 */
export interface PartitionedRead<C> {
  /**
   * Why this config cannot be partitioned (a compressed file, an incremental read), or undefined.
   * Pure: no I/O. Said at the step's `partitions` when the pipeline is planned.
   */
  check?(config: C): string | undefined;
  /**
   * Cuts the input into at most `n` parts of about equal size, each a JSON value `read` gets back
   * as `ctx.part`; fewer when the input is small, none when there is nothing to read. Reads only
   * what it must to find the cuts, and never quarantines.
   */
  plan(ctx: SourceContext<C>, n: number): Promise<Json[]>;
}

/** A sink that may take the rows of several partitions at once (their writes commute). */
export interface PartitionedWrite<C> {
  /** Why this config cannot (`mode: truncate` would empty the table once per partition), or undefined. */
  check?(config: C): string | undefined;
}

/**
 * A module that, started as a worker thread, serves the connectors naming it (it calls
 * `serveFlowChunks` with a registry holding them). The parallel path runs a flow in worker threads
 * only when all its components name the same one: a connector a worker cannot import (one loaded
 * from a user's module, say) names none, and its flows run on the main thread.
 */
export interface WorkerModule {
  /**
   * Where the module is; `register`, when given, is a module whose `register()` must run first (a
   * TypeScript loader). Undefined when it cannot be found (a bundle built without it): flows then
   * run on the main thread.
   */
  resolve(): { url: URL; register?: string } | undefined;
}

/** Where a chunk of a source's input starts: its byte offset and the 1-based line of its first record. */
export interface ChunkStart {
  offset: number;
  line: number;
}

/**
 * How the main thread cuts a source's input into chunks that parse on their own. Cuts fall only
 * between records, so every chunk holds whole records.
 */
export interface ChunkSplit {
  /** The file to read: an absolute local path, or the URL `bytes` reads. */
  readonly path: string;
  /**
   * The input's bytes from `start` to its end, in order, when it is not a local file (an object
   * in S3, a file on SFTP or behind HTTP); the main thread cuts them as it cuts a local file's.
   * Must stop reading and release its connections when the iteration ends early or `signal`
   * aborts. Without it, `path` is opened as a local file.
   */
  readonly bytes?: (start: number, signal: AbortSignal) => AsyncIterable<Uint8Array>;
  /** Its size in bytes, for progress. */
  readonly size: number;
  /** Where the first chunk starts (after a header, or at the position resumed from). */
  readonly start: ChunkStart;
  /** Handed to every `parse` (the CSV source's columns). */
  readonly shared: Json;
  /**
   * Rows per batch of `read`: quarantine entries of a chunk are recorded in the order `read`
   * would record them, batch by batch, and the quarantine limit checked after each batch.
   */
  readonly batchRows: number;
  /**
   * Scans `buf` from `from` on (the bytes before were scanned by earlier calls on the same bytes,
   * whose state the cutter keeps; `buf` always starts where the last cut was made). Returns the
   * index just after the last record boundary seen so far, -1 when none, and how far it scanned.
   */
  cut(buf: Uint8Array, from: number): { boundary: number; scanned: number };
  /** Lines a chunk spans, to number the first record of the next one. */
  lines(chunk: Uint8Array): number;
  /** The source position to checkpoint after the chunk ending at `end` (as `read` would report it). */
  position(end: ChunkStart): Json;
}

/** A source whose input can be parsed chunk by chunk, in any order (the parallel path). */
export interface ChunkedRead<C> {
  /**
   * Main thread, instead of `read`: reads what must be read first (a header) and returns how to
   * cut the rest, or undefined to have the flow read serially after all (compressed input, a
   * format the cutter cannot follow), or when fewer than `minBytes` are left to read: threads
   * would cost more than they save. Must not quarantine rows.
   */
  split(ctx: SourceContext<C>, minBytes: number): Promise<ChunkSplit | undefined>;
  /**
   * In a worker: the rows of one chunk, exactly as `read` would have produced them, in batches
   * of about the size `read` yields (small batches keep rows short-lived: parsing a whole chunk
   * before transforming any of it cost twice the CPU, measured, mostly in the garbage collector).
   * Bad records go to `ctx.quarantine` with their absolute line and offset. A chunk ends at a
   * record boundary or at the end of the input (where the last record may lack its terminator).
   */
  parse(ctx: ComponentContext<C>, chunk: Buffer, start: ChunkStart, shared: Json): Iterable<Row[]>;
}

/**
 * `credentialSchema`: the config fields a stored credential may supply (POST /api/v1/credentials
 * with this connector's name), as a JSON Schema object. Secret fields carry `writeOnly: true`:
 * the UI masks them and the API never returns them. The platform checks a credential's data
 * against it when it is stored; a connector without one takes any fields. A credential's fields
 * fill in `config` before it is checked, so each property here must be one of `config`'s.
 */
export interface SourceDefinition<S extends TSchema = TSchema> {
  readonly kind: 'source';
  readonly name: string;
  readonly version: string;
  readonly summary: string;
  readonly config: S;
  readonly example?: Static<S>;
  /** The fields a stored credential may supply; see the note above SourceDefinition. */
  readonly credentialSchema?: TSchema;
  /**
   * The datasets this component reads or writes with this config (a `source: dataset`'s name, a
   * SQL transform's inputs): planning refuses a read that no step it needs writes, and two writers
   * of one name; the platform stores what a step wrote. Must not do I/O.
   */
  datasets?(config: Static<S>): DatasetRef[];
  /** See ConfigCheck. */
  check?(config: Static<S>, ctx: CheckContext): Issue[];
  /**
   * Optional: the columns every row leaves with, when the config alone says (declared names, not
   * a header read from the data), else undefined. Pure: no I/O. See KnownColumn.
   */
  columns?(config: Static<S>): readonly KnownColumn[] | undefined;
  /** Proves a config reaches its system; see ConnectionCheck. */
  readonly connection?: ConnectionCheck;
  /**
   * True for a source whose input never ends by itself (a queue): the flow runs until the source
   * returns (its own `stopAfter`) or is stopped, checkpoints every `checkpointInterval` as well as
   * every `checkpointEvery` rows, drains on cancel, and acknowledges through the Acknowledger the
   * source registers. Such a source yields at least once per second while it waits (an empty
   * batch, when no message came) so that time-based checkpoints and stops are timely.
   */
  readonly streaming?: boolean;
  /** Lets the parallel path run this source's parsing in worker threads. */
  readonly chunked?: ChunkedRead<Static<S>>;
  /** The host of the server this source reads from, when it reads from one; see SinkDefinition.server. */
  server?(config: Static<S>): string | undefined;
  /** Lets a step with `partitions` cut this source's input over many workers. */
  readonly partitions?: PartitionedRead<Static<S>>;
  /** The worker module that can load this connector (see WorkerModule). */
  readonly worker?: WorkerModule;
  /**
   * Yields batches until the input is exhausted. Called once per run; the async generator's
   * `finally` must release every resource, as the runner stops early on abort or failure.
   */
  read(ctx: SourceContext<Static<S>>): AsyncIterable<SourceBatch>;
}

/**
 * Maps a batch to the rows that go on. Rows neither returned nor quarantined count as filtered.
 * Return synchronously when possible: an await per batch is cheap, an await per row is not.
 */
export type TransformFn = (rows: Row[]) => Row[] | Promise<Row[]>;

/**
 * What `create` may return instead of a TransformFn: a stage that may hold rows back until its
 * input ends, and that holds resources the runner must release.
 */
export interface TransformStage {
  /** As a TransformFn: the rows that go on now (none, for a stage that holds its input). */
  push: TransformFn;
  /**
   * Called once, after the last batch was pushed, and never after a failure: yields the rows held
   * back, in batches of about a source's size (a few thousand rows), so sinks receive them as a
   * stream. Stop promptly when `ctx.signal` aborts.
   */
  finish?(): AsyncIterable<Row[]>;
  /** Releases what the stage holds (a database, temporary files); called once, on success or failure. */
  close?(): Promise<void>;
}

export interface TransformDefinition<S extends TSchema = TSchema> {
  readonly kind: 'transform';
  readonly name: string;
  readonly version: string;
  readonly summary: string;
  readonly config: S;
  readonly example?: Static<S>;
  /** The fields a stored credential may supply; see the note above SourceDefinition. */
  readonly credentialSchema?: TSchema;
  /** The datasets this component reads or writes; see SourceDefinition.datasets. */
  datasets?(config: Static<S>): DatasetRef[];
  /** See ConfigCheck. */
  check?(config: Static<S>, ctx: CheckContext): Issue[];
  /**
   * Optional: the columns rows leave with, given those they arrive with (`input`, undefined when
   * unknown), when the config says; undefined otherwise. Without this hook the columns after the
   * transform are unknown. Pure: no I/O. See KnownColumn.
   */
  columns?(config: Static<S>, input: readonly KnownColumn[] | undefined): readonly KnownColumn[] | undefined;
  /**
   * Optional: problems only an asynchronous library can find (DuckDB parsing a SQL query), at paths
   * relative to the config as for `check`. Called, once `check` and `create` found none, wherever
   * a spec is checked: `sluice validate`, the start of a run and the platform's API (see
   * checkDeferred). It may start in-process resources it releases before resolving; it must not
   * reach external systems nor depend on files an earlier step writes.
   */
  validate?(config: Static<S>, ctx: CheckContext): Promise<Issue[]>;
  /** True when one input row may become several; the flow then skips the row-count balance. */
  readonly fanOut?: boolean;
  /**
   * True when each output row depends only on its input row and the config: no state across rows
   * or batches, no I/O. Such a transform may run on chunks of the input in several worker threads.
   */
  readonly rowLocal?: boolean;
  /**
   * True when the transform holds rows until its input ends (an aggregation, a SQL query over all
   * rows; its stage's `finish` yields them). A flow holding one checkpoints only at its end: a
   * checkpoint before would record source rows that no sink holds yet, so a crash reruns the flow
   * from its start, its sinks starting afresh.
   */
  readonly holdsInput?: boolean;
  /**
   * True when rows out are not the rows in less those filtered or quarantined (an aggregation, a
   * join): the reconciliation balances the rows before it and after it separately, and the report
   * labels the change of count as the transform's doing, not as a loss.
   */
  readonly reshapes?: boolean;
  readonly worker?: WorkerModule;
  /**
   * Called once per run, before the first batch: compile expressions and schemas here. It is
   * also called when a spec is checked (see ConfigCheck), with a context whose `quarantine`
   * throws, and a ConfigError it throws then is a problem with the spec: so it must not do I/O,
   * and it should throw ConfigError (issues at paths such as `with.fields.day`) for a bad config
   * rather than leave it to the first batch. A `create` that returns a promise is only checked
   * when the run starts.
   */
  create(
    ctx: ComponentContext<Static<S>>,
  ): TransformFn | TransformStage | Promise<TransformFn | TransformStage>;
}

export interface SinkContext<C> extends ComponentContext<C> {
  /** Stable identity of this sink across runs of the step, for checkpoints kept at the destination. */
  readonly checkpointKey: string;
  /**
   * The columns rows reach the sink with, where the spec declares them (a typed source, a
   * `select`, a `cast`: see KnownColumn); absent when unknown. A sink creating a table takes
   * declared types over those it would infer from values.
   */
  readonly columns?: readonly KnownColumn[];
  /**
   * Reports rows the destination folded into another row with the same key (an upsert that saw a
   * key twice before one commit). They count as filtered, so the reconciliation still balances.
   */
  merged(rows: number): void;
}

export interface SinkResult {
  /**
   * Rows the destination acknowledged since `start` (for PostgreSQL, COPY's count). After a
   * resume, rows committed before the checkpoint are not counted again: the runner adds them.
   */
  rowsWritten: number;
  bytes?: number;
  /** Where the data went (a file path, a table), for the report. */
  location?: string;
  /**
   * What the sink proved about the rows it wrote, at its config's `verify` level. A sink that finds
   * a mismatch does not return: it throws `verifyMismatch` before the data becomes visible.
   */
  verification?: SinkVerification;
  /** What the sink changed in the destination's schema, or set aside under its schema contract. */
  schemaChanges?: SchemaChange[];
}

/**
 * One change a sink made to its destination's schema (a column added, a type widened), or what its
 * schema contract set aside (rows discarded, values dropped), for the run report.
 */
export interface SchemaChange {
  change: 'column_added' | 'type_widened' | 'rows_discarded' | 'values_dropped';
  column: string;
  /** The column's type after the change (column_added, type_widened). */
  type?: string;
  /** The column's type before the change (type_widened). */
  from?: string;
  /** Rows discarded or values dropped over this column (rows_discarded, values_dropped). */
  count?: number;
}

/**
 * The runner drives a writer in this order: `recover` (optional), `start`, then `write` and
 * `commit` repeatedly, then `close` on success or `abort` on failure.
 */
export interface SinkWriter {
  /**
   * Transactional sinks keep the checkpoint in the destination, in the same transaction as the
   * data. Returns the `seq` of the last checkpoint committed there for `checkpointKey`.
   */
  recover?(): Promise<number | undefined>;
  /**
   * Prepares the destination: fresh when `resume` is undefined (truncate what a previous run left),
   * otherwise from the state `commit` returned at the checkpoint resumed from; transactional
   * sinks get `{ seq }` of that checkpoint.
   */
  start(resume: Json | undefined): Promise<void>;
  /**
   * Optional: instead of `start`, when the runner replays quarantined rows (see replay.ts) into
   * a destination that already holds the step's output. It must keep what is there and add the
   * rows after it: a file grows (still through `.partial` and a rename), a table is never
   * truncated whatever the configured mode. `resume` is as for `start` (the state `commit`
   * returned during the replay being resumed), and every later call is as after `start`. A sink
   * without it cannot take replayed rows: the replay fails before writing anything rather than
   * overwrite the output.
   */
  startAppend?(resume: Json | undefined): Promise<void>;
  write(rows: Row[]): Promise<void>;
  /**
   * Optional: called before every checkpoint (and before `close`) so the sink finishes pending work
   * and reports, through `quarantine` and `merged`, what the destination refused or merged: the
   * checkpoint records the counts. Nothing needs to be durable yet; `commit` follows.
   */
  flush?(): Promise<void>;
  /**
   * Makes everything written so far durable and returns the state needed to resume here (a file
   * length, say). Transactional sinks store `checkpoint` with the data in one transaction.
   */
  commit(checkpoint: { seq: number; position: Json }): Promise<Json | undefined>;
  /** Final commit; the data is complete and visible at the destination. */
  close(): Promise<SinkResult>;
  /** Releases resources after a failure, leaving committed data and checkpoints for resume. */
  abort(error: unknown): Promise<void>;
  /**
   * Transactional sinks: drops the checkpoint the destination keeps for this run. Called after
   * `close`, once the run has recorded the step's success, so no resume can need it; a crash
   * before then leaves it, and the next fresh run of the same key clears it. Also called before
   * `start` of a fresh run when the last run recorded this step's success: a checkpoint still
   * there is that finished run's, left by a crash before it was dropped, not an interrupted one.
   */
  forget?(): Promise<void>;
  /**
   * Sinks with a `rowEncoder`: the state the encoder needs (the columns), once it is fixed, and
   * undefined until then (a CSV sink learns its columns from the first row it is written). May be
   * called any time after `start`, and again after writes: a state may change (a table that gained
   * a column), and chunks encoded since are encoded for the new one.
   */
  encoderState?(): Json | undefined;
  /**
   * Sinks with a `rowEncoder`: appends what the encoder made of `rows` rows, as `write` would have,
   * given `state` (the `encoderState` the bytes were encoded for: chunks encoded before a change
   * may arrive after it). `data` is the sink's only until this resolves (its buffer is then used
   * again): a sink that keeps bytes longer (queued for a socket, say) copies them.
   */
  writeEncoded?(data: Uint8Array, rows: number, state: Json): Promise<void>;
}

/**
 * A sink's row encoding as a pure function, so that it can run in a worker thread: the bytes
 * `write` would send for a batch, given the writer's `encoderState`. Rows the destination cannot
 * take go to `ctx.quarantine`, as `write` would send them. The bytes returned need only stay
 * valid until the next call (the caller copies them), so an encoder may reuse its buffer.
 * It returns undefined when only the writer can deal with the rows (a field the state has no
 * column for, which the writer may add): the chunk's rows then go to the writer's `write`.
 */
export interface RowEncoder<C> {
  create(ctx: ComponentContext<C>, state: Json): (rows: Row[]) => Uint8Array | undefined;
}

export interface SinkDefinition<S extends TSchema = TSchema> {
  readonly kind: 'sink';
  readonly name: string;
  readonly version: string;
  readonly summary: string;
  readonly config: S;
  readonly example?: Static<S>;
  /** The fields a stored credential may supply; see the note above SourceDefinition. */
  readonly credentialSchema?: TSchema;
  /** The datasets this component reads or writes; see SourceDefinition.datasets. */
  datasets?(config: Static<S>): DatasetRef[];
  /** See ConfigCheck. */
  check?(config: Static<S>, ctx: CheckContext): Issue[];
  /** Proves a config reaches its system; see ConnectionCheck. */
  readonly connection?: ConnectionCheck;
  /** True when `recover` finds checkpoints at the destination (exactly-once across crashes). */
  readonly transactional?: boolean;
  /** Lets the parallel path encode rows in worker threads; the writer then has `writeEncoded`. */
  readonly rowEncoder?: RowEncoder<Static<S>>;
  readonly worker?: WorkerModule;
  /** Lets the partitions of a partitioned step write here at once. */
  readonly partitions?: PartitionedWrite<Static<S>>;
  /**
   * The host of the server this sink writes to (from its url; `''` for a Unix socket), when it
   * writes to one. A server on this machine is left a core: the parallel path's default thread
   * count is one fewer (see docs/parallel.md).
   */
  server?(config: Static<S>): string | undefined;
  open(ctx: SinkContext<Static<S>>): Promise<SinkWriter>;
}

export interface TaskResult {
  /** A short text for the report, e.g. the command's last output line. */
  output?: string;
  metrics?: Record<string, number>;
  /**
   * Files the task hands to later steps, by output name (`report` for a download saved as
   * report.csv): each path must lie inside `ctx.filesDir`. The runner records each file's size and
   * SHA-256 in the step's report, a later step reads it as `${steps.<id>.files.<name>}`, and the
   * platform keeps it as an artifact of the job (fetched again by a worker that lacks it).
   */
  files?: Record<string, string>;
}

export interface TaskContext<C> extends ComponentContext<C> {
  /** Working directory for the task (the spec file's directory unless configured). */
  readonly workDir: string;
  /**
   * This step's directory in the run's state, not created until a task needs it: files a task
   * keeps for the user (a command's full output) go here. A new run that does not resume clears it.
   */
  readonly stepDir: string;
  /**
   * Where the task writes the files it hands to later steps (see TaskResult.files): empty when an
   * attempt starts, created by the runner before `run` is called.
   */
  readonly filesDir: string;
}

export interface TaskDefinition<S extends TSchema = TSchema> {
  readonly kind: 'task';
  readonly name: string;
  readonly version: string;
  readonly summary: string;
  readonly config: S;
  readonly example?: Static<S>;
  /** The fields a stored credential may supply; see the note above SourceDefinition. */
  readonly credentialSchema?: TSchema;
  /** See ConfigCheck. */
  check?(config: Static<S>, ctx: CheckContext): Issue[];
  /** Proves a config reaches its system; see ConnectionCheck. */
  readonly connection?: ConnectionCheck;
  /**
   * Top-level config fields whose text is not interpolated (a SQL statement): `${params.x}` in
   * them reaches `run` as written, for the task to bind as a value from `ctx.params`, so no value
   * can change the statement. When the spec is checked each parameter they name must exist, as
   * elsewhere; `${env.X}` is refused in them. `$${` stays as written too.
   */
  readonly rawFields?: readonly string[];
  /**
   * The names of the files a config makes the task hand on (TaskResult.files), known before it
   * runs: a later step's `${steps.<id>.files.<name>}` is checked against them when the spec is.
   */
  outputs?(config: Static<S>): string[];
  /**
   * The task may run inside the platform worker's own process when its pipeline says
   * `isolation: none`: it holds little memory, starts no process, and reads neither the
   * environment nor the working directory (which would be the worker's).
   */
  readonly inWorker?: boolean;
  /** Runs the action; throws RetryableError for transient failures, anything else is fatal. */
  run(ctx: TaskContext<Static<S>>): Promise<TaskResult | undefined>;
}

export type ConnectorDefinition = SourceDefinition | TransformDefinition | SinkDefinition | TaskDefinition;
export type ConnectorKind = ConnectorDefinition['kind'];

export function defineSource<S extends TSchema>(def: Omit<SourceDefinition<S>, 'kind'>): SourceDefinition<S> {
  return { kind: 'source', ...def };
}
export function defineTransform<S extends TSchema>(
  def: Omit<TransformDefinition<S>, 'kind'>,
): TransformDefinition<S> {
  return { kind: 'transform', ...def };
}
export function defineSink<S extends TSchema>(def: Omit<SinkDefinition<S>, 'kind'>): SinkDefinition<S> {
  return { kind: 'sink', ...def };
}
export function defineTask<S extends TSchema>(def: Omit<TaskDefinition<S>, 'kind'>): TaskDefinition<S> {
  return { kind: 'task', ...def };
}
