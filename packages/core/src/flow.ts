import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type ComponentContext,
  type Json,
  type Logger,
  type QuarantineEntry,
  type Row,
  type SinkWriter,
  SOURCE_LINE,
  type TransformFn,
} from './connector.ts';
import { ErrorCode, SluiceError } from './errors.ts';
import { Checksum } from './internal/checksum.ts';
import { readJson, writeJsonAtomic } from './internal/files.ts';
import { type ComponentStats, Meter } from './internal/meter.ts';
import { QuarantineFile } from './internal/quarantine.ts';
import type { PlannedComponent, PlannedFlow } from './plan.ts';

export interface FlowEnv {
  pipeline: string;
  /** This step's directory for checkpoints, quarantine and state. */
  stepDir: string;
  baseDir: string;
  params: Readonly<Record<string, unknown>>;
  signal: AbortSignal;
  resume: boolean;
  maxQuarantine: number | undefined;
  logger(componentId: string): Logger;
  onProgress(p: { rowsRead: number; done?: number; total?: number }): void;
}

export interface FlowResult {
  components: ComponentStats[];
  resumedFromRow: number | undefined;
  quarantineFile: string;
}

interface Checkpoint {
  seq: number;
  position: Json;
  sinks: (Json | null)[];
  quarantine: { bytes: number; rows: number };
  stats: ComponentStats[];
}
interface CheckpointFile {
  version: 1;
  step: string;
  current: Checkpoint;
  previous?: Checkpoint;
}

/**
 * Runs one flow: pulls batches from the source (pull gives backpressure: nothing is read until
 * the sinks took the previous batch), pushes them through the transforms into every sink, and
 * checkpoints every `checkpointEvery` rows. A checkpoint first makes file sinks durable, then
 * records their state with the source position in a file, then commits transactional sinks,
 * which store the same `seq` in their own transaction; the file keeps the previous checkpoint
 * too, so a crash between the two commits resumes from whichever one the destination holds.
 */
export async function runFlow(step: PlannedFlow, env: FlowEnv): Promise<FlowResult> {
  const cpPath = join(env.stepDir, 'checkpoint.json');
  const statePath = join(env.stepDir, 'state.json');
  const quarantine = new QuarantineFile(join(env.stepDir, 'quarantine.ndjson'));
  const abort = new AbortController();
  const signal = AbortSignal.any([env.signal, abort.signal]);
  const srcMeter = new Meter(step.source.id, step.source.def.name, 'source');
  const tMeters = step.transforms.map((t) => new Meter(t.id, t.def.name, 'transform'));
  const sMeters = step.sinks.map((s) => new Meter(s.id, s.def.name, 'sink'));
  const meters = [srcMeter, ...tMeters, ...sMeters];
  let origin: string | undefined;
  let quarantined = 0;

  const context = <C>(c: PlannedComponent, meter: Meter): ComponentContext<C> => ({
    config: c.config as C,
    signal,
    stepId: step.id,
    componentId: c.id,
    baseDir: env.baseDir,
    params: env.params,
    log: env.logger(c.id),
    quarantine(entry: QuarantineEntry) {
      meter.rowsQuarantined++;
      quarantined++;
      const line = entry.line ?? (entry.row?.[SOURCE_LINE] as number | undefined);
      quarantine.add({
        step: step.id,
        component: c.id,
        ...(origin === undefined ? {} : { file: origin }),
        ...entry,
        ...(line === undefined ? {} : { line }),
        time: new Date().toISOString(),
      });
    },
  });

  const writers: SinkWriter[] = [];
  let iterator:
    | AsyncIterator<{ rows: Row[]; position?: Json; progress?: { done: number; total?: number } }>
    | undefined;
  try {
    for (let i = 0; i < step.sinks.length; i++) {
      const s = step.sinks[i]!;
      const ctx = { ...context(s, sMeters[i]!), checkpointKey: `${env.pipeline}/${step.id}/${s.id}` };
      writers.push(await s.def.open(ctx));
    }
    const saved = env.resume ? await readJson<CheckpointFile>(cpPath) : undefined;
    const from = await chooseCheckpoint(saved, writers, step);
    if (from) {
      from.stats.forEach((s, i) => meters[i]?.restore(s));
      quarantined = from.quarantine.rows;
    } else {
      await rm(cpPath, { force: true });
    }
    // Rows committed before the checkpoint were acknowledged then; sinks count only new ones.
    const ackedBefore = sMeters.map((m) => m.rowsIn);
    await quarantine.open(from?.quarantine);
    for (let i = 0; i < writers.length; i++) {
      const resume = from && (step.sinks[i]!.def.transactional ? { seq: from.seq } : from.sinks[i]);
      await writers[i]!.start(resume ?? undefined);
    }
    const fns: TransformFn[] = [];
    for (let i = 0; i < step.transforms.length; i++) {
      const t = step.transforms[i]!;
      fns.push(await t.def.create(context(t, tMeters[i]!)));
    }

    const stateValues = (await readJson<Record<string, Json>>(statePath)) ?? {};
    const sourceCtx = {
      ...context(step.source, srcMeter),
      resumeFrom: from?.position,
      state: {
        get: (k: string) => stateValues[k],
        set: (k: string, v: Json) => {
          stateValues[k] = v;
        },
      },
      setOrigin: (o: string) => {
        origin = o;
      },
    };
    iterator = step.source.def.read(sourceCtx)[Symbol.asyncIterator]();
    let seq = from?.seq ?? 0;
    let previous = from;
    let position: Json | undefined;
    let sinceCheckpoint = 0;
    const transactional = step.sinks.map((s) => s.def.transactional === true);

    const checkpoint = async (): Promise<void> => {
      seq++;
      const q = await quarantine.flush();
      const states: (Json | null)[] = [];
      for (let i = 0; i < writers.length; i++) {
        states.push(
          transactional[i] ? null : ((await writers[i]!.commit({ seq, position: position! })) ?? null),
        );
      }
      const cp: Checkpoint = {
        seq,
        position: position!,
        sinks: states,
        quarantine: q,
        stats: meters.map((m) => m.stats()),
      };
      await writeJsonAtomic(cpPath, {
        version: 1,
        step: step.id,
        current: cp,
        ...(previous ? { previous } : {}),
      });
      for (let i = 0; i < writers.length; i++) {
        if (transactional[i]) await writers[i]!.commit({ seq, position: position! });
      }
      previous = cp;
      sinceCheckpoint = 0;
    };

    for (;;) {
      let t0 = performance.now();
      const next = await iterator.next();
      srcMeter.ms += performance.now() - t0;
      if (next.done) break;
      const batch = next.value;
      let rows = batch.rows;
      let hashes = srcMeter.emitted(rows);
      for (let i = 0; i < fns.length; i++) {
        const m = tMeters[i]!;
        m.rowsIn += rows.length;
        t0 = performance.now();
        const out = fns[i]!(rows);
        rows = out instanceof Promise ? await out : out;
        m.ms += performance.now() - t0;
        hashes = m.emitted(rows, hashes);
      }
      if (rows.length > 0) {
        t0 = performance.now();
        for (const m of sMeters) m.rowsIn += rows.length;
        if (writers.length === 1) await writers[0]!.write(rows);
        else await Promise.all(writers.map((w) => w.write(rows)));
        const dt = performance.now() - t0;
        for (const m of sMeters) m.ms += dt;
      }
      srcMeter.rowsIn = srcMeter.rowsOut + srcMeter.rowsQuarantined;
      if (env.maxQuarantine !== undefined && quarantined > env.maxQuarantine) {
        throw new SluiceError(
          ErrorCode.QUARANTINE_LIMIT,
          `step "${step.id}": ${quarantined} rows quarantined, more than the limit of ${env.maxQuarantine} ` +
            `(see ${quarantine.path}; raise maxQuarantine or --max-quarantine to accept more)`,
        );
      }
      env.onProgress({ rowsRead: srcMeter.rowsIn, ...(batch.progress ?? {}) });
      if (batch.position !== undefined) {
        position = batch.position;
        sinceCheckpoint += batch.rows.length;
        if (sinceCheckpoint >= step.checkpointEvery) await checkpoint();
      }
      if (signal.aborted) throw signal.reason;
    }
    srcMeter.rowsIn = srcMeter.rowsOut + srcMeter.rowsQuarantined;

    for (let i = 0; i < writers.length; i++) {
      const t0 = performance.now();
      const result = await writers[i]!.close();
      const m = sMeters[i]!;
      m.ms += performance.now() - t0;
      m.rowsOut = ackedBefore[i]! + result.rowsWritten;
      if (result.location !== undefined) m.location = result.location;
    }
    writers.length = 0;
    await quarantine.close();
    await writeJsonAtomic(statePath, stateValues);
    await rm(cpPath, { force: true });
    // A sink emits what it was given: its checksum is the last stage's.
    const upstream = (tMeters.at(-1) ?? srcMeter).checksum.toString();
    for (const m of sMeters) m.checksum = Checksum.from(upstream);
    return {
      components: meters.map((m) => m.stats()),
      resumedFromRow: from ? from.stats[0]?.rowsIn : undefined,
      quarantineFile: quarantine.path,
    };
  } catch (err) {
    abort.abort(err);
    await iterator?.return?.().catch(() => undefined);
    await Promise.all(writers.map((w) => w.abort(err).catch(() => undefined)));
    await quarantine.close().catch(() => undefined);
    throw err;
  }
}

async function chooseCheckpoint(
  saved: CheckpointFile | undefined,
  writers: SinkWriter[],
  step: PlannedFlow,
): Promise<Checkpoint | undefined> {
  const seqs: (number | undefined)[] = [];
  for (let i = 0; i < writers.length; i++) {
    if (step.sinks[i]!.def.transactional && writers[i]!.recover) seqs.push(await writers[i]!.recover!());
  }
  if (!saved) return undefined;
  if (seqs.length === 0) return saved.current;
  const first = seqs[0];
  if (seqs.some((s) => s !== first)) {
    throw new SluiceError(
      ErrorCode.CHECKPOINT,
      `step "${step.id}": its transactional sinks hold different checkpoints (${seqs.join(', ')}); ` +
        'resume is impossible, rerun without --resume after clearing the destinations',
    );
  }
  if (first === undefined) return undefined;
  const match = [saved.current, saved.previous].find((c) => c?.seq === first);
  if (!match) {
    throw new SluiceError(
      ErrorCode.CHECKPOINT,
      `step "${step.id}": the destination holds checkpoint ${first}, the local state ${saved.current.seq}; ` +
        'they come from different runs. Rerun without --resume.',
    );
  }
  return match;
}
