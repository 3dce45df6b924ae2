import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ComponentContext, ConnectorDefinition } from './connector.ts';
import { ErrorCode, type Issue, SluiceError } from './errors.ts';
import { dependsOn } from './internal/dag.ts';
import { readJson, writeJsonAtomic } from './internal/files.ts';
import type { StepReport } from './report.ts';

/** What a dataset name may be: it becomes a file name, so nothing that leaves its directory. */
export const DATASET_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_-]*$';

/** A column of a dataset as its Parquet file declares it (`integer`, `string`, `timestamp`...). */
export interface DatasetColumn {
  name: string;
  type: string;
}

/**
 * What the writer of a dataset recorded once its file was complete: a reader checks the file
 * against it, and the run's reconciliation sets the rows read against the rows written.
 */
export interface DatasetMeta {
  name: string;
  /** Rows the file holds. */
  rows: number;
  /** The file's size in bytes. */
  bytes: number;
  /** Core's order-independent checksum of the rows as the file gives them back (Checksum). */
  checksum: string;
  columns: DatasetColumn[];
  /** The step whose flow wrote it. */
  writtenBy: string;
  /** When its file was completed (ISO 8601). */
  writtenAt: string;
}

/**
 * Where a run keeps the datasets its steps hand each other: Parquet files with their metadata
 * beside them. The CLI keeps them in the run's state directory; the platform in the job's
 * workspace, copied to its artifact store when the writing step succeeds.
 */
export interface DatasetArea {
  /** The directory holding them (`<name>.parquet`, `<name>.json`). */
  readonly dir: string;
  /** The local Parquet file of a dataset, whether it exists yet or not. */
  pathFor(name: string): string;
  /** What its writer recorded; undefined while no writer has completed it. */
  meta(name: string): Promise<DatasetMeta | undefined>;
  /** Records a completed dataset (replacing what was recorded): readers may use it from now on. */
  record(meta: DatasetMeta): Promise<void>;
  /** Drops the record, not the file: a writer starting afresh makes the old file unreadable. */
  forget(name: string): Promise<void>;
  /**
   * Where another pipeline's datasets are found from this run (`source: dataset` with `pipeline`):
   * on the CLI that pipeline's own state directory, on the platform the copies the worker fetched
   * into this job's workspace. Undefined where a run cannot read other pipelines' datasets.
   */
  of?(pipeline: string): DatasetArea;
}

/**
 * A dataset area in a local directory, created when the first dataset is recorded; `others` says
 * in which directory another pipeline's datasets are.
 */
export function datasetArea(dir: string, others?: (pipeline: string) => string): DatasetArea {
  const metaFile = (name: string) => join(dir, `${checkName(name)}.json`);
  return {
    dir,
    pathFor: (name) => join(dir, `${checkName(name)}.parquet`),
    meta: (name) => readJson<DatasetMeta>(metaFile(name)),
    record: (meta) => writeJsonAtomic(metaFile(meta.name), meta),
    forget: (name) => rm(metaFile(name), { force: true }),
    ...(others ? { of: (pipeline: string) => datasetArea(others(checkPipeline(pipeline))) } : {}),
  };
}

/** What a pipeline name may be where it names another pipeline's datasets (it names a directory). */
export const PIPELINE_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]*$';
const PIPELINE = new RegExp(PIPELINE_NAME_PATTERN);

function checkPipeline(name: string): string {
  if (!PIPELINE.test(name) || name.includes('..'))
    throw new SluiceError(
      ErrorCode.CONFIG,
      `"${name}" is not a pipeline name: use letters, digits, _, . and -`,
    );
  return name;
}

const NAME = new RegExp(DATASET_NAME_PATTERN);

function checkName(name: string): string {
  if (!NAME.test(name))
    throw new SluiceError(
      ErrorCode.CONFIG,
      `"${name}" is not a dataset name: use letters, digits, _ and - (it names a file)`,
    );
  return name;
}

/**
 * The dataset `name` as a component finds it: its local Parquet file and what its writer
 * recorded. How a reader (the dataset source, a SQL transform's input, a lookup's file) gets a
 * dataset; `where` names the config field for errors (`step.0:sql: config.inputs.orders`).
 */
export async function resolveDataset(
  ctx: Pick<ComponentContext<unknown>, 'datasets' | 'stepId'>,
  name: string,
  where: string,
  pipeline?: string,
): Promise<{ path: string; meta: DatasetMeta }> {
  const own = ctx.datasets;
  if (!own)
    throw new SluiceError(
      ErrorCode.CONFIG,
      `${where}: dataset "${name}" cannot be read here: this run keeps no datasets (run the pipeline with sluice run or on the platform)`,
    );
  if (pipeline !== undefined) return resolveOther(own, name, pipeline, where);
  const area = own;
  const meta = await area.meta(name);
  if (!meta)
    throw new SluiceError(
      ErrorCode.NOT_FOUND,
      `${where}: dataset "${name}" has not been written in this run (looked in ${area.dir}): ` +
        `the step writing it must succeed before step "${ctx.stepId}" runs`,
    );
  return { path: area.pathFor(name), meta };
}

async function resolveOther(
  own: DatasetArea,
  name: string,
  pipeline: string,
  where: string,
): Promise<{ path: string; meta: DatasetMeta }> {
  if (!own.of)
    throw new SluiceError(
      ErrorCode.CONFIG,
      `${where}: dataset "${name}" of pipeline "${pipeline}" cannot be read here: this run reads no other pipeline's datasets`,
    );
  const area = own.of(pipeline);
  const meta = await area.meta(name);
  if (!meta)
    throw new SluiceError(
      ErrorCode.NOT_FOUND,
      `${where}: pipeline "${pipeline}" has no dataset "${name}" yet (looked in ${area.dir}): ` +
        `run "${pipeline}" first, with its step writing dataset "${name}" succeeding`,
    );
  return { path: area.pathFor(name), meta };
}

/** A dataset a component reads or writes, at the path of its name in the component's config. */
export interface DatasetRef {
  name: string;
  access: 'read' | 'write';
  /** The name's path in the config: `name`, `inputs.orders.dataset`. */
  path: string;
  /**
   * The pipeline whose dataset it is, when not this one's: read from that pipeline's last update,
   * not handed over within the run (so no step of this run writes it or is waited for).
   */
  pipeline?: string | undefined;
}

/** A step as the dataset checks see it: its components with their definitions and configs. */
export interface DatasetStep {
  id: string;
  needs: readonly string[];
  components: readonly { def: ConnectorDefinition; config: unknown; path: string; id: string }[];
}

/** The datasets a component names (through its definition's `datasets`), none for most. */
export function datasetRefs(def: ConnectorDefinition, config: unknown): DatasetRef[] {
  if (!('datasets' in def) || !def.datasets) return [];
  // A config not checked yet (its credential's fields come later, in the step's process) may lack
  // the name: nothing to check until it is there.
  return def.datasets(config as never).filter((r) => typeof r.name === 'string');
}

/**
 * Problems with the datasets a pipeline's steps hand each other: a dataset read by a step that
 * does not need (transitively) the step writing it could be read before it is written, or not at
 * all; one written by two steps would be whichever finished last.
 */
export function datasetIssues(steps: readonly DatasetStep[]): Issue[] {
  const writers = new Map<string, { step: string; at: string }>();
  const reads: { step: string; name: string; at: string }[] = [];
  const issues: Issue[] = [];
  for (const s of steps)
    for (const c of s.components)
      for (const ref of datasetRefs(c.def, c.config)) {
        if (ref.pipeline !== undefined) continue;
        const at = `${c.path}.with.${ref.path}`;
        if (ref.access === 'read') {
          reads.push({ step: s.id, name: ref.name, at });
          continue;
        }
        const other = writers.get(ref.name);
        if (other)
          issues.push({
            path: at,
            message: `step "${s.id}": dataset "${ref.name}" is written by step "${other.step}" already (${other.at}): give each dataset a name of its own`,
          });
        else writers.set(ref.name, { step: s.id, at });
      }
  const needs = new Map(steps.map((s) => [s.id, s.needs]));
  for (const r of reads) {
    const w = writers.get(r.name);
    if (!w) {
      const known = [...writers.keys()];
      issues.push({
        path: r.at,
        message:
          `step "${r.step}": no step writes dataset "${r.name}" ` +
          `(${known.length ? `datasets written: ${known.join(', ')}` : 'no step writes a dataset'}): ` +
          'end a flow of an earlier step with `sink: dataset` of that name',
      });
    } else if (w.step === r.step)
      issues.push({
        path: r.at,
        message: `step "${r.step}": dataset "${r.name}" is written by this same step; read it in a step that needs this one`,
      });
    else if (!dependsOn(needs, r.step, w.step))
      issues.push({
        path: r.at,
        message: `step "${r.step}" reads dataset "${r.name}", which step "${w.step}" writes, but does not wait for it: add needs: [${w.step}]`,
      });
  }
  return issues;
}

/** Which component writes a dataset and which sources read it (by step and component id). */
export interface DatasetHandoff {
  name: string;
  writer: { step: string; component: string };
  readers: { step: string; component: string }[];
}

/**
 * The hand-offs a run can balance: a dataset's writer and the sources reading it (a transform that
 * reads one, a SQL input, counts no rows of it alone).
 */
export function datasetHandoffs(steps: readonly DatasetStep[]): DatasetHandoff[] {
  const byName = new Map<string, DatasetHandoff>();
  const reads: { name: string; step: string; component: string }[] = [];
  for (const s of steps)
    for (const c of s.components)
      for (const ref of datasetRefs(c.def, c.config)) {
        if (ref.pipeline !== undefined) continue;
        if (ref.access === 'write')
          byName.set(ref.name, { name: ref.name, writer: { step: s.id, component: c.id }, readers: [] });
        else if (c.def.kind === 'source') reads.push({ name: ref.name, step: s.id, component: c.id });
      }
  for (const r of reads) byName.get(r.name)?.readers.push({ step: r.step, component: r.component });
  return [...byName.values()];
}

/** A dataset's rows as its writer wrote them and as each reader that finished read them. */
export interface DatasetBalance {
  name: string;
  writer: string;
  rowsWritten: number;
  readers: { step: string; rowsRead: number }[];
}

/**
 * Balances each dataset across the steps that finished: every source that read it read the rows
 * its writer wrote. A step that did not succeed proves nothing and is left out, and so is a
 * dataset no finished step read.
 */
export function balanceDatasets(
  handoffs: readonly DatasetHandoff[],
  steps: readonly StepReport[],
): { datasets: DatasetBalance[]; problems: string[] } {
  const rowsOf = (step: string, component: string) => {
    const r = steps.find((s) => s.id === step && s.status === 'success');
    return r?.components.find((c) => c.id === component)?.rowsOut;
  };
  const datasets: DatasetBalance[] = [];
  const problems: string[] = [];
  for (const h of handoffs) {
    const rowsWritten = rowsOf(h.writer.step, h.writer.component);
    if (rowsWritten === undefined) continue;
    const readers = h.readers.flatMap((r) => {
      const rowsRead = rowsOf(r.step, r.component);
      return rowsRead === undefined ? [] : [{ step: r.step, rowsRead }];
    });
    // Nothing to balance until a reader finished (a run of the writer step alone, say).
    if (readers.length === 0) continue;
    datasets.push({ name: h.name, writer: h.writer.step, rowsWritten, readers });
    for (const r of readers)
      if (r.rowsRead !== rowsWritten)
        problems.push(
          `dataset "${h.name}": step "${r.step}" read ${r.rowsRead} rows, step "${h.writer.step}" wrote ${rowsWritten}`,
        );
  }
  return { datasets, problems };
}
