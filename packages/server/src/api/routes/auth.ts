import { Type } from '@sinclair/typebox';
import { ErrorCode, SluiceError } from '@sluice/core';
import type { FastifyPluginAsync } from 'fastify';
import type { Platform } from '../../platform.ts';
import { enrollTotp, login, logout, refresh, verifyTotp } from '../../services/auth.ts';
import { getUser, userView } from '../../services/users.ts';
import { actorOf } from '../auth-hook.ts';
import { NAME_MAX, Text } from '../fields.ts';
import { ErrorBody } from '../pagination.ts';
import { UserSchema } from '../schemas.ts';

const tags = ['auth'];
const errors = { 400: ErrorBody, 401: ErrorBody, 429: ErrorBody };
const Session = Type.Object({
  accessToken: Type.String({ description: 'A JWT for `Authorization: Bearer`, valid 15 minutes.' }),
  refreshToken: Type.String({ description: 'Opaque, valid 7 days, good for one refresh.' }),
  expiresIn: Type.Integer({ description: 'Seconds the access token is valid.' }),
  user: UserSchema,
});
const RefreshBody = Type.Object({ refreshToken: Type.String({ minLength: 1, maxLength: 1000 }) });
const from = (req: Parameters<typeof actorOf>[0]) => {
  const { address, userAgent } = actorOf(req);
  return { address: address ?? null, userAgent: userAgent ?? null };
};

export const authRoutes =
  (p: Platform): FastifyPluginAsync =>
  async (app) => {
    app.post(
      '/auth/login',
      {
        // Besides the failed-login counts per user and address (services/auth.ts), a cap on
        // attempts per address per minute whatever their outcome. Counted once the body passed
        // its schema: malformed requests must not lock a real user of that address out.
        config: {
          access: 'public',
          rateLimit: { max: 20, timeWindow: '1 minute', keyGenerator: (req) => req.ip, hook: 'preHandler' },
        },
        schema: {
          summary: 'Sign in: an access token and a refresh token',
          tags,
          body: Type.Object({
            username: Text(NAME_MAX, { minLength: 1 }),
            password: Type.String({ minLength: 1, maxLength: 1000 }),
            totp: Type.Optional(
              Type.String({
                maxLength: 6,
                pattern: '^\\d{6}$',
                description: 'The 6-digit code, once TOTP is enrolled.',
              }),
            ),
          }),
          response: { 200: Session, ...errors },
        },
      },
      async (req) => login(p, req.body as { username: string; password: string; totp?: string }, from(req)),
    );
    app.post(
      '/auth/refresh',
      {
        config: { access: 'public' },
        schema: {
          summary: 'Trade a refresh token for a new pair (the old one stops working)',
          tags,
          body: RefreshBody,
          response: { 200: Session, ...errors },
        },
      },
      async (req) => refresh(p, (req.body as { refreshToken: string }).refreshToken, from(req)),
    );
    app.post(
      '/auth/logout',
      {
        config: { access: 'public' },
        schema: {
          summary: 'Revoke the refresh token (and every token rotated from the same login)',
          tags,
          body: RefreshBody,
          response: { 204: Type.Null(), ...errors },
        },
      },
      async (req, reply) => {
        await logout(p, (req.body as { refreshToken: string }).refreshToken, from(req));
        return reply.status(204).send(null);
      },
    );
    app.get(
      '/auth/me',
      {
        config: { access: 'self' },
        schema: {
          summary: 'The signed-in user (or API token) and its role',
          tags,
          response: {
            200: Type.Object({
              kind: Type.Union([Type.Literal('user'), Type.Literal('token')]),
              id: Type.String(),
              username: Type.String(),
              role: Type.String(),
              user: Type.Union([UserSchema, Type.Null()]),
            }),
            ...errors,
          },
        },
      },
      async (req) => {
        const who = req.identity!;
        return { ...who, user: who.kind === 'user' ? userView(await getUser(p, who.id)) : null };
      },
    );
    app.post(
      '/auth/totp/enroll',
      {
        config: { access: 'self' },
        schema: {
          summary: 'Start TOTP enrolment: a secret and an otpauth:// URI for an authenticator app',
          tags,
          response: { 200: Type.Object({ secret: Type.String(), uri: Type.String() }), ...errors },
        },
      },
      async (req) => {
        if (req.identity!.kind !== 'user')
          throw new SluiceError(ErrorCode.CONFLICT, 'an API token has no second factor; sign in as a user');
        return enrollTotp(p, req.identity!, actorOf(req));
      },
    );
    app.post(
      '/auth/totp/verify',
      {
        config: { access: 'self' },
        schema: {
          summary: 'Finish TOTP enrolment with a code from the app; logins then require a code',
          tags,
          body: Type.Object({ code: Type.String({ maxLength: 6, pattern: '^\\d{6}$' }) }),
          response: { 204: Type.Null(), ...errors },
        },
      },
      async (req, reply) => {
        await verifyTotp(p, req.identity!, (req.body as { code: string }).code, actorOf(req));
        return reply.status(204).send(null);
      },
    );
  };
