// Shapes of api-v1.md the pages use.
export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

export type JobStatus = 'pending' | 'queued' | 'running' | 'success' | 'failed' | 'cancelled' | 'timeout';

export interface Pipeline {
  id: string;
  name: string;
  description: string;
  version: number;
  spec: PipelineSpec;
  parameters: JsonSchema | null;
  createdAt: string;
  updatedAt: string;
  lastRun?: { id: string; status: JobStatus; createdAt: string } | null;
  nextRunAt?: string | null;
}

export interface ComponentSpec {
  source?: string;
  transform?: string;
  sink?: string;
  with?: Record<string, unknown>;
  credential?: string;
  id?: string;
}
export interface StepSpec {
  id: string;
  flow?: ComponentSpec[];
  task?: string;
  with?: Record<string, unknown>;
  credential?: string;
  needs?: string[];
  retry?: { attempts: number };
  timeout?: string | number;
  /** A flow cut into this many parts, each a partition job on any worker (docs/partitions.md). */
  partitions?: number;
}
export interface PipelineSpec {
  name: string;
  description?: string;
  parameters?: JsonSchema;
  steps?: StepSpec[];
  flow?: ComponentSpec[];
}

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  default?: unknown;
  description?: string;
  title?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  pattern?: string;
  additionalProperties?: boolean | JsonSchema;
  /** A secret: masked while typed, never shown again once stored. */
  writeOnly?: boolean;
  format?: string;
  examples?: unknown[];
}

export interface Job {
  id: string;
  pipelineId: string;
  /** In job lists (GET /jobs, GET /dlq) and a job's detail; absent when the pipeline row is gone. */
  pipelineName?: string;
  pipelineVersion: number;
  status: JobStatus;
  triggerType: string;
  triggeredBy: string | null;
  parameters: Record<string, unknown>;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
  durationMs: number | null;
  workerId: string | null;
  attempt: number;
  maxAttempts: number;
  error: { message: string; code?: string; stack?: string } | null;
  integrity: { ok: boolean; verified?: 'count' | 'content'; [k: string]: unknown } | null;
  traceId: string | null;
  /** Set on a quarantine replay: the job whose quarantined rows it replays. */
  replayOf?: string | null;
  /** Higher leaves the queue first. */
  priority?: number;
  /** The pipeline's `concurrency` when the job was made. */
  concurrency?: number | null;
  /** Worker tags its steps need. */
  runsOn?: string[];
  /** Why a queued job has not started, when the platform can tell. */
  waitingFor?: string;
}

/** A step report's figures of a quarantine replay (core's ReplayCounts). */
export interface ReplayCounts {
  taken: number;
  written: number;
  filtered: number;
  quarantined: number;
  notReplayable: number;
}

/** A sink's change to its destination's schema, in a step report's components (core's SchemaChange). */
export interface SchemaChange {
  change: 'column_added' | 'type_widened' | 'rows_discarded' | 'values_dropped';
  column: string;
  type?: string;
  from?: string;
  count?: number;
}

export interface Step {
  id: string;
  jobId: string;
  stepId: string;
  kind: 'flow' | 'task';
  status: string;
  progress: number;
  attempt: number;
  needs: string[];
  startedAt: string | null;
  completedAt: string | null;
  durationMs: number | null;
  rowsRead: number;
  rowsWritten: number;
  rowsFiltered: number;
  rowsQuarantined: number;
  bytes: number;
  /** A flow from a queue: it runs until cancelled. */
  streaming?: boolean;
  /** A running stream's messages waiting at the broker, when its source says. */
  lag?: number | null;
  checkpointedAt?: string | null;
  error: { message: string; code?: string } | null;
  report: Record<string, unknown> | null;
}

export interface LogLine {
  at?: string;
  time?: string;
  level: string;
  stepId?: string | null;
  message: string;
}

export interface Connector {
  name: string;
  version: string;
  kind: 'source' | 'transform' | 'sink' | 'task';
  summary: string;
  /** The fields a stored credential for it holds; absent when it declares none. */
  credentialSchema?: JsonSchema;
  /** The config its connection check needs (a file's `path`, say); absent when it has no check. */
  connectionCheck?: JsonSchema;
}

export type PartitionStatus = 'pending' | 'running' | 'success' | 'failed' | 'cancelled';

/** A part of a partitioned step (`partitions: N`), run as its own partition job by any worker. */
export interface Partition {
  id: string;
  stepId: string;
  /** 0-based, in input order; people count from 1. */
  index: number;
  /** What the part reads, as its source cut it: `{start, end, size}`, `{files}` or `{from, to}`. */
  part: unknown;
  status: PartitionStatus;
  progress: number;
  /** 0 until a worker first takes it. */
  attempt: number;
  rowsRead: number;
  rowsWritten: number;
  rowsQuarantined: number;
  workerId: string | null;
  startedAt: string | null;
  completedAt: string | null;
  /** Sequence number of its last checkpoint; null before the first. */
  checkpointedAt: number | null;
  error: { message: string; code?: string } | null;
}
