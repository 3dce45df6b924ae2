import { readFile } from 'node:fs/promises';
import { and, eq } from 'drizzle-orm';
import { notFound } from '../api/errors.ts';
import { type Artifact, artifacts } from '../db/schema.ts';
import type { Platform } from '../platform.ts';

type Kind = Artifact['kind'];

export const artifactKey = (jobId: string, name: string) => `jobs/${jobId}/${name}`;

/** Indexes a file of the store as one of a job's artifacts (again: the size is brought up to date). */
export async function indexArtifact(
  p: Platform,
  a: { jobId: string; stepId?: string; name: string; kind: Kind; contentType: string },
): Promise<void> {
  const key = artifactKey(a.jobId, a.name);
  const size = (await p.store.size(key)) ?? 0;
  await p.database.db
    .insert(artifacts)
    .values({ ...a, stepId: a.stepId ?? null, storageKey: key, size })
    .onConflictDoUpdate({ target: [artifacts.jobId, artifacts.name], set: { size } });
}

/** Stores a step's report, and its quarantined rows when there are any, as artifacts of the job. */
export async function saveStepArtifacts(
  p: Platform,
  jobId: string,
  stepId: string,
  report: unknown,
  quarantineFile: string | undefined,
): Promise<void> {
  const reportName = `${stepId}.report.json`;
  await p.store.write(artifactKey(jobId, reportName), JSON.stringify(report, null, 2));
  await indexArtifact(p, {
    jobId,
    stepId,
    name: reportName,
    kind: 'report',
    contentType: 'application/json',
  });
  if (!quarantineFile) return;
  const rows = await readFile(quarantineFile).catch(() => undefined);
  if (!rows || rows.length === 0) return;
  const name = `${stepId}.quarantine.ndjson`;
  await p.store.write(artifactKey(jobId, name), rows);
  await indexArtifact(p, { jobId, stepId, name, kind: 'quarantine', contentType: 'application/x-ndjson' });
}

export async function listArtifacts(p: Platform, jobId: string) {
  const rows = await p.database.db
    .select()
    .from(artifacts)
    .where(eq(artifacts.jobId, jobId))
    .orderBy(artifacts.name);
  return rows.map((a) => ({
    name: a.name,
    kind: a.kind,
    stepId: a.stepId,
    size: a.size,
    contentType: a.contentType,
    createdAt: a.createdAt.toISOString(),
  }));
}

export async function getArtifact(p: Platform, jobId: string, name: string): Promise<Artifact> {
  const [a] = await p.database.db
    .select()
    .from(artifacts)
    .where(and(eq(artifacts.jobId, jobId), eq(artifacts.name, name)));
  if (!a) throw notFound(`artifact "${name}" of job`, jobId);
  return a;
}
