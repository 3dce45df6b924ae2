import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline as pipe, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { and, eq, sql } from 'drizzle-orm';
import { notFound } from '../api/errors.ts';
import type { Db } from '../db/open.ts';
import { type Artifact, artifacts } from '../db/schema.ts';
import type { Platform } from '../platform.ts';

type Kind = Artifact['kind'];

export const artifactKey = (jobId: string, name: string) => `jobs/${jobId}/${name}`;

/** An artifact's row in the index, for a caller that writes it with its own transaction (indexRows). */
export type ArtifactRow = typeof artifacts.$inferInsert;

/**
 * The index row of a file of the store, as it is now. Its appends are flushed first: indexing is
 * what the end of a job does to its log, and from then on every API server must read the whole of it.
 */
export async function artifactRow(p: Platform, a: ArtifactOf & { sha256?: string }): Promise<ArtifactRow> {
  const key = artifactKey(a.jobId, a.name);
  await p.store.flush(key);
  const size = (await p.store.size(key)) ?? 0;
  return { ...a, stepId: a.stepId ?? null, storageKey: key, size, sha256: a.sha256 ?? null };
}

/** Writes index rows (again: a row already there takes the new size and SHA-256), in one statement. */
export async function indexRows(db: Db, rows: readonly ArtifactRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db
    .insert(artifacts)
    .values([...rows])
    .onConflictDoUpdate({
      target: [artifacts.jobId, artifacts.name],
      set: { size: sql`excluded.size`, sha256: sql`excluded.sha256` },
    });
}

/** Indexes a file of the store as one of a job's artifacts (again: the size is brought up to date). */
export async function indexArtifact(p: Platform, a: ArtifactOf & { sha256?: string }): Promise<void> {
  await indexRows(p.database.db, [await artifactRow(p, a)]);
}

/** What names an artifact of a job. */
export interface ArtifactOf {
  jobId: string;
  stepId?: string;
  name: string;
  kind: Kind;
  contentType: string;
}

/**
 * Stores a whole value (text, or a local file streamed) as an artifact and indexes it with the
 * SHA-256 of what was stored, taken as it passes: a download can be checked against the list.
 */
export async function putArtifact(
  p: Platform,
  a: ArtifactOf,
  body: string | { path: string },
): Promise<string> {
  const row = await storeArtifact(p, a, body);
  await indexRows(p.database.db, [row]);
  return row.sha256!;
}

/** Stores a whole value as putArtifact does; answers its index row, for the caller to write. */
async function storeArtifact(
  p: Platform,
  a: ArtifactOf,
  body: string | { path: string },
): Promise<ArtifactRow> {
  const hash = createHash('sha256');
  if (typeof body === 'string') {
    hash.update(body);
    await p.store.write(artifactKey(a.jobId, a.name), body);
  } else {
    const hashing = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        done(null, chunk);
      },
    });
    // Streamed: a command's saved output may be far larger than the worker should hold.
    await p.store.write(
      artifactKey(a.jobId, a.name),
      pipe(createReadStream(body.path), hashing, () => {}),
    );
  }
  return artifactRow(p, { ...a, sha256: hash.digest('hex') });
}

/** A file a step left in its workspace, to keep as an artifact of the job when it is there and not empty. */
export interface StepFile {
  path: string;
  /** The artifact's name is `<step>.<suffix>`. */
  suffix: string;
  kind: Kind;
  contentType: string;
}

/**
 * Stores a step's report, and the files it left (quarantined rows, saved output), as artifacts of
 * the job; answers their index rows, which the caller writes with the step's end.
 */
export async function storeStepArtifacts(
  p: Platform,
  jobId: string,
  stepId: string,
  report: unknown,
  files: StepFile[],
): Promise<ArtifactRow[]> {
  const reportName = `${stepId}.report.json`;
  const rows = [
    await storeArtifact(
      p,
      { jobId, stepId, name: reportName, kind: 'report', contentType: 'application/json' },
      JSON.stringify(report, null, 2),
    ),
  ];
  for (const f of files) {
    const size = await stat(f.path).then(
      (s) => s.size,
      () => 0,
    );
    if (size === 0) continue;
    const name = `${stepId}.${f.suffix}`;
    rows.push(
      await storeArtifact(
        p,
        { jobId, stepId, name, kind: f.kind, contentType: f.contentType },
        { path: f.path },
      ),
    );
  }
  return rows;
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
    sha256: a.sha256,
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
