import type { ChunkStart, ConnectorKind, Json, QuarantineEntry, Row } from '../../connector.ts';
import {
  ErrorCode,
  FatalError,
  type Issue,
  RetryableError,
  SluiceError,
  toSluiceError,
} from '../../errors.ts';
import type { NetPolicy } from '../../net-policy.ts';
import type { PathPolicy } from '../../paths.ts';
import type { LogLevel } from '../../run.ts';

/** The messages between a flow's main thread and its worker threads (structured clones). */

export interface FlowComponent {
  kind: ConnectorKind;
  name: string;
  version: string;
  id: string;
  config: unknown;
}

/** Sets a worker up for one flow: it creates the components once, then takes chunks. */
export interface InitMessage {
  type: 'init';
  stepId: string;
  baseDir: string;
  paths?: PathPolicy;
  network?: NetPolicy;
  params: Readonly<Record<string, unknown>>;
  /** Source, transforms, sinks, in flow order: a message's component index points here. */
  components: FlowComponent[];
  /** The source's rows are hashed (see ComponentStats.checksum). */
  hashSource: boolean;
  /** The source's `ChunkSplit.shared`. */
  shared: Json;
  /** Only one worker forwards what components log while they are created, so it shows once. */
  logSetup: boolean;
}

export interface ChunkTask {
  type: 'chunk';
  seq: number;
  data: ArrayBuffer;
  length: number;
  start: ChunkStart;
  /** Each sink's encoder state; undefined while it is not fixed: the rows then come back as they are. */
  states: (Json | undefined)[];
  /** A buffer to encode the first sink's output into, when it fits (the main thread reuses buffers). */
  spare?: ArrayBuffer;
}

export interface LogEntry {
  c: number;
  level: LogLevel;
  message: string;
}

/** What one component did with one chunk (its quarantined rows come as entries). */
export interface Figures {
  rowsIn: number;
  rowsOut: number;
  /** The source's, when it hashes its rows. */
  checksum?: string;
  ms: number;
}

/**
 * Encoded bytes, or the rows themselves with their source lines and where each batch of the
 * source ends among them (the sink is written batch by batch, as on the serial path: a PostgreSQL
 * sink infers the types of a table it creates from the first batch it is given).
 */
export type SinkOutput =
  | { data: Uint8Array }
  | { rows: Row[]; lines: (number | undefined)[]; ends: number[] };

export interface ChunkDone {
  type: 'done';
  seq: number;
  figures: Figures[];
  /** In the order the components set them aside; `line` already taken from the row. */
  quarantine: { c: number; entry: QuarantineEntry }[];
  /** When rows were quarantined: the source line of each row the source emitted, in order. */
  lines?: Int32Array;
  logs: LogEntry[];
  /** Rows that reached the sinks, and what each sink gets for them. */
  rows: number;
  sinks: SinkOutput[];
  /** The chunk's buffer and an unused spare, handed back for the next reads. */
  returned: ArrayBuffer[];
}

export interface WorkerReady {
  type: 'ready';
  logs: LogEntry[];
}

/** A chunk (`seq`) or the set-up (no `seq`) failed. */
export interface WorkerFailed {
  type: 'failed';
  seq?: number;
  error: SerializedError;
}

export type FromWorker = ChunkDone | WorkerReady | WorkerFailed;
export type ToWorker = InitMessage | ChunkTask;

export interface SerializedError {
  name: string;
  code: ErrorCode;
  message: string;
  retryable: boolean;
  retryAfterMs?: number;
  issues: Issue[];
}

/** An error as it can cross to the main thread, keeping what the runner and reports read. */
export function serializeError(err: unknown): SerializedError {
  const e = toSluiceError(err);
  const retryAfterMs = e instanceof RetryableError ? e.retryAfterMs : undefined;
  return {
    name: e.name,
    code: e.code,
    message: e.message,
    retryable: e.retryable,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    issues: e.issues,
  };
}

/** The main thread's copy of a worker's error: same code, message, issues and retry advice. */
export function deserializeError(e: SerializedError): SluiceError {
  const err = e.retryable
    ? new RetryableError(e.message, {
        code: e.code,
        ...(e.retryAfterMs === undefined ? {} : { retryAfterMs: e.retryAfterMs }),
      })
    : e.name === 'FatalError'
      ? new FatalError(e.message, { code: e.code ?? ErrorCode.INTERNAL })
      : new SluiceError(e.code ?? ErrorCode.INTERNAL, e.message, { issues: e.issues });
  err.name = e.name;
  return err;
}
