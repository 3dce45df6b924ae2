import { eq } from 'drizzle-orm';
import { pipelines } from '../db/schema.ts';
import type { Platform } from '../platform.ts';
import { getJob, jobSteps } from './jobs.ts';

/** What an outbound webhook says about a finished job: no spec, no plan, no credential. */
export interface JobSummary {
  job: {
    id: string;
    status: string;
    trigger: { type: string; by: string | null; upstreamJobId: string | null };
    parameters: unknown;
    createdAt: string;
    startedAt: string | null;
    completedAt: string | null;
    durationMs: number | null;
    attempt: number;
    deadLettered: boolean;
    error: { code?: string; message?: string } | null;
    /** The job's page, when the platform knows its public URL (SLUICE_PUBLIC_URL). */
    url: string | null;
  };
  pipeline: { id: string; name: string; version: number };
  steps: {
    id: string;
    status: string;
    durationMs: number | null;
    rowsRead: number;
    rowsWritten: number;
    rowsFiltered: number;
    rowsQuarantined: number;
    error: { code?: string; message?: string } | null;
  }[];
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** The error a receiver may show: its code and message, not its stack. */
function brief(e: unknown): { code?: string; message?: string } | null {
  if (!e || typeof e !== 'object') return null;
  const { code, message } = e as { code?: unknown; message?: unknown };
  return {
    ...(typeof code === 'string' ? { code } : {}),
    ...(typeof message === 'string' ? { message } : {}),
  };
}

/** The job's page in the UI, under the platform's public URL; null without one. */
export function jobUrl(p: Platform, jobId: string): string | null {
  return p.publicUrl ? `${p.publicUrl}/jobs/${jobId}` : null;
}

export async function jobSummary(p: Platform, jobId: string): Promise<JobSummary> {
  const j = await getJob(p, jobId);
  const [pipeline] = await p.database.db
    .select({ name: pipelines.name })
    .from(pipelines)
    .where(eq(pipelines.id, j.pipelineId));
  const steps = await jobSteps(p, jobId);
  return {
    job: {
      id: j.id,
      status: j.status,
      trigger: { type: j.triggerType, by: j.triggeredBy, upstreamJobId: j.upstreamJobId },
      parameters: j.parameters,
      createdAt: j.createdAt.toISOString(),
      startedAt: iso(j.startedAt),
      completedAt: iso(j.completedAt),
      durationMs: j.durationMs,
      attempt: j.attempt,
      deadLettered: j.deadLetteredAt !== null,
      error: brief(j.error),
      url: jobUrl(p, j.id),
    },
    pipeline: { id: j.pipelineId, name: pipeline?.name ?? '', version: j.pipelineVersion },
    steps: steps.map((s) => ({
      id: s.stepId,
      status: s.status,
      durationMs: s.durationMs,
      rowsRead: s.rowsRead,
      rowsWritten: s.rowsWritten,
      rowsFiltered: s.rowsFiltered,
      rowsQuarantined: s.rowsQuarantined,
      error: brief(s.error),
    })),
  };
}
