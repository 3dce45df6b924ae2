import { createHash } from 'node:crypto';
import { mkdir, open, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Json, SinkWriter } from '../connector.ts';
import { ErrorCode, SluiceError } from '../errors.ts';
import { readJson, writeJsonAtomic } from './files.ts';
import type { ComponentStats, Meter } from './meter.ts';

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
 * A copy of a flow's checkpoints, and of the quarantine they cover, kept off this machine (the
 * platform keeps a partition's in its database): a run resumed on another machine, whose disk has
 * neither, starts from the copy.
 */
export interface CheckpointMirror {
  /** What the copy held when the run started: the checkpoint file, and its quarantine's text. */
  initial?: { file: Json; quarantine?: string } | undefined;
  /**
   * Keeps a checkpoint file and the quarantine's text from byte `from` on (what it gained since the
   * last save; from 0 again after a fresh start). Called after the local file is written and before
   * transactional sinks commit: it must be durable when it resolves.
   */
  save(file: Json, quarantine: { from: number; text: string }): Promise<void>;
}

/**
 * A step's checkpoint file. It keeps the current and the previous checkpoint: transactional sinks
 * commit after the file is written, so after a crash the destination holds one or the other.
 */
export class CheckpointStore {
  readonly #path: string;
  readonly #step: string;
  readonly #mirror: { to: CheckpointMirror; quarantine: string } | undefined;
  #previous: Checkpoint | undefined;
  // The quarantine's bytes the mirror holds.
  #mirrored = 0;

  constructor(path: string, step: string, mirror?: { to: CheckpointMirror; quarantine: string }) {
    this.#path = path;
    this.#step = step;
    this.#mirror = mirror;
  }

  async save(cp: Checkpoint): Promise<void> {
    const file: CheckpointFile = { version: 1, step: this.#step, current: cp };
    if (this.#previous) file.previous = this.#previous;
    await writeJsonAtomic(this.#path, file);
    this.#previous = cp;
    if (!this.#mirror) return;
    const from = this.#mirrored;
    const text = await readRange(this.#mirror.quarantine, from, cp.quarantine.bytes);
    await this.#mirror.to.save(file as unknown as Json, { from, text });
    this.#mirrored = cp.quarantine.bytes;
  }

  /** Forgets the checkpoint of an earlier run: this one starts afresh. */
  async clear(): Promise<void> {
    await rm(this.#path, { force: true });
    this.#previous = undefined;
    this.#mirrored = 0;
  }

  /**
   * The checkpoint file on this disk or, when there is none, the mirror's, with the quarantine it
   * covers put back in place.
   */
  async #load(): Promise<CheckpointFile | undefined> {
    const local = await readJson<CheckpointFile>(this.#path);
    const initial = this.#mirror?.to.initial;
    if (local || !initial) return local;
    const file = initial.file as unknown as CheckpointFile;
    const have = await stat(this.#mirror!.quarantine).then(
      (s) => s.size,
      () => -1,
    );
    const text = initial.quarantine ?? '';
    if (have < Buffer.byteLength(text)) {
      await mkdir(dirname(this.#mirror!.quarantine), { recursive: true });
      await writeFile(this.#mirror!.quarantine, text);
    }
    return file;
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
    const saved = await this.#load();
    if (!saved) return undefined;
    const chosen = seqs.length === 0 ? saved.current : this.#match(saved, seqs);
    this.#mirrored = chosen?.quarantine.bytes ?? 0;
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

/** The text of a file's bytes `from`..`to` (a quarantine's: whole NDJSON lines). */
async function readRange(path: string, from: number, to: number): Promise<string> {
  if (to <= from) return '';
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(to - from);
    await fh.read(buf, 0, buf.length, from);
    return buf.toString('utf8');
  } finally {
    await fh.close();
  }
}

/** A short stable hash of a step's definition, to refuse resuming a checkpoint of another one. */
export function fingerprintOf(definition: unknown): string {
  return createHash('sha256').update(JSON.stringify(definition)).digest('hex').slice(0, 16);
}

/** What a flow (or a quarantine replay) checkpoints with. */
export interface CheckpointParts {
  store: CheckpointStore;
  writers: readonly SinkWriter[];
  transactional: readonly boolean[];
  /** Every component's meter, the sinks' last. */
  meters: readonly Meter[];
  flushQuarantine(): Promise<{ bytes: number; rows: number }>;
  fingerprint: string;
}

/**
 * Commits checkpoint `seq` at `position`: file sinks are made durable first, then the checkpoint
 * file records their state with the position, then transactional sinks commit the same `seq` in
 * their own transaction. Returns the rows each sink has acknowledged with it.
 */
export async function commitCheckpoint(
  p: CheckpointParts,
  c: { seq: number; position: Json; state: Record<string, Json>; final: boolean },
): Promise<number[]> {
  const { writers, transactional } = p;
  const sMeters = p.meters.slice(p.meters.length - writers.length);
  // Sinks report what they refused or merged first, so the counts below are complete.
  for (const w of writers) await w.flush?.();
  const quarantine = await p.flushQuarantine();
  // Once this checkpoint is committed, so is every row a sink received and did not set aside;
  // a sink's meter shows it only after its own commit, so a failed commit is not counted.
  const acked = sMeters.map((m) => m.rowsToAcknowledge);
  const at = { seq: c.seq, position: c.position };
  const sinks: (Json | null)[] = [];
  for (let i = 0; i < writers.length; i++) {
    if (transactional[i]) {
      sinks.push(null);
      continue;
    }
    sinks.push((await writers[i]!.commit(at)) ?? null);
    sMeters[i]!.rowsOut = acked[i]!;
  }
  const stats = p.meters.map((m) => m.stats());
  const first = stats.length - writers.length;
  for (let i = 0; i < writers.length; i++) stats[first + i]!.rowsOut = acked[i]!;
  await p.store.save({
    ...at,
    sinks,
    quarantine,
    stats,
    state: { ...c.state },
    final: c.final,
    fingerprint: p.fingerprint,
  });
  for (let i = 0; i < writers.length; i++) {
    if (!transactional[i]) continue;
    await writers[i]!.commit(at);
    sMeters[i]!.rowsOut = acked[i]!;
  }
  return acked;
}
