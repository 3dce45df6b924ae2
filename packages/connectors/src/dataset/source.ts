import { open } from 'node:fs/promises';
import { type Static, Type } from '@sinclair/typebox';
import {
  Checksum,
  type DatasetMeta,
  defineSource,
  ErrorCode,
  type Json,
  PIPELINE_NAME_PATTERN,
  resolveDataset,
  SluiceError,
  type SourceBatch,
  type SourceContext,
} from '@sluice/core';
import { readFooter } from '../parquet/footer.ts';
import { Resume, resumeState } from '../shared/resume-state.ts';
import { datasetName, readDatasetFile } from './area.ts';

export const datasetSourceConfig = Type.Object(
  {
    name: datasetName,
    pipeline: Type.Optional(
      Type.String({
        pattern: PIPELINE_NAME_PATTERN,
        description:
          "Read this pipeline's dataset instead of one written in this run: on the platform the one the job " +
          'that started this job stored (`triggers.onDatasetUpdate`, `onSuccessOf`), else its latest; on the ' +
          "CLI its last run's, from its state directory beside this pipeline's.",
        examples: ['orders-daily'],
      }),
    ),
    batchSize: Type.Integer({
      minimum: 1,
      maximum: 1_000_000,
      default: 1024,
      description: 'Rows per batch.',
      examples: [1024],
    }),
  },
  { additionalProperties: false },
);
export type DatasetSourceConfig = Static<typeof datasetSourceConfig>;

/**
 * Where a dataset read stands: the parquet reader's position, with the rows read so far and their
 * checksum, so that a resumed read still checks the whole file against its record.
 */
type DatasetPosition = { at: Json; rows: number; checksum: string };

/**
 * Reads a dataset an earlier step wrote. Before a row goes on, the file must be the one its writer
 * recorded (its size); at the end, the rows read and their checksum must be the recorded ones, so
 * a file changed or cut since is an INTEGRITY failure naming the dataset, and a step that
 * succeeds read exactly the rows its writer wrote.
 */
export const datasetSource = defineSource({
  name: 'dataset',
  version: '1.0.0',
  summary:
    'Reads a named dataset written by an earlier step (sink: dataset), checking its rows and checksum against what the writer recorded.',
  config: datasetSourceConfig,
  example: { name: 'orders', batchSize: 1024 },
  datasets: (cfg) => [{ name: cfg.name, access: 'read', path: 'name', pipeline: cfg.pipeline }],
  read: readDataset,
});

async function* readDataset(ctx: SourceContext<DatasetSourceConfig>): AsyncGenerator<SourceBatch> {
  const { name, batchSize, pipeline } = ctx.config;
  const where = `${ctx.componentId}: config.name`;
  const { path, meta } = await resolveDataset(ctx, name, where, pipeline);
  await checkFile(path, meta);
  const resume = ctx.resumeFrom === undefined ? undefined : toPosition(ctx.resumeFrom, where);
  const sum = resume ? Checksum.from(resume.checksum) : new Checksum();
  let rows = resume?.rows ?? 0;
  ctx.setOrigin(pipeline === undefined ? `dataset ${name}` : `dataset ${pipeline}/${name}`);
  for await (const b of readDatasetFile(ctx, path, {
    batchSize,
    resumeFrom: (resume?.at ?? undefined) as Json | undefined,
  })) {
    sum.addRows(b.rows);
    rows += b.rows.length;
    const position: DatasetPosition = { at: b.position ?? null, rows, checksum: sum.toString() };
    yield { rows: b.rows, position, ...(b.progress ? { progress: b.progress } : {}) };
  }
  if (rows !== meta.rows || sum.toString() !== meta.checksum)
    throw mismatch(
      meta,
      `read ${rows} rows with checksum ${sum}, ${meta.rows} rows with checksum ${meta.checksum} were written`,
    );
}

/** Before any row goes on: the file is there, of the size recorded, and its footer counts the rows recorded. */
async function checkFile(path: string, meta: DatasetMeta): Promise<void> {
  const handle = await open(path, 'r').catch(() => undefined);
  if (!handle) throw mismatch(meta, `its file ${path} is missing`);
  try {
    const { size } = await handle.stat();
    if (size !== meta.bytes)
      throw mismatch(meta, `its file ${path} holds ${size} bytes, ${meta.bytes} were recorded`);
    const rows = Number((await readFooter(handle, size, `dataset "${meta.name}": ${path}`)).num_rows);
    if (rows !== meta.rows)
      throw mismatch(meta, `its file ${path} holds ${rows} rows, ${meta.rows} were recorded`);
  } finally {
    await handle.close();
  }
}

function mismatch(meta: DatasetMeta, what: string): SluiceError {
  return new SluiceError(
    ErrorCode.INTEGRITY,
    `dataset "${meta.name}" is not what step "${meta.writtenBy}" wrote at ${meta.writtenAt}: ${what}. ` +
      `Rerun step "${meta.writtenBy}" to write it again.`,
  );
}

const toPosition = resumeState(
  Type.Object({
    at: Type.Unknown(),
    rows: Resume.rows,
    checksum: Type.String({ pattern: '^[0-9a-f]{16}$' }),
  }),
  'source',
);
