/** Live events of api-v1.md: what WebSocket clients receive. */
export type LiveType = 'log' | 'status' | 'progress' | 'complete' | 'error';
export type LogLevelName = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

export interface LogPayload {
  jobId: string;
  stepId?: string;
  level: LogLevelName;
  message: string;
  metadata?: Record<string, unknown>;
}
export interface StatusPayload {
  jobId: string;
  stepId?: string;
  /** A partition of the step (its 0-based index), for a partitioned step's parts. */
  partition?: number;
  status: string;
}
export interface ProgressPayload {
  jobId: string;
  stepId: string;
  /** A partition of the step (its 0-based index); absent: the step as a whole. */
  partition?: number;
  progress: number;
  rowsProcessed?: number;
  estimatedRemainingSeconds?: number;
}
export interface CompletePayload {
  jobId: string;
  status: string;
  durationMs: number;
  summary: { stepsTotal: number; stepsSuccess: number; stepsFailed: number; rowsProcessed: number };
}
export interface ErrorPayload {
  jobId: string;
  stepId?: string;
  message: string;
}

export type JobEvent =
  | { type: 'log'; payload: LogPayload }
  | { type: 'status'; payload: StatusPayload }
  | { type: 'progress'; payload: ProgressPayload }
  | { type: 'complete'; payload: CompletePayload }
  | { type: 'error'; payload: ErrorPayload };

/** What a subscriber of one channel receives. */
export type LiveMessage = JobEvent & { channel: string; timestamp: string };

/** One event as published: the job's pipeline routes it to `pipeline:<id>` subscribers too. */
export type Published = JobEvent & { pipelineId: string; timestamp: string };

/**
 * The channels an event reaches: its job's always; its pipeline's and the global one only for
 * changes of state (logs and progress are per job, or a busy fleet would flood every dashboard).
 */
export function channelsOf(e: Published): string[] {
  const job = `job:${e.payload.jobId}`;
  if (e.type === 'log' || e.type === 'progress') return [job];
  return [job, `pipeline:${e.pipelineId}`, 'global'];
}
