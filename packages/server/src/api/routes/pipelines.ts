import { Type } from '@sinclair/typebox';
import { ErrorCode, SluiceError } from '@sluice/core';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Platform } from '../../platform.ts';
import { executePipeline } from '../../services/jobs.ts';
import { pipelineLinks } from '../../services/pipeline-links.ts';
import { listPipelineState, resetPipelineState } from '../../services/pipeline-state.ts';
import {
  createPipeline,
  deletePipeline,
  getPipeline,
  listPipelines,
  listVersions,
  updatePipeline,
  validateSpec,
} from '../../services/pipelines.ts';
import { Description, NAME_MAX, Slug, Text } from '../fields.ts';
import { ErrorBody, IdParams, Page, PageQuery } from '../pagination.ts';
import { PipelineListSchema, PipelineSchema, VersionSchema } from '../schemas.ts';
import { optionalBody } from '../validation.ts';

const Spec = Type.Record(Type.String(), Type.Unknown(), {
  description:
    'The pipeline spec (docs/pipeline-spec.md): the same document `sluice run` takes, as JSON. Or send the ' +
    'spec itself as the body with content-type application/yaml (or text/yaml).',
});
const Name = Type.Optional(Slug({ description: "The pipeline's name; defaults to the spec's `name`." }));
const Issues = Type.Array(Type.Object({ path: Type.String(), message: Type.String() }));
const Link = Type.Object({
  name: Type.String(),
  pipelineId: Type.Union([Type.String(), Type.Null()]),
  dataset: Type.Optional(
    Type.String({
      description:
        'Set when the link is an update of this dataset of the upstream pipeline (`onDatasetUpdate`)',
    }),
  ),
});
const errors = { 400: ErrorBody, 404: ErrorBody, 409: ErrorBody };
const tags = ['pipelines'];
const StepStateSchema = Type.Object({
  stepId: Type.String(),
  state: Type.Record(Type.String(), Type.Unknown(), {
    description: "What the step's source keeps between jobs, e.g. the PostgreSQL source's `cursor`.",
  }),
  jobId: Type.Union([Type.String(), Type.Null()], { description: 'The job whose success saved it.' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

/** The caller's name for created_by/triggered_by columns. */
export const actor = (req: FastifyRequest): string | null => req.identity?.username ?? null;

// `name` and the spec's own name are one thing: the body's wins and is written into the spec.
function named<B extends { name?: string; spec?: unknown }>(b: B): B {
  if (!b.name || b.spec === undefined) return b;
  return { ...b, spec: { ...(b.spec as object), name: b.name } };
}

/**
 * A spec sent without its `{ spec }` wrapper would fail the schema as "body.spec is required":
 * true, but a caller who sent a pipeline needs to hear that it was one.
 */
async function unwrappedSpec(req: FastifyRequest): Promise<void> {
  const body = req.body as Record<string, unknown> | null | undefined;
  if (!body || typeof body !== 'object' || 'spec' in body) return;
  const key = ['steps', 'flow'].find((k) => k in body);
  if (!key) return;
  const message =
    `is required: this body looks like a pipeline spec itself (it has \`${key}\`). Send {"spec": <the spec>}, ` +
    'or send the spec as the body with content-type application/yaml';
  throw new SluiceError(ErrorCode.VALIDATION, `invalid request: body.spec ${message}`, {
    issues: [{ path: 'body.spec', message }],
  });
}

export const pipelineRoutes =
  (p: Platform): FastifyPluginAsync =>
  async (app) => {
    app.get(
      '/pipelines',
      {
        config: { access: 'pipelines:read' },
        schema: {
          summary: 'List pipelines',
          tags,
          querystring: Type.Composite([
            PageQuery,
            Type.Object({ q: Type.Optional(Text(NAME_MAX, { description: 'Name contains.' })) }),
          ]),
          response: { 200: Page(PipelineListSchema), 400: ErrorBody },
        },
      },
      async (req) => {
        const q = req.query as { limit: number; offset: number; q?: string };
        const { items, total } = await listPipelines(p, {
          limit: q.limit,
          offset: q.offset,
          ...(q.q ? { search: q.q } : {}),
        });
        return { items, total, limit: q.limit, offset: q.offset };
      },
    );
    app.post(
      '/pipelines',
      {
        config: {
          access: 'pipelines:write',
          audit: { action: 'pipeline.create', resourceType: 'pipeline' },
          yamlSpec: true,
        },
        preValidation: unwrappedSpec,
        schema: {
          summary: 'Create a pipeline (version 1)',
          tags,
          body: Type.Object({ name: Name, spec: Spec, description: Type.Optional(Description()) }),
          response: { 201: PipelineSchema, ...errors },
        },
      },
      async (req, reply) => {
        const body = req.body as { name?: string; spec: unknown; description?: string };
        return reply.status(201).send(await createPipeline(p, named(body), actor(req)));
      },
    );
    app.get(
      '/pipelines/:id',
      {
        config: { access: 'pipelines:read' },
        schema: {
          summary: 'A pipeline with its current spec',
          tags,
          params: IdParams,
          response: { 200: PipelineSchema, ...errors },
        },
      },
      async (req) => getPipeline(p, (req.params as { id: string }).id),
    );
    app.put(
      '/pipelines/:id',
      {
        config: {
          access: 'pipelines:write',
          audit: { action: 'pipeline.update', resourceType: 'pipeline', before: getPipeline },
          yamlSpec: true,
        },
        schema: {
          summary: 'Update a pipeline: a new spec makes a new version',
          tags,
          params: IdParams,
          body: Type.Object({
            name: Name,
            spec: Type.Optional(Spec),
            description: Type.Optional(Description()),
          }),
          response: { 200: PipelineSchema, ...errors },
        },
      },
      async (req) => {
        const body = req.body as { name?: string; spec?: unknown; description?: string };
        const { id } = req.params as { id: string };
        const spec = body.spec ?? (body.name ? (await getPipeline(p, id)).spec : undefined);
        return updatePipeline(p, id, named({ ...body, ...(spec === undefined ? {} : { spec }) }), actor(req));
      },
    );
    app.delete(
      '/pipelines/:id',
      {
        config: {
          access: 'pipelines:write',
          audit: { action: 'pipeline.delete', resourceType: 'pipeline', before: getPipeline },
        },
        schema: {
          summary: 'Delete a pipeline (its jobs stay)',
          tags,
          params: IdParams,
          response: { 204: Type.Null(), ...errors },
        },
      },
      async (req, reply) => {
        await deletePipeline(p, (req.params as { id: string }).id);
        return reply.status(204).send(null);
      },
    );
    app.get(
      '/pipelines/:id/versions',
      {
        config: { access: 'pipelines:read' },
        schema: {
          summary: 'Version history, newest first',
          tags,
          params: IdParams,
          response: { 200: Type.Object({ items: Type.Array(VersionSchema) }), ...errors },
        },
      },
      async (req) => ({ items: await listVersions(p, (req.params as { id: string }).id) }),
    );
    app.post(
      '/pipelines/:id/validate',
      {
        config: { access: 'pipelines:read', yamlSpec: true },
        preValidation: optionalBody,
        schema: {
          summary: 'Check a spec (the body’s, or the current one): DAG, connectors and their configs',
          tags,
          params: IdParams,
          body: Type.Optional(Type.Object({ spec: Type.Optional(Spec) })),
          response: {
            200: Type.Object({
              ok: Type.Boolean(),
              issues: Issues,
              warnings: Type.Optional(
                Type.Array(Type.Object({ path: Type.String(), message: Type.String() }), {
                  description:
                    'What does not stop the spec from being saved: a `triggers.onSuccessOf` name no pipeline has yet.',
                }),
              ),
            }),
            ...errors,
          },
        },
      },
      async (req) => {
        const body = req.body as { spec?: unknown } | undefined;
        const id = (req.params as { id: string }).id;
        const spec = body?.spec ?? (await getPipeline(p, id)).spec;
        return validateSpec(p, spec, id);
      },
    );
    app.get(
      '/pipelines/:id/dependencies',
      {
        config: { access: 'pipelines:read' },
        schema: {
          summary:
            'The pipelines this one runs after (its `triggers.onSuccessOf`) and those that run after it',
          tags,
          params: IdParams,
          response: {
            200: Type.Object({
              runsAfter: Type.Array(Link, {
                description: 'pipelineId is null for a name no pipeline has yet.',
              }),
              triggers: Type.Array(Link),
            }),
            ...errors,
          },
        },
      },
      async (req) => pipelineLinks(p, (req.params as { id: string }).id),
    );
    app.get(
      '/pipelines/:id/state',
      {
        config: { access: 'pipelines:read' },
        schema: {
          summary: 'What each step keeps between jobs (an incremental cursor), saved when the step succeeded',
          tags,
          params: IdParams,
          response: { 200: Type.Object({ items: Type.Array(StepStateSchema) }), ...errors },
        },
      },
      async (req) => listPipelineState(p, (req.params as { id: string }).id),
    );
    app.delete(
      '/pipelines/:id/state',
      {
        config: {
          access: 'pipelines:reset-state',
          audit: {
            action: 'pipeline.state_reset',
            resourceType: 'pipeline',
            before: (pl, id) => listPipelineState(pl, id),
          },
        },
        schema: {
          summary: "Delete the steps' state (or one step's): their next job reads from the beginning",
          tags,
          params: IdParams,
          querystring: Type.Object({
            step: Type.Optional(Slug({ description: 'One step id; without it, every step' })),
          }),
          response: { 200: Type.Object({ reset: Type.Array(Type.String()) }), ...errors },
        },
      },
      async (req) =>
        resetPipelineState(p, (req.params as { id: string }).id, (req.query as { step?: string }).step),
    );
    app.post(
      '/pipelines/:id/execute',
      {
        config: {
          access: 'pipelines:execute',
          audit: { action: 'pipeline.execute', resourceType: 'pipeline' },
        },
        preValidation: optionalBody,
        schema: {
          summary: 'Run a pipeline: validates parameters, queues the job, answers at once',
          tags,
          params: IdParams,
          body: Type.Optional(
            Type.Object({
              parameters: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
              triggerType: Type.Optional(
                Type.Union([Type.Literal('manual'), Type.Literal('api')], { default: 'api' }),
              ),
              priority: Type.Optional(
                Type.Integer({
                  minimum: -1000,
                  maximum: 1000,
                  description:
                    "This job's priority, instead of the spec's `priority` (default 0): higher leaves the queue first.",
                }),
              ),
            }),
          ),
          response: { 202: Type.Object({ jobId: Type.String() }), ...errors },
        },
      },
      async (req, reply) => {
        const body = (req.body ?? {}) as {
          parameters?: Record<string, unknown>;
          triggerType?: 'manual' | 'api';
          priority?: number;
        };
        const jobId = await executePipeline(p, (req.params as { id: string }).id, {
          parameters: body.parameters ?? {},
          ...(body.priority === undefined ? {} : { priority: body.priority }),
          triggerType: body.triggerType ?? 'api',
          triggeredBy: actor(req),
        });
        return reply.status(202).send({ jobId });
      },
    );
  };
