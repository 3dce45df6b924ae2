import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ConfigError,
  canonicalPath,
  ErrorCode,
  type ErrorReport,
  type Issue,
  isWithin,
  type PathPolicy,
} from '@sluice/core';
import type { JobExecution } from '../db/schema.ts';
import type { Platform } from '../platform.ts';
import { audit } from '../services/audit.ts';

// An operator runs pipelines someone else wrote, with parameters of their own choosing: a CSV
// path `${params.file}` given `/etc/passwd` read the file into the job's quarantine, and a sink
// path wrote wherever the server could. On the platform every local path a step opens must lie
// in a root (the files directory and `--allow-path` directories), and never among the server's
// own files, even when a root contains them (the default files directory, the working
// directory, holds the default data directory `./.sluice`).

export interface PathRootsOptions {
  /** Relative paths in specs resolve here; the first root. */
  filesDir: string;
  /** More directories pipelines may open (`--allow-path`). */
  allowPaths: readonly string[];
  dataDir: string;
  /** Other files of the server's that must stay out of reach (the TLS key). */
  serverFiles?: readonly string[];
}

/**
 * The platform's path policy. Refuses to start (ConfigError) when an allowed directory does not
 * exist, or lies inside the server's own files: then no path in it could be opened anyway, and
 * the operator meant something else.
 */
export async function pathRoots(o: PathRootsOptions): Promise<PathPolicy> {
  const denied = await Promise.all(
    [o.dataDir, ...(o.serverFiles ?? []), ...programDirs()].map((d) => canonicalPath(resolve(d))),
  );
  const named = [
    { option: '--files-dir', dir: o.filesDir },
    ...o.allowPaths.map((dir) => ({ option: '--allow-path', dir })),
  ];
  const issues: Issue[] = [];
  const roots: string[] = [];
  for (const [i, { option, dir }] of named.entries()) {
    const path = i === 0 ? 'filesDir' : `allowPaths[${i - 1}]`;
    const real = await canonicalPath(resolve(dir));
    // The files directory may be created after start; a directory allowed by name must exist.
    if (
      option === '--allow-path' &&
      !(await stat(real).then(
        (s) => s.isDirectory(),
        () => false,
      ))
    ) {
      issues.push({ path, message: `${option} ${dir}: no such directory` });
      continue;
    }
    const inside = denied.find((d) => isWithin(d, real));
    if (inside !== undefined) {
      const what =
        inside === denied[0] ? `the data directory ${inside}` : `the server's own files (${inside})`;
      issues.push({
        path,
        message:
          `${option} ${dir} ${real === inside ? 'is' : 'lies inside'} ${what}: pipelines would reach ` +
          "the platform's database, master key and other jobs' files. Choose a directory outside it",
      });
      continue;
    }
    roots.push(real);
  }
  if (issues.length > 0) throw new ConfigError('the directories pipelines may open are not safe', issues);
  return Object.freeze({ roots: Object.freeze(roots), denied: Object.freeze(denied) });
}

/**
 * The code the server runs: the package this module belongs to and the `node_modules`
 * directories its imports resolve from (and, run from a workspace's sources, its sibling
 * packages). A sink that could write there could change what the server runs next.
 */
function programDirs(): string[] {
  let pkg = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(pkg, 'package.json')) && dirname(pkg) !== pkg) pkg = dirname(pkg);
  const out = [pkg];
  const parent = dirname(pkg);
  if (basename(parent) === 'packages' && existsSync(join(dirname(parent), 'package.json'))) out.push(parent);
  for (let d = pkg; ; d = dirname(d)) {
    if (existsSync(join(d, 'node_modules'))) out.push(join(d, 'node_modules'));
    if (dirname(d) === d) break;
  }
  return out;
}

/**
 * Records a step refused a path or a host: who ran the job, with which parameters, and what was
 * refused. The refusal is the platform working, but repeated ones are someone probing the
 * server's files or its network.
 */
const AUDITED: Partial<Record<string, string>> = {
  [ErrorCode.PATH_FORBIDDEN]: 'job.path_forbidden',
  [ErrorCode.HOST_FORBIDDEN]: 'job.host_forbidden',
};

export async function auditPathForbidden(
  p: Platform,
  job: Pick<JobExecution, 'id' | 'pipelineId' | 'triggeredBy' | 'parameters'>,
  workerId: string,
  error: ErrorReport,
): Promise<void> {
  const action = AUDITED[error.code];
  if (action === undefined) return;
  await audit(
    p.database.db,
    { userId: null, username: `worker:${workerId}` },
    {
      action,
      resourceType: 'job',
      resourceId: job.id,
      newValue: {
        pipelineId: job.pipelineId,
        stepId: error.step ?? null,
        triggeredBy: job.triggeredBy,
        parameters: job.parameters,
        message: error.message,
      },
    },
  );
}
