import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type { Json, SinkWriter } from '../connector.ts';
import { ErrorCode, SluiceError } from '../errors.ts';
import { readJson, writeJsonAtomic } from './files.ts';
import type { ComponentStats } from './meter.ts';

export interface Checkpoint {
  seq: number;
  /** The source position after the last row this checkpoint covers (null: the source has none). */
  position: Json;
  /** Each sink's resume state (null for transactional sinks: theirs is at the destination). */
  sinks: (Json | null)[];
  quarantine: { bytes: number; rows: number };
  stats: ComponentStats[];
  /** The source's persistent state as of this checkpoint. */
  state: Record<string, Json>;
  /** Every row was written: a resume only has to close the sinks. */
  final?: boolean;
  /** Identifies the step's components (ids, kinds, connectors) the checkpoint belongs to. */
  fingerprint: string;
}

interface CheckpointFile {
  version: 1;
  step: string;
  current: Checkpoint;
  previous?: Checkpoint;
}

/**
 * A step's checkpoint file. It keeps the current and the previous checkpoint: transactional sinks
 * commit after the file is written, so after a crash the destination holds one or the other.
 */
export class CheckpointStore {
  readonly #path: string;
  readonly #step: string;
  #previous: Checkpoint | undefined;

  constructor(path: string, step: string) {
    this.#path = path;
    this.#step = step;
  }

  async save(cp: Checkpoint): Promise<void> {
    const file: CheckpointFile = { version: 1, step: this.#step, current: cp };
    if (this.#previous) file.previous = this.#previous;
    await writeJsonAtomic(this.#path, file);
    this.#previous = cp;
  }

  /** Forgets the checkpoint of an earlier run: this one starts afresh. */
  async clear(): Promise<void> {
    await rm(this.#path, { force: true });
    this.#previous = undefined;
  }

  /**
   * The checkpoint to resume from: the one whose `seq` the transactional sinks hold, or the
   * current one when there are none. Undefined means start afresh.
   */
  async choose(
    writers: SinkWriter[],
    transactional: boolean[],
    fingerprint: string,
  ): Promise<Checkpoint | undefined> {
    const seqs: (number | undefined)[] = [];
    for (let i = 0; i < writers.length; i++) {
      if (transactional[i] && writers[i]!.recover) seqs.push(await writers[i]!.recover!());
    }
    const saved = await readJson<CheckpointFile>(this.#path);
    if (!saved) return undefined;
    const chosen = seqs.length === 0 ? saved.current : this.#match(saved, seqs);
    if (chosen && chosen.fingerprint !== fingerprint) {
      throw new SluiceError(
        ErrorCode.CHECKPOINT,
        `step "${this.#step}" changed since its checkpoint was written (its components differ); ` +
          'resuming would mix two definitions. Rerun without --resume.',
      );
    }
    this.#previous = chosen;
    return chosen;
  }

  #match(saved: CheckpointFile, seqs: (number | undefined)[]): Checkpoint | undefined {
    const first = seqs[0];
    if (seqs.some((s) => s !== first)) {
      throw new SluiceError(
        ErrorCode.CHECKPOINT,
        `step "${this.#step}": its transactional sinks hold different checkpoints (${seqs.join(', ')}); ` +
          'resume is impossible, rerun without --resume after clearing the destinations',
      );
    }
    if (first === undefined) return undefined;
    const match = [saved.current, saved.previous].find((c) => c?.seq === first);
    if (!match) {
      throw new SluiceError(
        ErrorCode.CHECKPOINT,
        `step "${this.#step}": the destination holds checkpoint ${first}, the local state ${saved.current.seq}; ` +
          'they come from different runs. Rerun without --resume.',
      );
    }
    return match;
  }
}

/** A short stable hash of a step's definition, to refuse resuming a checkpoint of another one. */
export function fingerprintOf(definition: unknown): string {
  return createHash('sha256').update(JSON.stringify(definition)).digest('hex').slice(0, 16);
}
