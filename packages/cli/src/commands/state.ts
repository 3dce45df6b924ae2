import { join, resolve } from 'node:path';
import { ConfigError, fileStepStateStore, normalizeSpec, type StepState, stateDirOf } from '@sluice/core';
import pc from 'picocolors';
import { loadSpec } from '../load-spec.ts';
import { printError } from '../render/errors.ts';

export interface StateFlags {
  step?: string;
  stateDir?: string;
  json?: boolean;
}

/**
 * `sluice state show|reset <spec>`: what each step of a pipeline keeps between runs (an incremental
 * source's cursor), and deleting it so the next run starts from the beginning. 0 on success, 2
 * when the spec or the step is wrong.
 */
export async function stateCommand(action: string, specPath: string, flags: StateFlags): Promise<number> {
  try {
    if (action !== 'show' && action !== 'reset') {
      throw new ConfigError(
        `unknown state action "${action}": use sluice state show|reset <spec> [--step id]`,
        [],
      );
    }
    const { doc } = await loadSpec(specPath);
    const spec = normalizeSpec(doc);
    const ids = (spec.steps ?? []).map((s) => s.id);
    if (flags.step !== undefined && !ids.includes(flags.step)) {
      throw new ConfigError(
        `no step "${flags.step}" in pipeline "${spec.name}" (its steps: ${ids.join(', ')})`,
        [],
      );
    }
    // The same default as `sluice run`: state sits beside the runs of the pipeline it belongs to.
    const runDir = resolve(flags.stateDir ?? join(process.cwd(), '.sluice', 'runs', spec.name));
    const store = fileStepStateStore(stateDirOf(runDir));
    if (action === 'reset') {
      const gone = await store.reset(flags.step);
      if (flags.json) process.stdout.write(`${JSON.stringify({ pipeline: spec.name, reset: gone })}\n`);
      else if (gone.length === 0) process.stdout.write(`no state to reset for pipeline "${spec.name}"\n`);
      else
        process.stdout.write(
          `${pc.green('✓')} reset the state of ${gone.map((g) => `"${g}"`).join(', ')}: the next run starts from the beginning\n`,
        );
      return 0;
    }
    const all = await store.list();
    const shown: Record<string, StepState> = Object.fromEntries(
      Object.entries(all).filter(([id]) => flags.step === undefined || id === flags.step),
    );
    if (flags.json) {
      process.stdout.write(`${JSON.stringify({ pipeline: spec.name, steps: shown }, null, 2)}\n`);
      return 0;
    }
    if (Object.keys(shown).length === 0) {
      process.stdout.write(`no state kept for pipeline "${spec.name}" (${stateDirOf(runDir)})\n`);
      return 0;
    }
    for (const [id, state] of Object.entries(shown)) {
      process.stdout.write(`${pc.bold(id)}\n`);
      for (const [k, v] of Object.entries(state)) process.stdout.write(`  ${k}: ${JSON.stringify(v)}\n`);
    }
    return 0;
  } catch (err) {
    printError(err);
    return 2;
  }
}
