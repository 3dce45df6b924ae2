import type { Static, TSchema } from '@sinclair/typebox';

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
  readonly params: Readonly<Record<string, unknown>>;
  readonly log: Logger;
  /** Sends a bad row to the run's quarantine; the flow goes on. */
  quarantine(entry: QuarantineEntry): void;
}

export interface SourceBatch {
  rows: Row[];
  /**
   * Where to restart so that the next row read is the one after this batch. Saved with the
   * checkpoint and handed back as `resumeFrom`; omit it when the source cannot resume.
   */
  position?: Json;
  /** Work done and, when known, total work (bytes for files) for progress and ETA. */
  progress?: { done: number; total?: number };
}

/** Values kept between runs of the same pipeline step (an incremental cursor, say). */
export interface StateStore {
  get(key: string): Json | undefined;
  set(key: string, value: Json): void;
}

export interface SourceContext<C> extends ComponentContext<C> {
  /** The `position` of the last committed batch when resuming; undefined on a fresh run. */
  readonly resumeFrom: Json | undefined;
  /** Persistent state of this source; written to disk only when the whole step succeeds. */
  readonly state: StateStore;
  /** Names the origin of quarantined rows (a file path); shown in the quarantine. */
  setOrigin(origin: string): void;
}

export interface SourceDefinition<S extends TSchema = TSchema> {
  readonly kind: 'source';
  readonly name: string;
  readonly version: string;
  readonly summary: string;
  readonly config: S;
  readonly example?: Static<S>;
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

export interface TransformDefinition<S extends TSchema = TSchema> {
  readonly kind: 'transform';
  readonly name: string;
  readonly version: string;
  readonly summary: string;
  readonly config: S;
  readonly example?: Static<S>;
  /** True when one input row may become several; the flow then skips the row-count balance. */
  readonly fanOut?: boolean;
  /** Called once per run, before the first batch: compile expressions and schemas here. */
  create(ctx: ComponentContext<Static<S>>): TransformFn | Promise<TransformFn>;
}

export interface SinkContext<C> extends ComponentContext<C> {
  /** Stable identity of this sink across runs of the step, for checkpoints kept at the destination. */
  readonly checkpointKey: string;
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
}

export interface SinkDefinition<S extends TSchema = TSchema> {
  readonly kind: 'sink';
  readonly name: string;
  readonly version: string;
  readonly summary: string;
  readonly config: S;
  readonly example?: Static<S>;
  /** True when `recover` finds checkpoints at the destination (exactly-once across crashes). */
  readonly transactional?: boolean;
  open(ctx: SinkContext<Static<S>>): Promise<SinkWriter>;
}

export interface TaskResult {
  /** A short text for the report, e.g. the command's last output line. */
  output?: string;
  metrics?: Record<string, number>;
}

export interface TaskContext<C> extends ComponentContext<C> {
  /** Working directory for the task (the spec file's directory unless configured). */
  readonly workDir: string;
}

export interface TaskDefinition<S extends TSchema = TSchema> {
  readonly kind: 'task';
  readonly name: string;
  readonly version: string;
  readonly summary: string;
  readonly config: S;
  readonly example?: Static<S>;
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
