import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ErrorCode, SluiceError } from '../errors.ts';
import type { StepOutputFile } from '../report.ts';

/** Empties a task's files directory before an attempt: a retry must not hand on a file it did not make. */
export async function freshFilesDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
}

/** SHA-256 of a file, streamed: a download may be far larger than memory should hold. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/**
 * What a task's TaskResult.files says, checked and measured: every file must exist inside the
 * task's files directory, where the platform looks for it to keep it with the job.
 */
export async function recordStepFiles(
  files: Record<string, string> | undefined,
  filesDir: string,
  where: string,
): Promise<Record<string, StepOutputFile> | undefined> {
  if (files === undefined || Object.keys(files).length === 0) return undefined;
  const out: Record<string, StepOutputFile> = {};
  for (const [name, given] of Object.entries(files)) {
    const path = resolve(filesDir, given);
    const rel = relative(filesDir, path);
    if (rel === '' || rel.startsWith('..') || resolve(filesDir, rel) !== path)
      throw new SluiceError(
        ErrorCode.INTERNAL,
        `${where}: output file "${name}" (${given}) is not inside the task's files directory ${filesDir}`,
      );
    const s = await stat(path).catch(() => undefined);
    if (!s?.isFile())
      throw new SluiceError(ErrorCode.INTERNAL, `${where}: output file "${name}" (${path}) was not written`);
    out[name] = { path, bytes: s.size, sha256: await sha256File(path) };
  }
  return out;
}
