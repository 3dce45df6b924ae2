import type { ConnectorDefinition, KnownColumn } from './connector.ts';
import { ConfigError, type Issue } from './errors.ts';
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
    // The columns rows carry at each point, while every component so far declares them.
    let known = columnsAfter(defOf(step.source, 'source'), step.source.config, undefined);
    for (const c of step.transforms as readonly (PlannedComponent | ResolvedComponent)[]) {
      const def = defOf(c, 'transform');
      if (def?.kind === 'transform' && def.validate !== undefined) {
        const ctx = { params, ...(known === undefined ? {} : { input: known }) };
        for (const i of await def.validate(c.config as never, ctx))
          issues.push({ path: under(c.path, i.path), message: `step "${step.id}": ${i.message}` });
      }
      known = columnsAfter(def, c.config, known);
    }
  }
  if (issues.length > 0) throw new ConfigError('invalid pipeline spec', issues);
}

function columnsAfter(
  def: ConnectorDefinition | undefined,
  config: unknown,
  input: readonly KnownColumn[] | undefined,
): readonly KnownColumn[] | undefined {
  if (def?.kind === 'source') return def.columns?.(config as never);
  if (def?.kind === 'transform') return def.columns?.(config as never, input);
  return undefined;
}
