import { ErrorCode, SluiceError } from '@sluice/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Platform } from '../platform.ts';
import { type Access, allows } from '../security/access.ts';
import { type Identity, unauthorized } from '../security/identity.ts';
import type { Actor } from '../services/audit.ts';
import { authenticate } from '../services/auth.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route (security/access.ts). Routes without it are refused. */
    access?: Access;
    /** The token may come as `?token=` (the WebSocket: browsers cannot set its headers). */
    tokenInQuery?: boolean;
  }
  interface FastifyRequest {
    identity: Identity | null;
    /** The token the caller authenticated with: the WebSocket checks it again on each subscribe. */
    bearer: string | null;
  }
}

function bearerOf(req: FastifyRequest): string | null {
  const h = req.headers.authorization;
  if (typeof h === 'string') {
    const m = /^Bearer\s+(\S+)$/i.exec(h);
    if (!m) throw unauthorized('the Authorization header must be "Bearer <token>"');
    return m[1]!;
  }
  if (req.routeOptions.config.tokenInQuery) {
    const t = (req.query as { token?: unknown } | undefined)?.token;
    if (typeof t === 'string' && t) return t;
  }
  return null;
}

/**
 * Authenticates every request under the scope and checks its route's `access` against the
 * caller's role as the database has it now. Runs on onRequest: before the body is read, so an
 * anonymous caller cannot make the server parse or validate anything.
 */
export function installAuth(app: FastifyInstance, p: Platform): void {
  app.decorateRequest('identity', null);
  app.decorateRequest('bearer', null);
  app.addHook('onRequest', async (req) => {
    const access = req.routeOptions.config.access;
    if (access === 'public') return;
    const bearer = bearerOf(req);
    if (!bearer) throw unauthorized('sign in: send "Authorization: Bearer <access token or API token>"');
    const who = await authenticate(p, bearer);
    req.identity = who;
    req.bearer = bearer;
    if (access === undefined)
      throw new SluiceError(
        ErrorCode.FORBIDDEN,
        `no role may call ${req.method} ${req.routeOptions.url} (the route has no access rule)`,
      );
    if (!allows(access, who.role))
      throw new SluiceError(
        ErrorCode.FORBIDDEN,
        `${who.username} (${who.role}) may not ${req.method} ${req.routeOptions.url}: it needs ${access}`,
      );
  });
}

/** The caller of a request, for audit rows and created_by/triggered_by columns. */
export function actorOf(req: FastifyRequest): Actor {
  const ua = req.headers['user-agent'];
  return {
    userId: req.identity?.kind === 'user' ? req.identity.id : null,
    username: req.identity?.username ?? 'anonymous',
    address: req.ip,
    userAgent: typeof ua === 'string' ? ua : null,
  };
}
