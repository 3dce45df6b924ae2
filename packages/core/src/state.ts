import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Json } from './connector.ts';
import { readJson, writeJsonAtomic } from './internal/files.ts';

/** What a step's source keeps between runs (`ctx.state`), e.g. the PostgreSQL source's `cursor`. */
export type StepState = Record<string, Json>;

/**
 * Where a pipeline keeps its steps' state between runs. The state belongs to the pipeline, not to
 * a run: the CLI keeps it in files under the run directory, the platform in its database.
 *
 * `load` is called when a flow step starts afresh (a resumed step takes the state of its
 * checkpoint instead); undefined means the step has none yet. `save` is called once per step
 * that keeps any state, after every sink of the flow committed and closed and before the run
 * records the step's success: the state never gets ahead of what the destinations hold. An
 * error from either fails the step.
 */
export interface StepStateStore {
  load(stepId: string): Promise<StepState | undefined>;
  save(stepId: string, state: StepState): Promise<void>;
}

/** A StepStateStore the CLI can also list and reset (`sluice state show|reset`). */
export interface FileStepStateStore extends StepStateStore {
  /** Every step with a saved state, by step id. */
  list(): Promise<Record<string, StepState>>;
  /** Deletes the state of one step, or of every step; the next run of those steps reads everything. */
  reset(stepId?: string): Promise<string[]>;
}

/** The default store: one `<dir>/<stepId>.json` per step (dir is `<stateDir>/state`). */
export function fileStepStateStore(dir: string): FileStepStateStore {
  const file = (stepId: string) => join(dir, `${encodeURIComponent(stepId)}.json`);
  const ids = async (): Promise<string[]> => {
    try {
      return (await readdir(dir))
        .filter((f) => f.endsWith('.json'))
        .map((f) => decodeURIComponent(f.slice(0, -'.json'.length)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  };
  return {
    load: (stepId) => readJson<StepState>(file(stepId)),
    save: (stepId, state) => writeJsonAtomic(file(stepId), state),
    async list() {
      const out: Record<string, StepState> = {};
      for (const id of (await ids()).sort()) {
        const s = await readJson<StepState>(file(id));
        if (s !== undefined) out[id] = s;
      }
      return out;
    },
    async reset(stepId) {
      const gone = stepId === undefined ? await ids() : (await ids()).filter((id) => id === stepId);
      for (const id of gone) await rm(file(id), { force: true });
      return gone;
    },
  };
}

/** Where `runPipeline` keeps the state by default, for a run directory (`RunOptions.stateDir`). */
export function stateDirOf(runDir: string): string {
  return join(runDir, 'state');
}
