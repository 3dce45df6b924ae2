import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Whether an `Authorization` header carries `Bearer <token>`. Both sides are hashed first so the
 * comparison is constant-time whatever the lengths (timingSafeEqual throws on unequal lengths, and
 * returning early on a length mismatch would tell an attacker the token's length).
 */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^bearer +(.+)$/i.exec(header ?? '');
  return timingSafeEqual(digest(m ? m[1]!.trim() : ''), digest(token)) && m !== null;
}
