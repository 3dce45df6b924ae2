import { readlink, realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { ErrorCode, FatalError } from './errors.ts';

/**
 * Where the steps of a run may open local files. Without one (the CLI's `sluice run`), a step
 * opens whatever the process may: the spec's author and the person running it are the same.
 * The platform sets one, because there the person who runs a pipeline (an operator, with
 * parameters) is not the one who wrote it, and the server's files are not theirs to read.
 */
export interface PathPolicy {
  /** Directories every opened path must lie in: absolute, with symlinks resolved. */
  readonly roots: readonly string[];
  /**
   * Paths refused even inside a root (the server's data directory when a root contains it):
   * absolute, with symlinks resolved. @defaultValue none
   */
  readonly denied?: readonly string[];
  /**
   * Directories open to the run even inside a denied path: on the platform, the folders where a
   * job's tasks hand files to its later steps (TaskContext.filesDir), in the job's workspace under
   * the data directory. Absolute, with symlinks resolved. @defaultValue none
   */
  readonly granted?: readonly string[];
}

/** What `resolveLocalPath` needs of a component's context. */
export interface PathContext {
  readonly baseDir: string;
  readonly stepId: string;
  readonly paths?: PathPolicy | undefined;
}

/** `path` is `dir` or lies below it; `/data2` is not below `/data`. */
export function isWithin(dir: string, path: string): boolean {
  if (path === dir) return true;
  return path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

// Symlinks followed by hand (for a link whose target does not exist yet) before giving up, as
// the kernel's ELOOP limit does.
const MAX_LINKS = 40;

/**
 * The path with every symlink resolved. For a path that does not exist (yet), its nearest
 * existing parent is resolved and the rest appended; a dangling symlink is followed to where
 * its target would be created.
 */
export async function canonicalPath(path: string, links = 0): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    // Missing, or a parent is not a directory or not searchable: resolve what exists above it.
  }
  const parent = dirname(path);
  if (parent === path) return path;
  const dir = await canonicalPath(parent, links);
  const here = join(dir, basename(path));
  const target = await readlink(here).catch(() => undefined);
  if (target === undefined) return here;
  if (links >= MAX_LINKS) {
    throw new FatalError(`${path}: too many levels of symbolic links`, { code: ErrorCode.PATH_FORBIDDEN });
  }
  return canonicalPath(resolve(dir, target), links + 1);
}

/**
 * Resolves a local path named in a component's config (relative paths against `baseDir`) and,
 * when the run has a path policy, checks it: the path with its symlinks resolved must lie inside
 * a root and outside every denied path, or a PATH_FORBIDDEN error naming the step and the path
 * is thrown (fatal: no attempt can fix it). Returns the path to open: with a policy, the resolved
 * one, so that what was checked is what is opened; without, the path as given, made absolute.
 * Every connector that opens a local path calls this, and only this, to get it.
 */
export async function resolveLocalPath(ctx: PathContext, path: string, where: string): Promise<string> {
  const abs = isAbsolute(path) ? resolve(path) : resolve(ctx.baseDir, path);
  const policy = ctx.paths;
  if (policy === undefined) return abs;
  const real = await canonicalPath(abs);
  const shown = real === path ? path : `${path} (${real})`;
  // The roots are not listed: the message is read by whoever may read the job, and the server's
  // layout is none of their business. The operator knows them (`sluice serve` prints them).
  if (policy.granted?.some((g) => isWithin(g, real))) return real;
  if (policy.denied?.some((d) => isWithin(d, real))) {
    throw forbidden(ctx, where, `${shown} is among the server's own files, which pipelines may never open`);
  }
  if (!policy.roots.some((root) => isWithin(root, real))) {
    throw forbidden(
      ctx,
      where,
      `${shown} is outside the directories this server lets pipelines open (its files directory and ` +
        'those allowed with --allow-path). Use a path inside them, or ask the operator to allow its directory',
    );
  }
  return real;
}

function forbidden(ctx: PathContext, where: string, why: string): FatalError {
  return new FatalError(`step "${ctx.stepId}": ${where}: ${why}`, { code: ErrorCode.PATH_FORBIDDEN });
}
