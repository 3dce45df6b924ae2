import { randomBytes } from 'node:crypto';
import { ErrorCode, SluiceError } from '@sluice/core';
import { and, asc, count, eq, isNull } from 'drizzle-orm';
import { conflict, notFound } from '../api/errors.ts';
import { refreshTokens, users } from '../db/schema.ts';
import type { Platform } from '../platform.ts';
import { hashPassword, passwordProblem } from '../security/passwords.ts';
import type { Role } from '../security/tokens.ts';
import { type Actor, audit } from './audit.ts';

type UserRow = typeof users.$inferSelect;
/** Users need only the database: the CLI manages them without starting a platform. */
type Db = Pick<Platform, 'database'>;

export function userView(u: UserRow) {
  return {
    id: u.id,
    username: u.username,
    role: u.role,
    active: u.active,
    totpEnabled: u.totpSecret !== null,
    lastLoginAt: u.lastLoginAt ? u.lastLoginAt.toISOString() : null,
    createdAt: u.createdAt.toISOString(),
    updatedAt: u.updatedAt.toISOString(),
  };
}
export type UserView = ReturnType<typeof userView>;

function checkPassword(password: string, path: string): void {
  const problem = passwordProblem(password);
  if (problem) throw new SluiceError(ErrorCode.VALIDATION, problem, { issues: [{ path, message: problem }] });
}

export async function getUser(p: Db, id: string): Promise<UserRow> {
  const [u] = await p.database.db.select().from(users).where(eq(users.id, id));
  if (!u) throw notFound('user', id);
  return u;
}

export async function findUser(p: Db, username: string): Promise<UserRow | undefined> {
  const [u] = await p.database.db.select().from(users).where(eq(users.username, username));
  return u;
}

export async function listUsers(p: Db, q: { limit: number; offset: number }) {
  const db = p.database.db;
  const [rows, [total]] = await Promise.all([
    db.select().from(users).orderBy(asc(users.username)).limit(q.limit).offset(q.offset),
    db.select({ n: count() }).from(users),
  ]);
  return { items: rows.map(userView), total: total?.n ?? 0 };
}

export interface NewUser {
  username: string;
  password: string;
  role: Role;
}

export async function createUser(p: Db, input: NewUser, actor: Actor): Promise<UserView> {
  checkPassword(input.password, 'body.password');
  const passwordHash = await hashPassword(input.password);
  return p.database.db.transaction(async (tx) => {
    const [u] = await tx
      .insert(users)
      .values({ username: input.username, passwordHash, role: input.role })
      .onConflictDoNothing()
      .returning();
    if (!u) throw conflict(`a user named "${input.username}" exists already`);
    const view = userView(u);
    await audit(tx, actor, { action: 'user.create', resourceType: 'user', resourceId: u.id, newValue: view });
    return view;
  });
}

export interface UserChange {
  password?: string;
  role?: Role;
  active?: boolean;
  /** false turns the user's TOTP second factor off (an admin's reset for a lost device). */
  totp?: false;
}

/**
 * Changes a user. A new password, role or a disabled account ends the user's sessions (refresh
 * tokens revoked); access tokens are checked against the user's row on every request, so a
 * role change or disabling takes effect on the next request.
 */
export async function updateUser(p: Db, id: string, change: UserChange, actor: Actor) {
  if (change.password !== undefined) checkPassword(change.password, 'body.password');
  const passwordHash = change.password === undefined ? undefined : await hashPassword(change.password);
  return p.database.db.transaction(async (tx) => {
    const [old] = await tx.select().from(users).where(eq(users.id, id)).for('update');
    if (!old) throw notFound('user', id);
    if (old.role === 'admin' && ((change.role && change.role !== 'admin') || change.active === false))
      await keepOneAdmin(tx, id);
    const [u] = await tx
      .update(users)
      .set({
        ...(passwordHash ? { passwordHash } : {}),
        ...(change.role ? { role: change.role } : {}),
        ...(change.active === undefined ? {} : { active: change.active }),
        ...(change.totp === false ? { totpSecret: null, totpPending: null, totpLastStep: null } : {}),
        updatedAt: new Date(),
      })
      .where(eq(users.id, id))
      .returning();
    if (passwordHash || change.role || change.active === false)
      await tx
        .update(refreshTokens)
        .set({ revokedAt: new Date() })
        .where(and(eq(refreshTokens.userId, id), isNull(refreshTokens.revokedAt)));
    const view = userView(u!);
    const action =
      change.role && change.role !== old.role
        ? 'user.role_change'
        : passwordHash
          ? 'user.password_change'
          : change.active === false
            ? 'user.disable'
            : 'user.update';
    await audit(tx, actor, {
      action,
      resourceType: 'user',
      resourceId: id,
      oldValue: userView(old),
      newValue: { ...view, ...(passwordHash ? { password: 'changed' } : {}) },
    });
    return view;
  });
}

type Tx = Parameters<Parameters<Platform['database']['db']['transaction']>[0]>[0];

/** Refuses to demote, disable or delete the last active admin: no one could undo it. */
async function keepOneAdmin(tx: Tx, leaving: string): Promise<void> {
  const admins = await tx
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.role, 'admin'), eq(users.active, true)));
  if (admins.filter((a) => a.id !== leaving).length === 0)
    throw conflict('this is the last active admin; make another user admin first');
}

export async function deleteUser(p: Db, id: string, actor: Actor): Promise<void> {
  await p.database.db.transaction(async (tx) => {
    const [old] = await tx.select().from(users).where(eq(users.id, id)).for('update');
    if (!old) throw notFound('user', id);
    if (old.role === 'admin') await keepOneAdmin(tx, id);
    await tx.delete(users).where(eq(users.id, id));
    await audit(tx, actor, {
      action: 'user.delete',
      resourceType: 'user',
      resourceId: id,
      oldValue: userView(old),
    });
  });
}

export const SYSTEM: Actor = { userId: null, username: 'sluice' };

/**
 * First start: with no user at all, creates `admin` with SLUICE_ADMIN_PASSWORD, or a generated
 * password the caller prints once. Returns what it did (nothing when users exist).
 */
export async function ensureFirstAdmin(
  p: Db,
  env = process.env,
): Promise<{ username: string; password: string | null } | null> {
  const [n] = await p.database.db.select({ n: count() }).from(users);
  if ((n?.n ?? 0) > 0) return null;
  const given = env.SLUICE_ADMIN_PASSWORD;
  const password = given ?? randomBytes(18).toString('base64url');
  try {
    await createUser(p, { username: 'admin', password, role: 'admin' }, SYSTEM);
  } catch (err) {
    // Another process sharing the database created it first.
    if ((err as SluiceError).code === ErrorCode.CONFLICT) return null;
    if ((err as SluiceError).code === ErrorCode.VALIDATION)
      throw new SluiceError(ErrorCode.CONFIG, `SLUICE_ADMIN_PASSWORD: ${(err as Error).message}`);
    throw err;
  }
  return { username: 'admin', password: given === undefined ? password : null };
}
