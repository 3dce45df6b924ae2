import { createRegistry } from '@sluice/connectors';
import { checkDeferred, coerceParams, planPipeline, toSluiceError } from '@sluice/core';
import pc from 'picocolors';
import { loadSpec } from '../load-spec.ts';
import { printError } from '../render/errors.ts';

/** `sluice validate`: 0 when the spec would run, 2 with every problem listed when not. */
export async function validateCommand(
  specPath: string,
  flags: { param: Record<string, string>; json?: boolean },
): Promise<number> {
  try {
    const { doc } = await loadSpec(specPath);
    const schema = (doc as { parameters?: object } | null)?.parameters;
    const plan = planPipeline(doc, { registry: createRegistry(), params: coerceParams(schema, flags.param) });
    await checkDeferred(plan);
    if (flags.json) {
      process.stdout.write(
        `${JSON.stringify({ valid: true, pipeline: plan.name, steps: plan.steps.map((s) => s.id) })}\n`,
      );
    } else {
      process.stdout.write(
        `${pc.green('✓')} ${specPath}: pipeline "${plan.name}" is valid (${plan.steps.length} step(s): ${plan.steps.map((s) => s.id).join(', ')})\n`,
      );
    }
    return 0;
  } catch (err) {
    if (flags.json) {
      const e = toSluiceError(err);
      process.stdout.write(`${JSON.stringify({ valid: false, error: e.toJSON() })}\n`);
    } else printError(err);
    return 2;
  }
}
