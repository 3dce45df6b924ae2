import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { previewDatasetFile } from '@sluice/connectors';
import {
  type DatasetMeta,
  type DatasetStep,
  datasetArea,
  datasetRefs,
  type ResolvedComponent,
  type ResolvedPlan,
  type ResolvedStep,
  type Row,
  type StepReport,
} from '@sluice/core';
import { and, desc, eq, isNull } from 'drizzle-orm';
import { notFound } from '../api/errors.ts';
import { artifacts, jobExecutions, pipelines } from '../db/schema.ts';
import type { Platform } from '../platform.ts';
import { jobDatasetArea } from '../worker/job-datasets.ts';
import { artifactKey, downloadArtifact, listArtifacts, putArtifact } from './artifacts.ts';
import { getJob, jobPlan, jobSteps } from './jobs.ts';

// A dataset is kept as two artifacts of its job: its Parquet file and its writer's record.
const FILE = '.dataset.parquet';
const META = '.dataset.json';

/** The job's dataset area on the worker: its workspace's `datasets/` (see core's DatasetArea). */
export const datasetsDirOf = (p: Platform, jobId: string) => join(p.dataDir, 'work', jobId, 'datasets');

/** A plan's steps as core's dataset checks see them, bound to this server's registry. */
export function datasetSteps(p: Platform, plan: ResolvedPlan): DatasetStep[] {
  return plan.steps.map((step) => ({
    id: step.id,
    needs: step.needs,
    components: componentsOf(step).flatMap((c) => {
      const def = tryGet(p, c);
      return def ? [{ def, config: c.config, path: c.path, id: c.id }] : [];
    }),
  }));
}

/** What a step does with datasets: the run's own it reads and writes, and other pipelines' it reads. */
export interface DatasetUse {
  reads: string[];
  writes: string[];
  others: { pipeline: string; name: string }[];
}

/** The datasets each step of a plan reads and writes, by name (connectors declare them). */
export function datasetUses(p: Platform, plan: ResolvedPlan): Map<string, DatasetUse> {
  return new Map(
    datasetSteps(p, plan).map((s) => {
      const refs = s.components.flatMap((c) => datasetRefs(c.def, c.config));
      const own = refs.filter((r) => r.pipeline === undefined);
      return [
        s.id,
        {
          reads: own.filter((r) => r.access === 'read').map((r) => r.name),
          writes: own.filter((r) => r.access === 'write').map((r) => r.name),
          others: refs.flatMap((r) =>
            r.pipeline === undefined ? [] : [{ pipeline: r.pipeline, name: r.name }],
          ),
        },
      ];
    }),
  );
}

// A connector this server lacks (a worker's plugin module) declares nothing here.
function tryGet(p: Platform, c: ResolvedComponent) {
  try {
    return p.registry.get(c.kind, c.connector, c.id);
  } catch {
    return undefined;
  }
}

const componentsOf = (s: ResolvedStep): ResolvedComponent[] =>
  s.kind === 'task' ? [s.task] : [s.source, ...s.transforms, ...s.sinks];

/**
 * Before a step runs: the datasets it reads are in the job's dataset area, fetched from the
 * artifact store when this worker lacks them (a retried job taken up by another worker). One the
 * store lacks too is left for the step to report.
 */
export async function fetchDatasets(p: Platform, jobId: string, names: readonly string[]): Promise<void> {
  const area = jobDatasetArea(datasetsDirOf(p, jobId));
  for (const name of names) {
    const meta = await area.meta(name);
    const size = await stat(area.pathFor(name)).then(
      (s) => s.size,
      () => undefined,
    );
    if (meta && size === meta.bytes) continue;
    const stored = await storedMeta(p, jobId, name);
    if (!stored) continue;
    await downloadArtifact(p, artifactKey(jobId, `${name}${FILE}`), area.pathFor(name));
    await area.record(stored);
  }
}

/**
 * Before a step runs: the other pipelines' datasets it reads are in the job's dataset area. Each
 * comes from the job that started this one when that job is of the pipeline and stored it (a
 * dataset trigger: exactly the update that started it), else from the latest successful job of
 * the pipeline that stored it. A copy the job holds already is kept, so every attempt of the job
 * reads the same update. One no job stored is left for the step to report. Says, in the step's
 * log, which job each came from.
 */
export async function fetchOtherDatasets(
  p: Platform,
  job: { id: string; upstreamJobId: string | null },
  wanted: readonly { pipeline: string; name: string }[],
  log: (message: string) => Promise<void>,
): Promise<void> {
  const own = jobDatasetArea(datasetsDirOf(p, job.id));
  for (const { pipeline, name } of wanted) {
    const area = own.of!(pipeline);
    if (await area.meta(name)) continue;
    const from = await updateOf(p, pipeline, name, job.upstreamJobId);
    if (!from) continue;
    const stored = await storedMeta(p, from, name);
    if (!stored) continue;
    await downloadArtifact(p, artifactKey(from, `${name}${FILE}`), area.pathFor(name));
    await area.record(stored);
    await log(
      `dataset ${pipeline}/${name}: ${stored.rows} rows written by job ${from} at ${stored.writtenAt}`,
    );
  }
}

/** The job whose stored `name` of `pipeline` a job reads: its upstream job's, else the latest successful one's. */
async function updateOf(
  p: Platform,
  pipeline: string,
  name: string,
  upstreamJobId: string | null,
): Promise<string | undefined> {
  const stored = (jobId: string | null) =>
    p.database.db
      .select({ jobId: artifacts.jobId })
      .from(artifacts)
      .innerJoin(jobExecutions, eq(jobExecutions.id, artifacts.jobId))
      .innerJoin(pipelines, eq(pipelines.id, jobExecutions.pipelineId))
      .where(
        and(
          eq(pipelines.name, pipeline),
          isNull(pipelines.deletedAt),
          eq(artifacts.name, `${name}${META}`),
          eq(jobExecutions.status, 'success'),
          jobId === null ? undefined : eq(artifacts.jobId, jobId),
        ),
      )
      .orderBy(desc(artifacts.createdAt))
      .limit(1);
  const [upstream] = upstreamJobId ? await stored(upstreamJobId) : [];
  if (upstream) return upstream.jobId;
  const [latest] = await stored(null);
  return latest?.jobId;
}

/** After a step succeeded: the datasets it wrote go to the artifact store, for the API and other workers. */
export async function storeDatasets(
  p: Platform,
  jobId: string,
  stepId: string,
  names: readonly string[],
): Promise<void> {
  const area = datasetArea(datasetsDirOf(p, jobId));
  for (const name of names) {
    const meta = await area.meta(name);
    if (!meta) continue;
    // The file first: a record in the store always describes a file that is there.
    await putArtifact(
      p,
      {
        jobId,
        stepId,
        name: `${name}${FILE}`,
        kind: 'dataset',
        contentType: 'application/vnd.apache.parquet',
      },
      { path: area.pathFor(name) },
    );
    await putArtifact(
      p,
      { jobId, stepId, name: `${name}${META}`, kind: 'dataset', contentType: 'application/json' },
      JSON.stringify(meta, null, 2),
    );
  }
}

async function storedMeta(p: Platform, jobId: string, name: string): Promise<DatasetMeta | undefined> {
  const key = artifactKey(jobId, `${name}${META}`);
  if ((await p.store.size(key)) === undefined) return undefined;
  const chunks: Buffer[] = [];
  for await (const c of p.store.read(key)) chunks.push(c as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as DatasetMeta;
}

/** A dataset of a job as the API lists it. */
export interface DatasetView {
  name: string;
  writerStep: string;
  readerSteps: { stepId: string; status: string; rowsRead: number | null }[];
  rows: number;
  bytes: number;
  checksum: string;
  columns: DatasetMeta['columns'];
  writtenAt: string;
}

/** The names of the datasets a job stored (each writer step that succeeded). */
export async function storedDatasets(p: Platform, jobId: string): Promise<string[]> {
  return (await listArtifacts(p, jobId))
    .filter((a) => a.kind === 'dataset' && a.name.endsWith(META))
    .map((a) => a.name.slice(0, -META.length));
}

/** The datasets a job's steps wrote (those stored so far), with the steps that read each. */
export async function listDatasets(p: Platform, jobId: string): Promise<DatasetView[]> {
  const job = await getJob(p, jobId);
  const names = await storedDatasets(p, jobId);
  if (names.length === 0) return [];
  const uses = datasetUses(p, await jobPlan(p, job));
  const steps = new Map((await jobSteps(p, jobId)).map((s) => [s.stepId, s]));
  const out: DatasetView[] = [];
  for (const name of names) {
    const meta = await storedMeta(p, jobId, name);
    if (!meta) continue;
    const readers = [...uses].filter(([, u]) => u.reads.includes(name)).map(([id]) => id);
    out.push({
      name,
      writerStep: meta.writtenBy,
      readerSteps: readers.map((stepId) => {
        const s = steps.get(stepId);
        const report = s?.report as StepReport | null | undefined;
        return {
          stepId,
          status: s?.status ?? 'pending',
          rowsRead: s?.status === 'success' && report ? report.rowsRead : null,
        };
      }),
      rows: meta.rows,
      bytes: meta.bytes,
      checksum: meta.checksum,
      columns: meta.columns,
      writtenAt: meta.writtenAt,
    });
  }
  return out;
}

/** The stored Parquet file of one dataset of a job: its key, or NOT_FOUND. */
export async function datasetFile(p: Platform, jobId: string, name: string) {
  await getJob(p, jobId);
  const meta = await storedMeta(p, jobId, name);
  if (!meta) throw notFound(`dataset "${name}" of job`, jobId);
  return { key: artifactKey(jobId, `${name}${FILE}`), meta };
}

/**
 * The first `limit` rows of a dataset. Parquet keeps its index at the end, so the file is read
 * from a local copy: the worker's own when this process has it, otherwise one fetched from the
 * store once (named by its checksum, so a dataset written again is fetched again).
 */
export async function previewDataset(
  p: Platform,
  jobId: string,
  name: string,
  limit: number,
  signal: AbortSignal,
): Promise<{ meta: DatasetMeta; rows: Row[] }> {
  const { key, meta } = await datasetFile(p, jobId, name);
  const area = datasetArea(datasetsDirOf(p, jobId));
  const local = await area.meta(name).catch(() => undefined);
  let path = area.pathFor(name);
  if (local?.checksum !== meta.checksum || (await stat(path).catch(() => undefined))?.size !== meta.bytes) {
    path = join(p.dataDir, 'work', jobId, 'preview', `${name}.${meta.checksum}.parquet`);
    if ((await stat(path).catch(() => undefined))?.size !== meta.bytes) await downloadArtifact(p, key, path);
  }
  return { meta, rows: await previewDatasetFile(path, limit, signal) };
}
