import { ConfigError, type Issue } from './errors.ts';
import { columnsAlong } from './known-columns.ts';
import type { PlannedComponent, PlannedStep } from './plan.ts';
import type { Registry } from './registry.ts';
import type { ResolvedComponent, ResolvedStep } from './resolved-plan.ts';

/** `with.query` → `<component path>.with.query`, as componentIssues names paths. */
function under(path: string, relative: string): string {
  return relative === '' ? `${path}.with` : `${path}.with.${relative}`;
}

/**
 * Runs the transforms' asynchronous `validate` hooks over a plan (bound, or resolved and bound to
 * `registry` here) and throws one ConfigError listing every problem, at the component's path, as
 * planning does for the synchronous checks. The hooks of all components run one after another:
 * each may start an embedded engine, and validation is not the place to use every core at once.
 */
export async function checkDeferred(
  plan: {
    readonly steps: readonly (PlannedStep | ResolvedStep)[];
    readonly params?: Record<string, unknown>;
  },
  registry?: Registry,
): Promise<void> {
  const issues: Issue[] = [];
  const params = plan.params ?? {};
  const defOf = (c: PlannedComponent | ResolvedComponent, kind: 'source' | 'transform') =>
    'def' in c ? c.def : registry?.find(c.connector).find((d) => d.kind === kind);
  for (const step of plan.steps) {
    if (step.kind !== 'flow') continue;
    const transforms = (step.transforms as readonly (PlannedComponent | ResolvedComponent)[]).map((c) => ({
      c,
      def: defOf(c, 'transform'),
      config: c.config,
    }));
    const along = columnsAlong({ def: defOf(step.source, 'source'), config: step.source.config }, transforms);
    for (const [i, { c, def }] of transforms.entries()) {
      if (def?.kind !== 'transform' || def.validate === undefined) continue;
      const known = along[i];
      const ctx = { params, ...(known === undefined ? {} : { input: known }) };
      for (const issue of await def.validate(c.config as never, ctx))
        issues.push({ path: under(c.path, issue.path), message: `step "${step.id}": ${issue.message}` });
    }
  }
  if (issues.length > 0) throw new ConfigError('invalid pipeline spec', issues);
}
