import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { Platform } from '../../platform.ts';
import type { Role } from '../../security/tokens.ts';
import { createApiToken, listApiTokens, revokeApiToken } from '../../services/api-tokens.ts';
import { listAudit } from '../../services/audit.ts';
import { createUser, deleteUser, listUsers, updateUser } from '../../services/users.ts';
import { actorOf } from '../auth-hook.ts';
import { DateTime, NAME_MAX, Text } from '../fields.ts';
import { ErrorBody, IdParams, Page, PageQuery } from '../pagination.ts';
import { ApiTokenSchema, AuditSchema, RoleSchema, UserSchema } from '../schemas.ts';

const errors = { 400: ErrorBody, 404: ErrorBody, 409: ErrorBody };
const Username = Type.String({ maxLength: 100, pattern: '^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$' });
const Password = Type.String({ minLength: 1, maxLength: 1000, description: 'At least 10 characters.' });

/** Users, API tokens and the audit log: admins only (api-v1.md). */
export const userRoutes =
  (p: Platform): FastifyPluginAsync =>
  async (app) => {
    app.get(
      '/users',
      {
        config: { access: 'users:read' },
        schema: {
          summary: 'List users',
          tags: ['users'],
          querystring: PageQuery,
          response: { 200: Page(UserSchema), 400: ErrorBody },
        },
      },
      async (req) => {
        const q = req.query as { limit: number; offset: number };
        return { ...(await listUsers(p, q)), ...q };
      },
    );
    app.post(
      '/users',
      {
        config: { access: 'users:write' },
        schema: {
          summary: 'Create a user',
          tags: ['users'],
          body: Type.Object({ username: Username, password: Password, role: RoleSchema }),
          response: { 201: UserSchema, ...errors },
        },
      },
      async (req, reply) =>
        reply
          .status(201)
          .send(
            await createUser(p, req.body as { username: string; password: string; role: Role }, actorOf(req)),
          ),
    );
    app.put(
      '/users/:id',
      {
        config: { access: 'users:write' },
        schema: {
          summary:
            'Change a user: password, role, active, or turn TOTP off (takes effect on their next request)',
          tags: ['users'],
          params: IdParams,
          body: Type.Object({
            password: Type.Optional(Password),
            role: Type.Optional(RoleSchema),
            active: Type.Optional(Type.Boolean()),
            totp: Type.Optional(Type.Literal(false, { description: 'false resets a lost second factor.' })),
          }),
          response: { 200: UserSchema, ...errors },
        },
      },
      async (req) => updateUser(p, (req.params as { id: string }).id, req.body as object, actorOf(req)),
    );
    app.delete(
      '/users/:id',
      {
        config: { access: 'users:write' },
        schema: {
          summary: 'Delete a user',
          tags: ['users'],
          params: IdParams,
          response: { 204: Type.Null(), ...errors },
        },
      },
      async (req, reply) => {
        await deleteUser(p, (req.params as { id: string }).id, actorOf(req));
        return reply.status(204).send(null);
      },
    );
    app.get(
      '/tokens',
      {
        config: { access: 'users:read' },
        schema: {
          summary: 'List API tokens (never their values)',
          tags: ['users'],
          querystring: PageQuery,
          response: { 200: Page(ApiTokenSchema), 400: ErrorBody },
        },
      },
      async (req) => {
        const q = req.query as { limit: number; offset: number };
        return { ...(await listApiTokens(p, q)), ...q };
      },
    );
    app.post(
      '/tokens',
      {
        config: { access: 'users:write' },
        schema: {
          summary: 'Create an API token for automation; its value is shown in this answer only',
          tags: ['users'],
          body: Type.Object({
            name: Text(NAME_MAX, { minLength: 1 }),
            role: RoleSchema,
            expiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
          }),
          response: {
            201: Type.Composite([ApiTokenSchema, Type.Object({ token: Type.String() })]),
            ...errors,
          },
        },
      },
      async (req, reply) =>
        reply
          .status(201)
          .send(
            await createApiToken(
              p,
              req.body as { name: string; role: Role; expiresInDays?: number },
              actorOf(req),
            ),
          ),
    );
    app.delete(
      '/tokens/:id',
      {
        config: { access: 'users:write' },
        schema: {
          summary: 'Revoke an API token',
          tags: ['users'],
          params: IdParams,
          response: { 204: Type.Null(), ...errors },
        },
      },
      async (req, reply) => {
        await revokeApiToken(p, (req.params as { id: string }).id, actorOf(req));
        return reply.status(204).send(null);
      },
    );
    app.get(
      '/audit',
      {
        config: { access: 'audit:read' },
        schema: {
          summary: 'The audit log, newest first: who, what, when, old and new values, from where',
          tags: ['audit'],
          querystring: Type.Composite([
            PageQuery,
            Type.Object({
              username: Type.Optional(Text(NAME_MAX)),
              action: Type.Optional(
                Text(NAME_MAX, { description: 'e.g. pipeline.update, auth.login_failed' }),
              ),
              resourceType: Type.Optional(Text(NAME_MAX)),
              resourceId: Type.Optional(Text(NAME_MAX)),
              from: Type.Optional(DateTime()),
              to: Type.Optional(DateTime()),
            }),
          ]),
          response: { 200: Page(AuditSchema), 400: ErrorBody },
        },
      },
      async (req) => {
        const q = req.query as Parameters<typeof listAudit>[1];
        return { ...(await listAudit(p, q)), limit: q.limit, offset: q.offset };
      },
    );
  };
