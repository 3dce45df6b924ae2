import type { ComponentContext, ConnectorDefinition } from '../connector.ts';
import { ErrorCode, type Issue, SluiceError } from '../errors.ts';

export interface CheckOptions {
  params?: Readonly<Record<string, unknown>>;
  /** Names the component in messages, as at run time. @defaultValue `<kind> "<name>"` */
  componentId?: string;
}

const never = new AbortController().signal;
const ignore = (): void => {};
const log = { debug: ignore, info: ignore, warn: ignore, error: ignore };

/** `with.fields.day` → `<path>.fields.day`: components name paths from their own `with`. */
function under(path: string, relative: string): string {
  const rest = relative === 'with' ? '' : relative.startsWith('with.') ? relative.slice(5) : relative;
  if (!rest) return path;
  return path ? `${path}.${rest}` : rest;
}

/**
 * Problems a component finds in a config that passed its schema (defaults filled in), at paths
 * under `path` (where the config sits: `steps[0].flow[1].with`): its `check`, then for a
 * transform whatever its `create` throws. Building the transform here, as the run does, is what
 * keeps `sluice validate` from passing a spec the run refuses: there is no second list of checks.
 */
export function componentIssues(
  def: ConnectorDefinition,
  config: unknown,
  path: string,
  opts: CheckOptions = {},
): Issue[] {
  const params = opts.params ?? {};
  const issues = (def.check?.(config as never, { params }) ?? []).map((i) => ({
    path: under(path, i.path),
    message: i.message,
  }));
  if (def.kind !== 'transform' || issues.length > 0) return issues;
  const ctx: ComponentContext<never> = {
    config: config as never,
    signal: never,
    stepId: '',
    componentId: opts.componentId ?? `transform "${def.name}"`,
    baseDir: process.cwd(),
    params,
    log,
    quarantine() {
      throw new SluiceError(ErrorCode.INTERNAL, `${def.name}: create() must not quarantine rows`);
    },
  };
  try {
    const made = def.create(ctx);
    // An async create is checked when the run starts; its rejection is not this check's to report.
    if (made instanceof Promise) made.catch(ignore);
  } catch (err) {
    const e = err instanceof SluiceError ? err : undefined;
    if (e && e.issues.length > 0)
      return e.issues.map((i) => ({ path: under(path, i.path), message: i.message }));
    const message = err instanceof Error ? err.message : String(err);
    return [{ path, message }];
  }
  return [];
}
