import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { Platform } from '../../platform.ts';
import {
  type CredentialInput,
  createCredential,
  deleteCredential,
  credentialSummary as getCredential,
  listCredentials,
  testCredential,
  updateCredential,
} from '../../services/credentials.ts';
import { Description, Slug } from '../fields.ts';
import { ErrorBody, IdParams, Page, PageQuery } from '../pagination.ts';
import { optionalBody } from '../validation.ts';
import { actor } from './pipelines.ts';

const tags = ['credentials'];
const errors = { 400: ErrorBody, 404: ErrorBody, 409: ErrorBody };
const Credential = Type.Object({
  id: Type.String(),
  name: Type.String(),
  connectorType: Type.String(),
  description: Type.String(),
  fields: Type.Record(Type.String(), Type.String(), { description: 'The stored fields, values masked.' }),
  concurrency: Type.Union([Type.Integer(), Type.Null()], {
    description: 'Steps that may use it at once across all workers; null: no limit.',
  }),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
const Body = Type.Object({
  name: Slug(),
  connectorType: Slug({ description: 'The connector it is for, e.g. postgres.' }),
  description: Type.Optional(Description()),
  data: Type.Record(Type.String(), Type.Unknown(), {
    description: 'The secret fields; encrypted at rest, never returned.',
  }),
  concurrency: Type.Optional(
    Type.Union([Type.Integer({ minimum: 1, maximum: 1000 }), Type.Null()], {
      description:
        'At most this many steps use the credential at once, across all workers (1: a portal that allows one ' +
        'login at a time); the others wait. null or absent: no limit.',
    }),
  ),
});

export const credentialRoutes =
  (p: Platform): FastifyPluginAsync =>
  async (app) => {
    app.get(
      '/credentials',
      {
        config: { access: 'credentials:read' },
        schema: {
          summary: 'List credentials (values masked)',
          tags,
          querystring: PageQuery,
          response: { 200: Page(Credential), 400: ErrorBody },
        },
      },
      async (req) => {
        const q = req.query as { limit: number; offset: number };
        return { ...(await listCredentials(p, q)), ...q };
      },
    );
    app.post(
      '/credentials',
      {
        config: {
          access: 'credentials:write',
          audit: { action: 'credential.create', resourceType: 'credential' },
        },
        schema: {
          summary: 'Store a credential, encrypted',
          tags,
          body: Body,
          response: { 201: Credential, ...errors },
        },
      },
      async (req, reply) =>
        reply.status(201).send(await createCredential(p, req.body as CredentialInput, actor(req))),
    );
    app.put(
      '/credentials/:id',
      {
        config: {
          access: 'credentials:write',
          audit: { action: 'credential.update', resourceType: 'credential', before: getCredential },
        },
        schema: {
          summary: 'Change a credential',
          tags,
          params: IdParams,
          body: Type.Partial(Body),
          response: { 200: Credential, ...errors },
        },
      },
      async (req) =>
        updateCredential(p, (req.params as { id: string }).id, req.body as Partial<CredentialInput>),
    );
    app.delete(
      '/credentials/:id',
      {
        config: {
          access: 'credentials:write',
          audit: { action: 'credential.delete', resourceType: 'credential', before: getCredential },
        },
        schema: {
          summary: 'Delete a credential',
          tags,
          params: IdParams,
          response: { 204: Type.Null(), ...errors },
        },
      },
      async (req, reply) => {
        await deleteCredential(p, (req.params as { id: string }).id);
        return reply.status(204).send(null);
      },
    );
    app.post(
      '/credentials/:id/test',
      {
        config: {
          access: 'credentials:write',
          audit: { action: 'credential.test', resourceType: 'credential' },
        },
        preValidation: optionalBody,
        schema: {
          summary: 'Connect with a credential and report ok or the error',
          description:
            "Runs the connector's connection check with the credential's fields. `config` supplies what " +
            "the credential does not hold, as a step's `with:` would: a file credential is tested against " +
            '`config.path` (an s3://, sftp:// or https:// path, or a local one).',
          tags,
          params: IdParams,
          body: Type.Optional(
            Type.Object(
              {
                config: Type.Optional(
                  Type.Record(Type.String(), Type.Unknown(), {
                    description:
                      'Config fields the test adds to the credential, e.g. {"path": "s3://bucket/in/"}',
                  }),
                ),
              },
              { additionalProperties: false },
            ),
          ),
          response: { 200: Type.Object({ ok: Type.Boolean(), message: Type.String() }), ...errors },
        },
      },
      async (req) => {
        const body = (req.body ?? {}) as { config?: Record<string, unknown> };
        return testCredential(p, (req.params as { id: string }).id, body.config);
      },
    );
  };
