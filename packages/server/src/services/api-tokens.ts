import { asc, count, eq } from 'drizzle-orm';
import { notFound } from '../api/errors.ts';
import { apiTokens } from '../db/schema.ts';
import type { Platform } from '../platform.ts';
import { type Identity, unauthorized } from '../security/identity.ts';
import { opaqueToken, type Role, tokenHash } from '../security/tokens.ts';
import { type Actor, audit } from './audit.ts';

/** API tokens start with this, so a bearer is told apart from a JWT without parsing it. */
export const API_TOKEN_PREFIX = 'slu_';

type Row = typeof apiTokens.$inferSelect;
const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function apiTokenView(t: Row) {
  return {
    id: t.id,
    name: t.name,
    role: t.role,
    createdBy: t.createdBy,
    createdAt: t.createdAt.toISOString(),
    expiresAt: iso(t.expiresAt),
    revokedAt: iso(t.revokedAt),
    lastUsedAt: iso(t.lastUsedAt),
  };
}

export interface NewApiToken {
  name: string;
  role: Role;
  /** Days until it stops working; none means it lasts until revoked. */
  expiresInDays?: number;
}

/** Creates a token; its value is in this answer only (the database keeps a SHA-256 of it). */
export async function createApiToken(p: Platform, input: NewApiToken, actor: Actor) {
  const token = opaqueToken(API_TOKEN_PREFIX);
  return p.database.db.transaction(async (tx) => {
    const [t] = await tx
      .insert(apiTokens)
      .values({
        name: input.name,
        role: input.role,
        tokenHash: tokenHash(token),
        createdBy: actor.username,
        expiresAt: input.expiresInDays ? new Date(Date.now() + input.expiresInDays * 86_400_000) : null,
      })
      .returning();
    const view = apiTokenView(t!);
    await audit(tx, actor, {
      action: 'token.create',
      resourceType: 'token',
      resourceId: t!.id,
      newValue: view,
    });
    return { ...view, token };
  });
}

export async function listApiTokens(p: Platform, q: { limit: number; offset: number }) {
  const db = p.database.db;
  const [rows, [total]] = await Promise.all([
    db.select().from(apiTokens).orderBy(asc(apiTokens.createdAt)).limit(q.limit).offset(q.offset),
    db.select({ n: count() }).from(apiTokens),
  ]);
  return { items: rows.map(apiTokenView), total: total?.n ?? 0 };
}

export async function revokeApiToken(p: Platform, id: string, actor: Actor): Promise<void> {
  await p.database.db.transaction(async (tx) => {
    const [t] = await tx
      .update(apiTokens)
      .set({ revokedAt: new Date() })
      .where(eq(apiTokens.id, id))
      .returning();
    if (!t) throw notFound('API token', id);
    await audit(tx, actor, {
      action: 'token.revoke',
      resourceType: 'token',
      resourceId: id,
      newValue: apiTokenView(t),
    });
  });
}

export async function authenticateApiToken(p: Platform, token: string): Promise<Identity> {
  const [t] = await p.database.db
    .select()
    .from(apiTokens)
    .where(eq(apiTokens.tokenHash, tokenHash(token)));
  if (!t) throw unauthorized('the API token is not valid');
  if (t.revokedAt) throw unauthorized(`the API token "${t.name}" was revoked`);
  if (t.expiresAt && t.expiresAt.getTime() <= Date.now())
    throw unauthorized(`the API token "${t.name}" expired on ${t.expiresAt.toISOString()}`);
  // Recording every use would make each request a write; once a minute is enough to see it is in use.
  if (!t.lastUsedAt || Date.now() - t.lastUsedAt.getTime() > 60_000)
    await p.database.db.update(apiTokens).set({ lastUsedAt: new Date() }).where(eq(apiTokens.id, t.id));
  return { kind: 'token', id: t.id, username: `token:${t.name}`, role: t.role };
}
