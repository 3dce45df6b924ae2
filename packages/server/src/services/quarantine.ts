import { createInterface } from 'node:readline';
import { and, eq } from 'drizzle-orm';
import { notFound } from '../api/errors.ts';
import { artifacts } from '../db/schema.ts';
import type { Platform } from '../platform.ts';
import { listSteps } from './jobs.ts';

/** One quarantined row as GET /jobs/{id}/quarantine shows it. */
export interface QuarantineItem {
  /** 0-based position in the step's quarantine file. */
  index: number;
  step: string;
  component: string;
  reason: string;
  line?: number;
  offset?: number;
  file?: string;
  time?: string;
  /**
   * The record's text: the source's raw text for a row it could not parse, or else the row as it
   * was when it failed, as JSON (a transform or sink set it aside: the file keeps only the row).
   */
  raw: string;
  /** The row, for a row that failed after the source parsed it. */
  row?: unknown;
}

/** The step's quarantine artifact, as the worker names it (see job-runner's step files). */
export const quarantineArtifact = (stepId: string) => `${stepId}.quarantine.ndjson`;

function itemOf(text: string, index: number): QuarantineItem {
  let e: Record<string, unknown>;
  try {
    e = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // A line cut by a crash mid-write: shown as it is rather than hidden from the count.
    return { index, step: '', component: '', reason: 'unreadable quarantine entry', raw: text };
  }
  const { raw, row, ...rest } = e;
  return {
    ...(rest as Omit<QuarantineItem, 'index' | 'raw' | 'row'>),
    index,
    raw: typeof raw === 'string' ? raw : row === undefined ? '' : JSON.stringify(row),
    ...(row === undefined ? {} : { row }),
  };
}

/**
 * A page of one step's quarantined rows. The file is streamed and read only up to the page's
 * end (a quarantine may be far larger than the server should hold or scan per page), so the
 * total comes from the step's count of quarantined rows unless the read reached the end of the
 * file, where it is exact.
 */
export async function readQuarantine(
  p: Platform,
  jobId: string,
  stepId: string,
  page: { limit: number; offset: number },
): Promise<{ items: QuarantineItem[]; total: number; limit: number; offset: number }> {
  const step = (await listSteps(p, jobId)).find((s) => s.stepId === stepId);
  if (!step) throw notFound(`step "${stepId}" of job`, jobId);
  const items: QuarantineItem[] = [];
  const [a] = await p.database.db
    .select()
    .from(artifacts)
    .where(and(eq(artifacts.jobId, jobId), eq(artifacts.name, quarantineArtifact(stepId))));
  // No artifact: the step quarantined nothing, or has not finished (the file is kept at its end).
  if (!a) return { items, total: 0, ...page };
  const input = p.store.read(a.storageKey);
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  const end = page.offset + page.limit;
  let seen = 0;
  let more = false;
  try {
    for await (const text of lines) {
      if (!text.trim()) continue;
      if (seen === end) {
        more = true;
        break;
      }
      if (seen >= page.offset) items.push(itemOf(text, seen));
      seen++;
    }
  } finally {
    lines.close();
    input.destroy();
  }
  const total = more ? Math.max(step.rowsQuarantined, seen + 1) : seen;
  return { items, total, ...page };
}
