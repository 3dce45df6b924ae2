import { copyFile, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type ComponentContext,
  type Logger,
  type QuarantineEntry,
  type Row,
  type SinkWriter,
  SOURCE_LINE,
  type TransformFn,
  type TransformStage,
} from '../connector.ts';
import type { DatasetArea } from '../dataset.ts';
import { ErrorCode, FatalError, SluiceError, toSluiceError } from '../errors.ts';
import { writeAll } from '../flow.ts';
import { sinkColumns } from '../known-columns.ts';
import type { NetPolicy } from '../net-policy.ts';
import type { PathPolicy } from '../paths.ts';
import type { PlannedComponent, PlannedFlow } from '../plan.ts';
import type { ReplayCounts } from '../report.ts';
import {
  type Checkpoint,
  type CheckpointParts,
  CheckpointStore,
  commitCheckpoint,
  fingerprintOf,
} from './checkpoint.ts';
import { guardConnect } from './circuits.ts';
import { readJson } from './files.ts';
import { type ComponentStats, Meter } from './meter.ts';
import { QuarantineFile, type QuarantineRecord } from './quarantine.ts';
import { parseEntries, reparser, targetOf } from './replay-entries.ts';
import { asStage, closeStages } from './stages.ts';

export interface ReplayEnv {
  /** Names the run at destinations that keep checkpoints (the run key, as for the run). */
  pipeline: string;
  /** The step's directory in the run's state: its `quarantine.ndjson` is what is replayed. */
  stepDir: string;
  baseDir: string;
  paths?: PathPolicy | undefined;
  network?: NetPolicy | undefined;
  params: Readonly<Record<string, unknown>>;
  datasets?: DatasetArea | undefined;
  signal: AbortSignal;
  logger(componentId: string): Logger;
  onProgress(p: { rowsRead: number; done: number; total: number }): void;
}

export interface ReplayStepResult {
  components: ComponentStats[];
  counts: ReplayCounts;
  /** Entries replayed before an interruption, when this replay resumed one. */
  resumedFromEntry: number | undefined;
}

// Entries between checkpoints at most: a replay is small, a commit per few thousand rows is cheap.
const MAX_ENTRIES_PER_CHECKPOINT = 5000;

/**
 * Replays a step's quarantine through the step's current components into its sinks.
 *
 * Files, under the step's directory: `replay/input.ndjson` is a snapshot of `quarantine.ndjson`
 * taken when the replay starts (an interrupted replay resumes over the same entries);
 * `replay/checkpoint.json` holds the index of the next entry, committed with the sinks as a run's
 * source position is (transactional sinks under their own key, `<run key>/<step>/<sink>/replay`,
 * so a replay never takes a run's checkpoint for its own); `replay/quarantine.ndjson` collects
 * the entries that fail again. Once every sink closed, the new quarantine replaces the step's
 * (the entries still open), and `replay/` moves to `replayed/<time>/`: the entries replayed,
 * kept for the record. Replaying again therefore only takes what failed again.
 */
export async function replayStep(step: PlannedFlow, env: ReplayEnv): Promise<ReplayStepResult> {
  const dir = join(env.stepDir, 'replay');
  const input = join(dir, 'input.ndjson');
  const newQuarantine = join(dir, 'quarantine.ndjson');
  const checkpointPath = join(dir, 'checkpoint.json');
  const store = new CheckpointStore(checkpointPath, `${step.id} (replay)`);
  await mkdir(dir, { recursive: true });
  // Finished, and the new quarantine already replaced the step's: only the cleanup is left. Known
  // from the local files alone, as the destinations may have dropped their checkpoints already.
  const saved = await readJson<{ current: Checkpoint }>(checkpointPath);
  const settled = saved?.current.final === true && !(await exists(newQuarantine));
  if (!(await exists(input))) {
    // Taken whole before anything is written: the snapshot is the replay's input to its end.
    await copyFile(join(env.stepDir, 'quarantine.ndjson'), `${input}.tmp`).catch(async (err) => {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await writeFile(`${input}.tmp`, '');
    });
    await rename(`${input}.tmp`, input);
  }
  const entries = parseEntries(await readFile(input, 'utf8'));
  const quarantine = new QuarantineFile(newQuarantine);
  const abort = new AbortController();
  const signal = AbortSignal.any([env.signal, abort.signal]);
  const srcMeter = new Meter(step.source.id, step.source.def.name, 'source');
  const tMeters = step.transforms.map((t) => new Meter(t.id, t.def.name, 'transform'));
  const sMeters = step.sinks.map((s) => new Meter(s.id, s.def.name, 'sink'));
  const meters = [srcMeter, ...tMeters, ...sMeters];
  const transactional = step.sinks.map((s) => s.def.transactional === true);
  let notReplayable = 0;
  // The entry being replayed, and the entry each row handed to the sinks came from: a record
  // quarantined again keeps the original's file, line and offset.
  let current: QuarantineRecord | undefined;
  const origins = new WeakMap<Row, QuarantineRecord>();

  const context = <C>(c: PlannedComponent, meter: Meter): ComponentContext<C> => ({
    config: c.config as C,
    signal,
    stepId: step.id,
    componentId: c.id,
    baseDir: env.baseDir,
    paths: env.paths,
    network: env.network,
    params: env.params,
    datasets: env.datasets,
    log: env.logger(c.id),
    guardConnect: (endpoint, connect) =>
      guardConnect(endpoint, connect, { settings: step.retry.circuit, log: env.logger(c.id), where: c.id }),
    quarantine(entry: QuarantineEntry) {
      meter.rowsQuarantined++;
      const from = (entry.row && origins.get(entry.row)) ?? current;
      requarantine(from, c.id, entry);
    },
  });
  const requarantine = (from: QuarantineRecord | undefined, component: string, entry: QuarantineEntry) => {
    const line = entry.line ?? entry.row?.[SOURCE_LINE] ?? from?.line;
    const offset = entry.offset ?? from?.offset;
    quarantine.add({
      step: step.id,
      component,
      ...(from?.file === undefined ? {} : { file: from.file }),
      ...entry,
      ...(line === undefined ? {} : { line }),
      ...(offset === undefined ? {} : { offset }),
      time: new Date().toISOString(),
    });
  };

  const forget = (w: SinkWriter): Promise<void> =>
    (w.forget?.() ?? Promise.resolve()).catch((err: unknown) =>
      env
        .logger(step.id)
        .warn(`could not remove a replay checkpoint at a destination: ${toSluiceError(err).message}`),
    );
  // `replay/` becomes the record of this replay: the entries it took and its last checkpoint.
  const finish = async (from?: Checkpoint): Promise<ReplayStepResult> => {
    const kept = join(env.stepDir, 'replayed', new Date().toISOString().replaceAll(':', '-'));
    await mkdir(join(env.stepDir, 'replayed'), { recursive: true });
    await rename(dir, kept);
    const stats = meters.map((m) => m.stats());
    return {
      components: stats,
      resumedFromEntry: typeof from?.position === 'number' ? from.position : undefined,
      counts: {
        taken: entries.length,
        written: stats.filter((c) => c.kind === 'sink').reduce((a, c) => a + c.rowsOut, 0),
        filtered: stats.reduce((a, c) => a + c.rowsFiltered, 0),
        quarantined: stats.reduce((a, c) => a + c.rowsQuarantined, 0) + notReplayable,
        notReplayable,
        replayedFile: join(kept, 'input.ndjson'),
      },
    };
  };

  const writers: SinkWriter[] = [];
  const stages: TransformStage[] = [];
  try {
    const known = sinkColumns(step);
    for (let i = 0; i < step.sinks.length; i++) {
      const s = step.sinks[i]!;
      const m = sMeters[i]!;
      const w = await s.def.open({
        ...context(s, m),
        checkpointKey: `${env.pipeline}/${step.id}/${s.id}/replay`,
        ...known,
        merged: (rows: number) => {
          m.rowsMerged += rows;
        },
      });
      writers.push(w);
      if (!w.startAppend) {
        throw new FatalError(
          `${s.id}: the ${s.def.name} sink cannot add rows to what it wrote, so quarantined rows cannot be ` +
            `replayed into it without replacing its output; nothing was replayed for step "${step.id}"`,
          { code: ErrorCode.CONFIG },
        );
      }
    }
    const components = [step.source, ...step.transforms, ...step.sinks];
    const fingerprint = fingerprintOf(['replay', ...components.map((c) => [c.id, c.def.kind, c.def.name])]);
    const from = settled
      ? saved!.current
      : await chooseCheckpoint(store, writers, transactional, fingerprint, dir);
    if (from) from.stats.forEach((s, i) => meters[i]?.restore(s));
    notReplayable = from ? Number((from.state as { notReplayable?: number }).notReplayable ?? 0) : 0;
    if (settled) {
      for (const w of writers.splice(0)) {
        await forget(w);
        await w.abort(undefined);
      }
      return await finish(from);
    }
    const ackedBefore = sMeters.map((m) => m.rowsOut);
    await quarantine.open(from?.quarantine);
    for (let i = 0; i < writers.length; i++) {
      const resume = from && (transactional[i] ? { seq: from.seq } : from.sinks[i]);
      await writers[i]!.startAppend!(resume ?? undefined);
    }
    if (!from) await store.clear();
    let seq = from?.seq ?? 0;
    let position = typeof from?.position === 'number' ? from.position : 0;

    const parts: CheckpointParts = {
      store,
      writers,
      transactional,
      meters,
      flushQuarantine: () => quarantine.flush(),
      fingerprint,
    };
    const checkpoint = async (final: boolean): Promise<void> => {
      seq++;
      await commitCheckpoint(parts, { seq, position, state: { notReplayable }, final });
    };

    if (!from?.final) {
      const fns: TransformFn[] = [];
      for (let i = 0; i < step.transforms.length; i++) {
        const t = step.transforms[i]!;
        const stage = asStage(await t.def.create(context(t, tMeters[i]!)));
        stages.push(stage);
        fns.push(stage.push);
      }
      const parse = reparser(step, context(step.source, srcMeter), signal);
      const every = Math.max(1, Math.min(step.checkpointEvery, MAX_ENTRIES_PER_CHECKPOINT));
      while (position < entries.length) {
        const batch = entries.slice(position, position + every);
        const toAll: Row[] = [];
        const toSink: Row[][] = step.sinks.map(() => []);
        for (const rec of batch) {
          signal.throwIfAborted();
          current = rec;
          const t = targetOf(step, rec);
          let rows: Row[];
          let k: number;
          if (t.at === 'none') {
            notReplayable++;
            requarantine(rec, rec.component, {
              ...rec,
              reason: `not replayed: ${t.why} (quarantined for: ${rec.reason})`,
            });
            continue;
          } else if (t.at === 'sink') {
            origins.set(t.row, rec);
            toSink[t.index]!.push(t.row);
            continue;
          } else if (t.at === 'source') {
            const parsed = await parse(rec);
            if (typeof parsed === 'string') {
              notReplayable++;
              requarantine(rec, rec.component, {
                ...rec,
                reason: `not replayed: ${parsed} (quarantined for: ${rec.reason})`,
              });
              continue;
            }
            srcMeter.rowsIn++;
            rows = parsed;
            srcMeter.emitted(rows);
            k = 0;
          } else {
            rows = [t.row];
            k = t.index;
          }
          for (let i = k; i < fns.length && rows.length > 0; i++) {
            const m = tMeters[i]!;
            m.rowsIn += rows.length;
            const t0 = performance.now();
            const out = fns[i]!(rows);
            rows = out instanceof Promise ? await out : out;
            m.ms += performance.now() - t0;
            m.emitted(rows);
          }
          for (const r of rows) origins.set(r, rec);
          toAll.push(...rows);
        }
        current = undefined;
        if (toAll.length > 0) await writeAll(writers, sMeters, toAll);
        for (let i = 0; i < writers.length; i++) {
          if (toSink[i]!.length === 0) continue;
          sMeters[i]!.rowsIn += toSink[i]!.length;
          await writers[i]!.write(toSink[i]!);
        }
        position += batch.length;
        await checkpoint(position >= entries.length);
        env.onProgress({ rowsRead: position, done: position, total: entries.length });
      }
      if (entries.length === 0) await checkpoint(true);
      await closeStages(stages, false);
    }

    for (let i = 0; i < writers.length; i++) {
      const result = await writers[i]!.close();
      const m = sMeters[i]!;
      m.rowsOut = ackedBefore[i]! + result.rowsWritten;
      if (result.location !== undefined) m.location = result.location;
      m.verified = result.verification ?? {
        level: 'count',
        rowsHanded: m.rowsToAcknowledge,
        rowsFound: m.rowsOut,
      };
    }
    const closed = writers.splice(0);
    await quarantine.close();
    // The entries still open replace the step's quarantine in one rename: from here on the
    // replay is done (see `settled`), and the sinks' checkpoints may go.
    await rename(newQuarantine, join(env.stepDir, 'quarantine.ndjson'));
    for (const w of closed) await forget(w);
    return await finish(from);
  } catch (err) {
    abort.abort(err);
    await closeStages(stages, true);
    await Promise.all(writers.map((w) => w.abort(err).catch(() => undefined)));
    await quarantine.close().catch(() => undefined);
    throw err;
  }
}

/** The replay's checkpoint, with the CheckpointStore's advice (which speaks of runs) put for a replay. */
async function chooseCheckpoint(
  store: CheckpointStore,
  writers: SinkWriter[],
  transactional: boolean[],
  fingerprint: string,
  dir: string,
): Promise<Checkpoint | undefined> {
  try {
    return await store.choose(writers, transactional, fingerprint);
  } catch (err) {
    const e = toSluiceError(err);
    if (e.code !== ErrorCode.CHECKPOINT) throw err;
    throw new SluiceError(
      ErrorCode.CHECKPOINT,
      `${e.message.replace(/ ?(Rerun|rerun) without --resume.*$/, '')} An interrupted replay is in ${dir}: ` +
        'finish it with the step as it was when it started, then replay again with the new definition. ' +
        'Deleting that directory drops the replay, but rows it committed stay at the destinations and ' +
        'would be written again.',
      { cause: err },
    );
  }
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}
