import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { and, eq } from 'drizzle-orm';
import { notFound } from '../api/errors.ts';
import { type Artifact, artifacts } from '../db/schema.ts';
import type { Platform } from '../platform.ts';

type Kind = Artifact['kind'];

export const artifactKey = (jobId: string, name: string) => `jobs/${jobId}/${name}`;

/**
 * Indexes a file of the store as one of a job's artifacts (again: the size is brought up to date).
 * Its appends are flushed first: indexing is what the end of a job does to its log, and from then
 * on every API server must read the whole of it.
 */
export async function indexArtifact(
  p: Platform,
  a: { jobId: string; stepId?: string; name: string; kind: Kind; contentType: string },
): Promise<void> {
  const key = artifactKey(a.jobId, a.name);
  await p.store.flush(key);
  const size = (await p.store.size(key)) ?? 0;
  await p.database.db
    .insert(artifacts)
    .values({ ...a, stepId: a.stepId ?? null, storageKey: key, size })
    .onConflictDoUpdate({ target: [artifacts.jobId, artifacts.name], set: { size } });
}

/** A file a step left in its workspace, to keep as an artifact of the job when it is there and not empty. */
export interface StepFile {
  path: string;
  /** The artifact's name is `<step>.<suffix>`. */
  suffix: string;
  kind: Kind;
  contentType: string;
}

/** Stores a step's report, and the files it left (quarantined rows, saved output), as artifacts of the job. */
export async function saveStepArtifacts(
  p: Platform,
  jobId: string,
  stepId: string,
  report: unknown,
  files: StepFile[],
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
  for (const f of files) {
    const size = await stat(f.path).then(
      (s) => s.size,
      () => 0,
    );
    if (size === 0) continue;
    const name = `${stepId}.${f.suffix}`;
    // Streamed: a command's saved output may be far larger than the worker should hold.
    await p.store.write(artifactKey(jobId, name), createReadStream(f.path));
    await indexArtifact(p, { jobId, stepId, name, kind: f.kind, contentType: f.contentType });
  }
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

/** Copies a stored value to a local file, whole or not at all (through a temporary name). */
export async function downloadArtifact(p: Platform, key: string, path: string): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  const tmp = `${path}.${process.pid}.download`;
  await pipeline(p.store.read(key), createWriteStream(tmp));
  await rename(tmp, path);
}
