import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type Acknowledger,
  type ComponentContext,
  type Json,
  type Logger,
  type QuarantineEntry,
  type Row,
  type SinkWriter,
  SOURCE_LINE,
  type SourceBatch,
  type SourceContext,
} from './connector.ts';
import type { DatasetArea } from './dataset.ts';
import { ErrorCode, SluiceError } from './errors.ts';
import {
  type CheckpointMirror,
  type CheckpointParts,
  CheckpointStore,
  commitCheckpoint,
  fingerprintOf,
} from './internal/checkpoint.ts';
import { guardConnect } from './internal/circuits.ts';
import { type ComponentStats, Meter } from './internal/meter.ts';
import { type Delivered, runChunks } from './internal/parallel/pump.ts';
import { flowSettings, type ParallelSettings, parallelWorker } from './internal/parallel/settings.ts';
import { QuarantineFile } from './internal/quarantine.ts';
import { asStage, StageChain } from './internal/stages.ts';
import { sinkColumns } from './known-columns.ts';
import type { NetPolicy } from './net-policy.ts';
import type { PathPolicy } from './paths.ts';
import type { PlannedComponent, PlannedFlow } from './plan.ts';
import { verifyLevelOf } from './verify.ts';

export interface FlowEnv {
  pipeline: string;
  /** This step's directory for checkpoints and quarantine. */
  stepDir: string;
  /** The state the pipeline kept for this step; a resumed flow takes its checkpoint's instead. */
  loadState(): Promise<Record<string, Json> | undefined>;
  baseDir: string;
  paths?: PathPolicy | undefined;
  network?: NetPolicy | undefined;
  params: Readonly<Record<string, unknown>>;
  signal: AbortSignal;
  resume: boolean;
  /** The last run recorded this step's success: what its sinks' destinations still hold of it is done. */
  succeededBefore?: boolean;
  maxQuarantine: number | undefined;
  logger(componentId: string): Logger;
  onProgress(p: {
    rowsRead: number;
    done?: number;
    total?: number;
    lag?: number;
    checkpointAt?: number;
  }): void;
  /** Receives the figures reached when the flow fails, for the failed step's report. */
  onFailure?(components: ComponentStats[]): void;
  /** Worker threads for flows that can use them; undefined runs every flow on this thread. */
  parallel?: ParallelSettings | undefined;
  /** The run's datasets, for the components that read or write one. */
  datasets?: DatasetArea | undefined;
  /** The part of the source's input to read (a partition of the step; see SourceContext.part). */
  part?: Json | undefined;
  /** A copy of the flow's checkpoints kept elsewhere, to resume from on another machine. */
  mirror?: CheckpointMirror | undefined;
}

export interface FlowResult {
  components: ComponentStats[];
  resumedFromRow: number | undefined;
  quarantineFile: string;
  /** The source's state after the flow: every sink committed and closed the rows it covers. */
  state: Record<string, Json>;
  /** Drops the sinks' destination checkpoints; the caller calls it once the step's success is recorded. */
  forget(): Promise<void>;
}

/**
 * Runs one flow: pulls batches from the source (pull gives backpressure: nothing is read until
 * the sinks took the previous batch), pushes them through the transforms into every sink, and
 * checkpoints every `checkpointEvery` rows and once more at the end. A checkpoint first makes
 * file sinks durable, then records their state with the source position in a file, then commits
 * transactional sinks, which store the same `seq` in their own transaction. The last checkpoint
 * is marked final: a crash after it resumes by closing the sinks, never by writing again.
 */
export async function runFlow(step: PlannedFlow, env: FlowEnv): Promise<FlowResult> {
  const quarantine = new QuarantineFile(join(env.stepDir, 'quarantine.ndjson'));
  const store = new CheckpointStore(
    join(env.stepDir, 'checkpoint.json'),
    step.id,
    env.mirror ? { to: env.mirror, quarantine: quarantine.path } : undefined,
  );
  const abort = new AbortController();
  // A stream (a queue) never ends by itself. Asked to stop, it drains: the source stops reading,
  // what it read is written, checkpointed and acknowledged, and only then does the flow end as
  // cancelled. Its components are aborted only when draining takes longer than DRAIN_MS.
  const streaming = step.source.def.streaming === true;
  const stop = new AbortController();
  let drainTimer: NodeJS.Timeout | undefined;
  const drain = (): void => {
    stop.abort(env.signal.reason);
    drainTimer = setTimeout(() => abort.abort(env.signal.reason), DRAIN_MS);
  };
  if (streaming) {
    if (env.signal.aborted) drain();
    else env.signal.addEventListener('abort', drain, { once: true });
  }
  const signal = streaming ? abort.signal : AbortSignal.any([env.signal, abort.signal]);
  const intervalMs = step.checkpointIntervalMs ?? (streaming ? DEFAULT_STREAM_INTERVAL_MS : undefined);
  let ack: Acknowledger | undefined;
  const closeAck = async (): Promise<void> => {
    const a = ack;
    ack = undefined;
    await a?.close();
  };
  // The source's rows are hashed only for a sink that verifies content: the report then holds
  // the checksum of what went in beside each sink's checksums of what it handed over and found.
  const hashSource = step.sinks.some((s) => verifyLevelOf(s.config) === 'content');
  const srcMeter = new Meter(step.source.id, step.source.def.name, 'source', hashSource);
  const tMeters = step.transforms.map(
    (t) => new Meter(t.id, t.def.name, 'transform', false, t.def.reshapes === true),
  );
  // A transform holding its input has rows no sink holds yet: only the final checkpoint is true.
  const holds = step.transforms.some((t) => t.def.holdsInput === true);
  const tempRoot = join(env.stepDir, 'tmp');
  const sMeters = step.sinks.map((s) => new Meter(s.id, s.def.name, 'sink'));
  const meters = [srcMeter, ...tMeters, ...sMeters];
  const transactional = step.sinks.map((s) => s.def.transactional === true);
  let origin: string | undefined;
  let quarantined = 0;
  // What a person reading the job's log wants: where rows come from, how fast, each commit.
  const log = lifecycleLog(env.logger(step.id));
  const started = performance.now();
  let lastNote = started;

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
    tempDir: join(tempRoot, c.id.replace(/[^\w.-]+/g, '_')),
    guardConnect: (endpoint, connect) =>
      guardConnect(endpoint, connect, { settings: step.retry.circuit, log: env.logger(c.id), where: c.id }),
    count: (name, n) => meter.count(name, n),
    quarantine(entry: QuarantineEntry) {
      meter.rowsQuarantined++;
      quarantined++;
      const line = entry.line ?? entry.row?.[SOURCE_LINE];
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
  let iterator: AsyncIterator<SourceBatch> | undefined;
  let chain: StageChain | undefined;
  try {
    const known = sinkColumns(step);
    for (let i = 0; i < step.sinks.length; i++) {
      const s = step.sinks[i]!;
      const m = sMeters[i]!;
      const ctx = {
        ...context(s, m),
        checkpointKey: `${env.pipeline}/${step.id}/${s.id}`,
        ...known,
        merged: (rows: number) => {
          m.rowsMerged += rows;
        },
      };
      writers.push(await s.def.open(ctx));
    }
    const components = [step.source, ...step.transforms, ...step.sinks];
    // The shape only: fixing a config (a password, an expression) and resuming is legitimate.
    const fingerprint = fingerprintOf(components.map((c) => [c.id, c.def.kind, c.def.name]));
    if (!env.resume && env.succeededBefore) for (const w of writers) await w.forget?.();
    const from = env.resume ? await store.choose(writers, transactional, fingerprint) : undefined;
    if (from) {
      from.stats.forEach((s, i) => meters[i]?.restore(s));
      quarantined = from.quarantine.rows;
      log.info(
        from.final
          ? `resuming after the final checkpoint ${from.seq}: every row is written; closing the sinks`
          : `resuming from checkpoint ${from.seq}, after row ${from.stats[0]?.rowsIn ?? 0}`,
      );
    }
    // Rows committed before the checkpoint were acknowledged then; sinks count only new ones.
    const ackedBefore = sMeters.map((m) => m.rowsOut);
    await quarantine.open(from?.quarantine);
    for (let i = 0; i < writers.length; i++) {
      const resume = from && (transactional[i] ? { seq: from.seq } : from.sinks[i]);
      await writers[i]!.start(resume ?? undefined);
    }
    // Kept until now by the run: the last run stays resumable if a sink refuses to start afresh.
    if (!from) await store.clear();
    const state: Record<string, Json> = from?.state ?? (await env.loadState()) ?? {};
    let seq = from?.seq ?? 0;
    let position: Json = from?.position ?? null;

    const parts: CheckpointParts = {
      store,
      writers,
      transactional,
      meters,
      flushQuarantine: () => quarantine.flush(),
      fingerprint,
    };
    let lastCheckpoint = performance.now();
    let checkpointAt: number | undefined;
    const checkpoint = async (final: boolean): Promise<void> => {
      seq++;
      const acked = await commitCheckpoint(parts, { seq, position, state, final });
      lastCheckpoint = performance.now();
      checkpointAt = Date.now();
      // Only now are the rows up to `position` safe: the messages they came from may go.
      await ack?.commit(position);
      log.info(
        `checkpoint ${seq}${final ? ' (final)' : ''} committed after row ${srcMeter.rowsIn}` +
          `: ${acked.map((a, i) => `${step.sinks[i]!.id} ${a}`).join(', ')} rows written` +
          (quarantined > 0 ? `, ${quarantined} quarantined` : ''),
      );
    };

    let sinceCheckpoint = 0;
    let moved = false;
    // Once a batch (or a chunk) reached every sink: progress, the quarantine limit and, every
    // `checkpointEvery` source rows, a checkpoint at the position after it.
    const delivered: Delivered = async (sourceRows, at, progress, asked, lag) => {
      srcMeter.rowsIn = srcMeter.rowsOut + srcMeter.rowsQuarantined;
      checkQuarantine(step, env, quarantined, quarantine.path);
      env.onProgress({
        rowsRead: srcMeter.rowsIn,
        ...(progress ?? {}),
        ...(lag === undefined ? {} : { lag }),
        ...(checkpointAt === undefined ? {} : { checkpointAt }),
      });
      const now = performance.now();
      if (now - lastNote >= PROGRESS_LOG_MS) {
        lastNote = now;
        const rate = Math.round((srcMeter.rowsIn * 1000) / (now - started));
        const share =
          progress?.total && progress.total > 0
            ? `, ${Math.floor((100 * progress.done) / progress.total)}% of the input`
            : '';
        log.info(`read ${srcMeter.rowsIn} rows (${rate} rows/s${share})`);
      }
      if (at !== undefined) {
        // A new position is progress even with no row in the batch: its messages may all have
        // been quarantined, and they too wait for a checkpoint to be acknowledged.
        moved ||= at !== position;
        position = at;
        sinceCheckpoint += sourceRows;
        const due =
          sinceCheckpoint >= step.checkpointEvery ||
          (moved && (asked === true || (intervalMs !== undefined && now - lastCheckpoint >= intervalMs)));
        if (due && !holds) {
          await checkpoint(false);
          sinceCheckpoint = 0;
          moved = false;
        }
      }
      if (signal.aborted) throw signal.reason;
    };

    if (!from?.final) {
      const sourceCtx: SourceContext<unknown> = {
        ...context(step.source, srcMeter),
        resumeFrom: from?.position ?? undefined,
        state: {
          get: (k) => state[k],
          set: (k, v) => {
            state[k] = v;
          },
        },
        setOrigin: (o) => {
          if (o !== origin) log.info(`${step.source.id} reading ${o}`);
          origin = o;
        },
        stop: stop.signal,
        acknowledger: (a) => {
          ack = a;
        },
        ...(env.part === undefined ? {} : { part: env.part }),
      };
      // A partition is itself one of many processes reading the input: it reads on one thread.
      const worker = env.parallel && env.part === undefined ? parallelWorker(step) : undefined;
      // Only a flow that could use threads asks its connectors where their servers run.
      const parallel = worker ? flowSettings(env.parallel, step) : undefined;
      const split =
        worker && parallel && (await step.source.def.chunked!.split(sourceCtx, parallel.minBytes));
      if (split) {
        const components = [step.source, ...step.transforms, ...step.sinks];
        const ctxs = components.map((c, i) => context(c, meters[i]!));
        await runChunks(step, split, worker, {
          options: parallel!,
          hashSource,
          baseDir: env.baseDir,
          paths: env.paths,
          network: env.network,
          params: env.params,
          signal,
          writers,
          meters,
          quarantine: (c, entry) => ctxs[c]!.quarantine(entry),
          checkLimit: () => checkQuarantine(step, env, quarantined, quarantine.path),
          log: (c, level, message) => ctxs[c]!.log[level](message),
          delivered,
        });
      } else {
        const stages = [];
        for (let i = 0; i < step.transforms.length; i++) {
          const t = step.transforms[i]!;
          stages.push(asStage(await t.def.create(context(t, tMeters[i]!))));
        }
        chain = new StageChain(stages, tMeters);
        iterator = step.source.def.read(sourceCtx)[Symbol.asyncIterator]();
        for (;;) {
          const t0 = performance.now();
          const next = await iterator.next();
          srcMeter.ms += performance.now() - t0;
          if (next.done) break;
          const batch = next.value;
          srcMeter.emitted(batch.rows);
          const rows = await chain.push(batch.rows);
          if (rows.length > 0) await writeAll(writers, sMeters, rows);
          await delivered(batch.rows.length, batch.position, batch.progress, batch.checkpoint, batch.lag);
        }
        for await (const rows of chain.finish(signal)) await writeAll(writers, sMeters, rows);
        await chain.close(false);
      }
      srcMeter.rowsIn = srcMeter.rowsOut + srcMeter.rowsQuarantined;
      await checkpoint(true);
      await closeAck();
    }

    for (let i = 0; i < writers.length; i++) {
      const t0 = performance.now();
      const result = await writers[i]!.close();
      const m = sMeters[i]!;
      m.ms += performance.now() - t0;
      m.rowsOut = ackedBefore[i]! + result.rowsWritten;
      if (result.location !== undefined) m.location = result.location;
      if (result.schemaChanges?.length) m.schemaChanges = result.schemaChanges;
      // A sink that proves nothing itself is held to the count the engine can check: what it was
      // handed (less what it set aside) against what the destination acknowledged.
      m.verified = result.verification ?? {
        level: 'count',
        rowsHanded: m.rowsToAcknowledge,
        rowsFound: m.rowsOut,
      };
    }
    const closed = writers.splice(0);
    await quarantine.close();
    await rm(tempRoot, { recursive: true, force: true });
    // A drained stream wrote and acknowledged what it read; the step still ends as cancelled.
    if (streaming && env.signal.aborted) throw env.signal.reason;
    // The checkpoint stays until the run records the step's success (run.ts removes it then): a
    // crash in between resumes from the final checkpoint, which only closes the sinks.
    return {
      components: meters.map((m) => m.stats()),
      resumedFromRow: from ? from.stats[0]?.rowsIn : undefined,
      quarantineFile: quarantine.path,
      state: { ...state },
      forget: async () => {
        for (const w of closed) await w.forget?.();
      },
    };
  } catch (err) {
    env.onFailure?.(meters.map((m) => m.stats()));
    abort.abort(err);
    await iterator?.return?.().catch(() => undefined);
    await closeAck().catch(() => undefined);
    await chain?.close(true);
    await Promise.all(writers.map((w) => w.abort(err).catch(() => undefined)));
    await quarantine.close().catch(() => undefined);
    await rm(tempRoot, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  } finally {
    clearTimeout(drainTimer);
    env.signal.removeEventListener('abort', drain);
  }
}

export async function writeAll(writers: SinkWriter[], meters: Meter[], rows: Row[]): Promise<void> {
  const t0 = performance.now();
  for (const m of meters) m.rowsIn += rows.length;
  if (writers.length === 1) await writers[0]!.write(rows);
  else await Promise.all(writers.map((w) => w.write(rows)));
  const dt = performance.now() - t0;
  for (const m of meters) m.ms += dt;
}

/**
 * The engine's own lines about a step (started, reading, progress, checkpoints, done), marked so a
 * terminal that shows live progress and a summary can leave them out.
 */
export function lifecycleLog(log: Logger): Pick<Logger, 'info' | 'warn'> {
  return {
    info: (message) => log.info(message, { lifecycle: true }),
    warn: (message) => log.warn(message, { lifecycle: true }),
  };
}

/** A streaming flow's `checkpointInterval` when the step sets none. */
export const DEFAULT_STREAM_INTERVAL_MS = 5000;

/** How long a cancelled stream may take to write and acknowledge what it read before it is aborted. */
const DRAIN_MS = 30_000;

/** How often a running flow logs how far it got. */
const PROGRESS_LOG_MS = 5000;

function checkQuarantine(step: PlannedFlow, env: FlowEnv, quarantined: number, path: string): void {
  if (env.maxQuarantine === undefined || quarantined <= env.maxQuarantine) return;
  throw new SluiceError(
    ErrorCode.QUARANTINE_LIMIT,
    `step "${step.id}": ${quarantined} rows quarantined, more than the limit of ${env.maxQuarantine} ` +
      `(see ${path}; raise maxQuarantine or --max-quarantine to accept more)`,
  );
}
