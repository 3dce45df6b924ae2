import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { type StepReport, sha256File } from '@sluice/core';
import type { Platform } from '../platform.ts';
import { artifactKey, downloadArtifact, putArtifact } from './artifacts.ts';

/**
 * Where a task step's files are on any worker: its files directory under the job's workspace, as
 * core's runner lays it out (`<stateDir>/steps/<id>/files`). The same on every worker, so a step
 * taken up elsewhere finds its inputs at the path it would have had.
 */
export const stepFilesDir = (stateDir: string, stepId: string) => join(stateDir, 'steps', stepId, 'files');

/** The artifact a step's handed-on file is kept as: `<step>.file.<file name>`. */
const artifactName = (stepId: string, path: string) => `${stepId}.file.${basename(path)}`;

/**
 * After a task step succeeded: each file it handed on goes to the artifact store, for the job page
 * and for a later step that runs on another worker.
 */
export async function storeStepFiles(
  p: Platform,
  jobId: string,
  report: StepReport,
  dir: string,
): Promise<void> {
  for (const file of Object.values(report.files ?? {})) {
    const name = artifactName(report.id, file.path);
    // A later step checks its copy against the report's SHA-256 (upstreamReports): not again here.
    await putArtifact(
      p,
      { jobId, stepId: report.id, name, kind: 'file', contentType: contentType(name) },
      { path: join(dir, basename(file.path)) },
    );
  }
}

/**
 * Before a step runs: the reports of the steps finished so far, with each handed-on file at its
 * path on this worker — fetched from the artifact store when this worker lacks it or holds
 * another version (its SHA-256 differs). The reports come back from the step processes with
 * server paths hidden, so the path given to the next step is made here.
 */
export async function upstreamReports(
  p: Platform,
  jobId: string,
  reports: ReadonlyMap<string, StepReport>,
  stateDirOf: (stepId: string) => string,
  /** Paths found good already in this attempt of the job: not hashed again for each later step. */
  verified: Set<string>,
): Promise<Record<string, StepReport>> {
  const out: Record<string, StepReport> = {};
  for (const [id, r] of reports) {
    if (!r.files) {
      out[id] = r;
      continue;
    }
    const files: NonNullable<StepReport['files']> = {};
    for (const [name, f] of Object.entries(r.files)) {
      const path = join(stepFilesDir(stateDirOf(id), id), basename(f.path));
      if (!verified.has(path)) {
        const here = await stat(path).then(
          (s) => s.size === f.bytes,
          () => false,
        );
        if (!here || (await sha256File(path)) !== f.sha256)
          await downloadArtifact(p, artifactKey(jobId, artifactName(id, f.path)), path);
        verified.add(path);
      }
      files[name] = { ...f, path };
    }
    out[id] = { ...r, files };
  }
  return out;
}

const TYPES: Record<string, string> = {
  csv: 'text/csv',
  pdf: 'application/pdf',
  json: 'application/json',
  ndjson: 'application/x-ndjson',
  txt: 'text/plain; charset=utf-8',
  html: 'text/html; charset=utf-8',
  png: 'image/png',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  parquet: 'application/vnd.apache.parquet',
};

function contentType(name: string): string {
  const ext = name.slice(name.lastIndexOf('.') + 1).toLowerCase();
  return TYPES[ext] ?? 'application/octet-stream';
}
