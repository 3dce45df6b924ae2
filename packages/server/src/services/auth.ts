import { randomUUID } from 'node:crypto';
import { ErrorCode, SluiceError } from '@sluice/core';
import { and, eq, isNull } from 'drizzle-orm';
import { refreshTokens, users } from '../db/schema.ts';
import type { Platform } from '../platform.ts';
import { type Identity, unauthorized } from '../security/identity.ts';
import { DUMMY_HASH, verifyPassword } from '../security/passwords.ts';
import { seal, unseal } from '../security/secrets.ts';
import {
  ACCESS_TOKEN_SECONDS,
  opaqueToken,
  REFRESH_TOKEN_SECONDS,
  type Role,
  signAccessToken,
  signingKey,
  tokenHash,
  verifyAccessToken,
} from '../security/tokens.ts';
import { newTotpSecret, totpStep } from '../security/totp.ts';
import { API_TOKEN_PREFIX, authenticateApiToken } from './api-tokens.ts';
import { type Actor, audit, failedLogins } from './audit.ts';
import { userView } from './users.ts';

const keys = new WeakMap<Platform, Uint8Array>();
export const accessKey = (p: Platform): Uint8Array => {
  let k = keys.get(p);
  if (!k) {
    k = signingKey(p.masterKey);
    keys.set(p, k);
  }
  return k;
};

/** Failed logins allowed per username and per client address in the window before refusing. */
export const LOGIN_LIMITS = { perUser: 10, perAddress: 30, windowMs: 15 * 60_000 };

export class TooManyAttempts extends SluiceError {
  constructor(
    readonly retryAfterSeconds: number,
    message: string,
  ) {
    super(ErrorCode.RATE_LIMITED, message);
  }
}

async function issueTokens(p: Platform, u: { id: string; username: string; role: Role }, familyId: string) {
  const refreshToken = opaqueToken('slr_');
  const [row] = await p.database.db
    .insert(refreshTokens)
    .values({
      userId: u.id,
      familyId,
      tokenHash: tokenHash(refreshToken),
      expiresAt: new Date(Date.now() + REFRESH_TOKEN_SECONDS * 1000),
    })
    .returning({ id: refreshTokens.id });
  const accessToken = await signAccessToken(accessKey(p), { sub: u.id, username: u.username, role: u.role });
  return { accessToken, refreshToken, expiresIn: ACCESS_TOKEN_SECONDS, refreshId: row!.id };
}

export interface LoginInput {
  username: string;
  password: string;
  totp?: string;
}

/**
 * Checks the password (and the TOTP code once enrolled), then issues an access token and a new
 * refresh-token family. Every failure is audited; too many for the user or the address within
 * LOGIN_LIMITS.windowMs are refused before the password is even checked.
 */
export async function login(p: Platform, input: LoginInput, from: Omit<Actor, 'userId' | 'username'>) {
  const since = new Date(Date.now() - LOGIN_LIMITS.windowMs);
  const [byUser, byAddress] = await Promise.all([
    failedLogins(p, { username: input.username }, since),
    from.address ? failedLogins(p, { address: from.address }, since) : 0,
  ]);
  if (byUser >= LOGIN_LIMITS.perUser || byAddress >= LOGIN_LIMITS.perAddress)
    throw new TooManyAttempts(
      LOGIN_LIMITS.windowMs / 1000,
      `too many failed logins ${byUser >= LOGIN_LIMITS.perUser ? `for user "${input.username}"` : 'from this address'}; try again in ${LOGIN_LIMITS.windowMs / 60_000} minutes`,
    );
  const [u] = await p.database.db.select().from(users).where(eq(users.username, input.username));
  const ok = await verifyPassword(input.password, u?.passwordHash ?? DUMMY_HASH);
  const fail = async (reason: string, error: SluiceError) => {
    await audit(
      p.database.db,
      { userId: u?.id ?? null, username: input.username, ...from },
      { action: 'auth.login_failed', resourceType: 'user', resourceId: u?.id ?? null, newValue: { reason } },
    );
    throw error;
  };
  if (!u || !ok) return fail('bad username or password', unauthorized('wrong username or password'));
  if (!u.active) return fail('user disabled', unauthorized(`user "${u.username}" is disabled; ask an admin`));
  if (u.totpSecret) {
    if (!input.totp)
      return fail(
        'totp missing',
        unauthorized(
          'this user has a second factor: send the 6-digit code from the authenticator app as "totp"',
          [{ path: 'body.totp', message: 'required once TOTP is enrolled' }],
        ),
      );
    const step = totpStep((await unseal(p.masterKey, u.totpSecret)) as string, input.totp);
    if (step === null || (u.totpLastStep !== null && step <= u.totpLastStep))
      return fail('totp wrong', unauthorized('the TOTP code is wrong, expired or already used'));
    await p.database.db.update(users).set({ totpLastStep: step }).where(eq(users.id, u.id));
  }
  await p.database.db.update(users).set({ lastLoginAt: new Date() }).where(eq(users.id, u.id));
  const tokens = await issueTokens(p, { id: u.id, username: u.username, role: u.role }, randomUUID());
  await audit(
    p.database.db,
    { userId: u.id, username: u.username, ...from },
    { action: 'auth.login', resourceType: 'user', resourceId: u.id },
  );
  return {
    accessToken: tokens.accessToken,
    refreshToken: tokens.refreshToken,
    expiresIn: tokens.expiresIn,
    user: userView(u),
  };
}

async function refreshRow(p: Platform, token: string) {
  const [row] = await p.database.db
    .select()
    .from(refreshTokens)
    .where(eq(refreshTokens.tokenHash, tokenHash(token)));
  return row;
}

const revokeFamily = (p: Platform, familyId: string) =>
  p.database.db
    .update(refreshTokens)
    .set({ revokedAt: new Date() })
    .where(and(eq(refreshTokens.familyId, familyId), isNull(refreshTokens.revokedAt)));

/**
 * Rotates a refresh token: the presented one is revoked and a new one of the same family issued.
 * A token presented after it was rotated (a copy in someone else's hands, or a replay) revokes
 * the whole family, ending the session everywhere.
 */
export async function refresh(p: Platform, token: string, from: Omit<Actor, 'userId' | 'username'>) {
  const db = p.database.db;
  const row = await refreshRow(p, token);
  if (!row) throw unauthorized('the refresh token is not valid; log in again');
  // Claim it atomically: of two concurrent uses, only one rotates; the other is a reuse.
  const claimed = await db
    .update(refreshTokens)
    .set({ revokedAt: new Date() })
    .where(and(eq(refreshTokens.id, row.id), isNull(refreshTokens.revokedAt)))
    .returning({ id: refreshTokens.id });
  const [u] = await db.select().from(users).where(eq(users.id, row.userId));
  if (claimed.length === 0) {
    await revokeFamily(p, row.familyId);
    await audit(
      db,
      { userId: row.userId, username: u?.username ?? '?', ...from },
      { action: 'auth.refresh_reuse', resourceType: 'user', resourceId: row.userId },
    );
    throw unauthorized(
      'the refresh token was already used; every session of this login is revoked, log in again',
    );
  }
  if (row.expiresAt.getTime() <= Date.now())
    throw unauthorized('the refresh token has expired; log in again');
  if (!u?.active) throw unauthorized('the user is disabled or gone; ask an admin');
  const next = await issueTokens(p, { id: u.id, username: u.username, role: u.role }, row.familyId);
  await db.update(refreshTokens).set({ replacedBy: next.refreshId }).where(eq(refreshTokens.id, row.id));
  return {
    accessToken: next.accessToken,
    refreshToken: next.refreshToken,
    expiresIn: next.expiresIn,
    user: userView(u),
  };
}

/** Ends the login the refresh token belongs to (its whole family). Unknown tokens are ignored. */
export async function logout(p: Platform, token: string, from: Omit<Actor, 'userId' | 'username'>) {
  const db = p.database.db;
  const row = await refreshRow(p, token);
  if (!row) return;
  await revokeFamily(p, row.familyId);
  const [u] = await db.select().from(users).where(eq(users.id, row.userId));
  await audit(
    db,
    { userId: row.userId, username: u?.username ?? '?', ...from },
    { action: 'auth.logout', resourceType: 'user', resourceId: row.userId },
  );
}

/**
 * The identity behind a bearer token, checked against the database on every call so disabling a
 * user or changing a role takes effect on the next request.
 */
export async function authenticate(p: Platform, bearer: string): Promise<Identity> {
  if (bearer.startsWith(API_TOKEN_PREFIX)) return authenticateApiToken(p, bearer);
  const v = await verifyAccessToken(accessKey(p), bearer);
  if (!v.ok) throw unauthorized(v.reason);
  const [u] = await p.database.db.select().from(users).where(eq(users.id, v.claims.sub));
  if (!u) throw unauthorized('the user of this token no longer exists');
  if (!u.active) throw unauthorized(`user "${u.username}" is disabled`);
  return { kind: 'user', id: u.id, username: u.username, role: u.role };
}

/** Starts TOTP enrolment: the secret is kept pending until a code from it is verified. */
export async function enrollTotp(p: Platform, who: Identity, actor: Actor) {
  const { secret, uri } = newTotpSecret(who.username);
  await p.database.db
    .update(users)
    .set({ totpPending: await seal(p.masterKey, secret), updatedAt: new Date() })
    .where(eq(users.id, who.id));
  // The answer holds the secret (also inside the URI): the audit row records only that it happened.
  await audit(p.database.db, actor, { action: 'user.totp_enroll', resourceType: 'user', resourceId: who.id });
  return { secret, uri };
}

/** Confirms enrolment with a code from the app; from then on login requires a code. */
export async function verifyTotp(p: Platform, who: Identity, code: string, actor: Actor) {
  const [u] = await p.database.db.select().from(users).where(eq(users.id, who.id));
  if (!u?.totpPending)
    throw new SluiceError(ErrorCode.CONFLICT, 'no TOTP enrolment is pending; POST /auth/totp/enroll first');
  const step = totpStep((await unseal(p.masterKey, u.totpPending)) as string, code);
  if (step === null)
    throw new SluiceError(
      ErrorCode.VALIDATION,
      'the code does not match; check the device clock and try the next code',
      {
        issues: [{ path: 'body.code', message: 'does not match the enrolled secret' }],
      },
    );
  await p.database.db
    .update(users)
    .set({ totpSecret: u.totpPending, totpPending: null, totpLastStep: step, updatedAt: new Date() })
    .where(eq(users.id, who.id));
  await audit(p.database.db, actor, { action: 'user.totp_enable', resourceType: 'user', resourceId: who.id });
}
