import { createHash, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';

export type Role = 'admin' | 'operator' | 'viewer';
export const ROLES: readonly Role[] = ['admin', 'operator', 'viewer'];

export const ACCESS_TOKEN_SECONDS = 15 * 60;
export const REFRESH_TOKEN_SECONDS = 7 * 24 * 3600;
const ISSUER = 'sluice';
const AUDIENCE = 'sluice-api';

/**
 * The HS256 key for access tokens, derived from the master key (HKDF) so every API process that
 * shares the master key accepts every other's tokens with nothing more to configure. Changing the
 * master key therefore ends every session: access tokens live 15 minutes anyway.
 */
export function signingKey(masterKey: string): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', masterKey, 'sluice', 'jwt-access-token', 32));
}

export interface AccessClaims {
  sub: string;
  username: string;
  role: Role;
}

export async function signAccessToken(
  key: Uint8Array,
  c: AccessClaims,
  seconds = ACCESS_TOKEN_SECONDS,
): Promise<string> {
  return new SignJWT({ username: c.username, role: c.role })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(c.sub)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setJti(randomBytes(9).toString('base64url'))
    .setExpirationTime(Math.floor(Date.now() / 1000) + seconds)
    .sign(key);
}

/** The claims of a valid token, or why it is refused (expired, bad signature, malformed). */
export async function verifyAccessToken(
  key: Uint8Array,
  token: string,
): Promise<{ ok: true; claims: AccessClaims } | { ok: false; reason: string }> {
  try {
    const { payload } = await jwtVerify(token, key, {
      algorithms: ['HS256'],
      issuer: ISSUER,
      audience: AUDIENCE,
    });
    return {
      ok: true,
      claims: { sub: String(payload.sub), username: String(payload.username), role: payload.role as Role },
    };
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired)
      return { ok: false, reason: 'the access token has expired; refresh it' };
    if (err instanceof joseErrors.JWSSignatureVerificationFailed)
      return { ok: false, reason: 'the access token signature is not valid' };
    return { ok: false, reason: 'the access token is not valid' };
  }
}

/** An opaque secret for refresh and API tokens: 32 random bytes, with a prefix saying what it is. */
export function opaqueToken(prefix: string): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`;
}

/** Opaque tokens are stored as SHA-256: they are random, so a slow hash would add nothing. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
