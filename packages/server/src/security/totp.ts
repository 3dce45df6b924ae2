import { Secret, TOTP } from 'otpauth';

// RFC 6238 with the parameters every authenticator app assumes: SHA-1, 6 digits, 30 s.
const PERIOD = 30;
const totp = (secret: string, label = 'user') =>
  new TOTP({
    issuer: 'Sluice',
    label,
    algorithm: 'SHA1',
    digits: 6,
    period: PERIOD,
    secret: Secret.fromBase32(secret),
  });

/** A fresh secret (160 bits, base32) and the otpauth:// URI an authenticator app scans. */
export function newTotpSecret(username: string): { secret: string; uri: string } {
  const secret = new Secret({ size: 20 }).base32;
  return { secret, uri: totp(secret, username).toString() };
}

/**
 * The time step a code belongs to when it is valid now (one step of clock drift either way),
 * else null. Callers refuse a step at or before the last one accepted, so a code is used once.
 */
export function totpStep(secret: string, code: string, now = Date.now()): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const t = totp(secret);
  const delta = t.validate({ token: code, timestamp: now, window: 1 });
  return delta === null ? null : t.counter({ timestamp: now }) + delta;
}

/** The current code: for tests and for `sluice users totp-code`-style tooling. */
export function totpCode(secret: string, now = Date.now()): string {
  return totp(secret).generate({ timestamp: now });
}
