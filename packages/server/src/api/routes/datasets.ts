import { Type } from '@sinclair/typebox';
import { DATASET_NAME_PATTERN } from '@sluice/core';
import type { FastifyPluginAsync } from 'fastify';
import type { Platform } from '../../platform.ts';
import { datasetFile, listDatasets, previewDataset } from '../../services/datasets.ts';
import { Uuid } from '../fields.ts';
import { ErrorBody, IdParams } from '../pagination.ts';

const errors = { 400: ErrorBody, 404: ErrorBody };
const tags = ['jobs'];
const NameParams = Type.Object({
  id: Uuid(),
  name: Type.String({ pattern: DATASET_NAME_PATTERN, maxLength: 100, description: "The dataset's name." }),
});

const Column = Type.Object({ name: Type.String(), type: Type.String() });
const DatasetItem = Type.Object({
  name: Type.String(),
  writerStep: Type.String({ description: 'The step whose flow wrote it (`sink: dataset`).' }),
  readerSteps: Type.Array(
    Type.Object({
      stepId: Type.String(),
      status: Type.String(),
      rowsRead: Type.Union([Type.Integer(), Type.Null()], {
        description:
          'Rows the step read, once it succeeded: then always the dataset’s rows (it checks them).',
      }),
    }),
    { description: 'Steps that read it (`source: dataset`, a SQL input).' },
  ),
  rows: Type.Integer(),
  bytes: Type.Integer(),
  checksum: Type.String({
    description: 'Order-independent checksum of its rows, as the writer recorded it.',
  }),
  columns: Type.Array(Column),
  writtenAt: Type.String({ format: 'date-time' }),
});

/** The datasets a job's steps handed each other: listed, previewed and downloaded. */
export const datasetRoutes =
  (p: Platform): FastifyPluginAsync =>
  async (app) => {
    app.get(
      '/jobs/:id/datasets',
      {
        config: { access: 'jobs:read' },
        schema: {
          summary: 'The datasets written by the steps of a job, with the steps that read them',
          description:
            'One entry per dataset a step has written and stored so far (a step stores its datasets when it succeeds).',
          tags,
          params: IdParams,
          response: { 200: Type.Object({ items: Type.Array(DatasetItem) }), ...errors },
        },
      },
      async (req) => {
        const { id } = req.params as { id: string };
        return { items: await listDatasets(p, id) };
      },
    );
    app.get(
      '/jobs/:id/datasets/:name/preview',
      {
        config: { access: 'jobs:read' },
        schema: {
          summary: 'The first rows of a dataset, as JSON',
          tags,
          params: NameParams,
          querystring: Type.Object({
            limit: Type.Integer({ minimum: 1, maximum: 1000, default: 50, description: 'Rows to return.' }),
          }),
          response: {
            200: Type.Object({
              name: Type.String(),
              rows: Type.Integer({ description: 'Rows the dataset holds.' }),
              columns: Type.Array(Column),
              items: Type.Array(Type.Record(Type.String(), Type.Unknown()), {
                description: 'Its first rows.',
              }),
            }),
            ...errors,
          },
        },
      },
      async (req) => {
        const { id, name } = req.params as { id: string; name: string };
        const { limit } = req.query as { limit: number };
        const abort = new AbortController();
        req.raw.once('close', () => abort.abort(new Error('the client went away')));
        const { meta, rows } = await previewDataset(p, id, name, limit, abort.signal);
        return { name, rows: meta.rows, columns: meta.columns, items: rows };
      },
    );
    app.get(
      '/jobs/:id/datasets/:name/download',
      {
        config: { access: 'jobs:read' },
        schema: {
          summary: "Download a dataset's Parquet file",
          tags,
          params: NameParams,
          response: { 404: ErrorBody },
        },
      },
      async (req, reply) => {
        const { id, name } = req.params as { id: string; name: string };
        const { key, meta } = await datasetFile(p, id, name);
        return reply
          .type('application/vnd.apache.parquet')
          .header('content-disposition', `attachment; filename="${name}.parquet"`)
          .header('content-length', meta.bytes)
          .send(p.store.read(key));
      },
    );
  };
