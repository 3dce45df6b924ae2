import type { RunEvent } from '@sluice/core';
import { and, eq } from 'drizzle-orm';
import { stepExecutions } from '../db/schema.ts';
import type { JobEvent, LogLevelName } from '../events/messages.ts';
import { logJobLine } from '../observability/logger.ts';
import type { Platform } from '../platform.ts';
import { savePartitionProgress } from '../services/partitions.ts';

// The job's log is one of its artifacts (artifactKey(jobId, 'log.ndjson')).
export const logKey = (jobId: string) => `jobs/${jobId}/log.ndjson`;

export interface LogLine {
  time: string;
  level: LogLevelName;
  stepId?: string;
  componentId?: string;
  message: string;
  metadata?: Record<string, unknown>;
}

/** Appends a line to the job's log (a file, not the database) and publishes it live. */
export async function writeLog(p: Platform, pipelineId: string, jobId: string, line: Omit<LogLine, 'time'>) {
  p.bus.emit(pipelineId, await appendLog(p, jobId, line));
}

/**
 * Appends a line to the job's log and answers its live event, for the caller to publish: in the
 * transaction that records what the line says, when there is one (bus.publishIn).
 */
export async function appendLog(p: Platform, jobId: string, line: Omit<LogLine, 'time'>): Promise<JobEvent> {
  const full: LogLine = { time: new Date().toISOString(), ...line };
  await p.store.append(logKey(jobId), `${JSON.stringify(full)}\n`);
  logJobLine(p.log, jobId, line);
  return {
    type: 'log',
    payload: {
      jobId,
      ...(line.stepId === undefined ? {} : { stepId: line.stepId }),
      level: line.level,
      message: line.message,
      ...(line.metadata ? { metadata: line.metadata } : {}),
    },
  };
}

const PROGRESS_EVERY_MS = 1000;

/** A part of a partitioned step, whose events are its own: its log lines say which part. */
export interface PartOf {
  id: string;
  index: number;
}

/**
 * Turns a running step's engine events into its log, its live progress and (at most once a
 * second, so a fast flow does not hammer the database) its row, or its partition's row.
 */
export function stepEvents(p: Platform, pipelineId: string, jobId: string, stepId: string, part?: PartOf) {
  const prefix = part ? `partition ${part.index + 1}: ` : '';
  let lastSaved = 0;
  let pending = Promise.resolve();
  const chain = (f: () => Promise<unknown>) => {
    pending = pending.then(f).then(
      () => undefined,
      () => undefined,
    );
  };
  const onEvent = (e: RunEvent): void => {
    if (e.type === 'log') {
      chain(() =>
        writeLog(p, pipelineId, jobId, {
          level: e.level.toUpperCase() as LogLevelName,
          stepId,
          componentId: e.componentId,
          message: prefix + e.message,
          ...(e.meta ? { metadata: e.meta } : {}),
        }),
      );
    } else if (e.type === 'progress') {
      const now = Date.now();
      if (now - lastSaved < PROGRESS_EVERY_MS) return;
      lastSaved = now;
      const progress = e.total ? Math.min(99, Math.round(((e.done ?? 0) / e.total) * 100)) : 0;
      if (part) {
        chain(async () => {
          await savePartitionProgress(p, part.id, progress, e.rowsRead);
          p.bus.emit(pipelineId, {
            type: 'progress',
            payload: { jobId, stepId, partition: part.index, progress, rowsProcessed: e.rowsRead },
          });
        });
        return;
      }
      chain(async () => {
        await p.database.db
          .update(stepExecutions)
          .set({
            progress,
            rowsRead: e.rowsRead,
            ...(e.lag === undefined ? {} : { lag: e.lag }),
            ...(e.checkpointAt === undefined ? {} : { checkpointedAt: new Date(e.checkpointAt) }),
          })
          .where(and(eq(stepExecutions.jobId, jobId), eq(stepExecutions.stepId, stepId)));
        p.bus.emit(pipelineId, {
          type: 'progress',
          payload: { jobId, stepId, progress, rowsProcessed: e.rowsRead },
        });
      });
    } else if (e.type === 'step' && e.status === 'running' && e.attempt > 1) {
      chain(() =>
        writeLog(p, pipelineId, jobId, {
          level: 'WARN',
          stepId,
          message: `${prefix}attempt ${e.attempt} of step ${stepId}`,
        }),
      );
    }
  };
  return { onEvent, settled: () => pending };
}
