import { and, count, desc, eq, gte, lte, type SQL } from 'drizzle-orm';
import { auditLog } from '../db/schema.ts';
import type { Platform } from '../platform.ts';

/** Who did something, and from where: the authenticated caller of a request, or a process. */
export interface Actor {
  userId: string | null;
  username: string;
  address?: string | null;
  userAgent?: string | null;
}

export interface AuditEntry {
  /** `<resource>.<verb>`, e.g. pipeline.update, auth.login_failed, credential.use. */
  action: string;
  resourceType: string;
  resourceId?: string | null;
  oldValue?: unknown;
  newValue?: unknown;
}

type Executor = Pick<Platform['database']['db'], 'insert'>;

/** Secret-looking fields never reach the audit log, whatever a caller passes in. */
const SECRET_KEY =
  /^(password|passwordHash|newPassword|secret|webhookSecret|token|accessToken|refreshToken|totp|totpSecret|code|data|encryptedData)$/i;
export function maskSecrets(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(maskSecrets);
  if (v && typeof v === 'object' && !(v instanceof Date))
    return Object.fromEntries(
      Object.entries(v).map(([k, x]) => [k, SECRET_KEY.test(k) && x !== null ? '********' : maskSecrets(x)]),
    );
  return v;
}

/** Writes one audit row; pass a transaction to make it part of the change it records. */
export async function audit(db: Executor, actor: Actor, e: AuditEntry): Promise<void> {
  await db.insert(auditLog).values({
    userId: actor.userId,
    username: actor.username,
    action: e.action,
    resourceType: e.resourceType,
    resourceId: e.resourceId ?? null,
    oldValue: e.oldValue === undefined ? null : maskSecrets(e.oldValue),
    newValue: e.newValue === undefined ? null : maskSecrets(e.newValue),
    clientAddress: actor.address ?? null,
    userAgent: actor.userAgent ?? null,
  });
}

export interface AuditFilter {
  limit: number;
  offset: number;
  username?: string;
  action?: string;
  resourceType?: string;
  resourceId?: string;
  from?: string;
  to?: string;
}

export async function listAudit(p: Platform, f: AuditFilter) {
  const where: SQL[] = [];
  if (f.username) where.push(eq(auditLog.username, f.username));
  if (f.action) where.push(eq(auditLog.action, f.action));
  if (f.resourceType) where.push(eq(auditLog.resourceType, f.resourceType));
  if (f.resourceId) where.push(eq(auditLog.resourceId, f.resourceId));
  if (f.from) where.push(gte(auditLog.at, new Date(f.from)));
  if (f.to) where.push(lte(auditLog.at, new Date(f.to)));
  const cond = where.length ? and(...where) : undefined;
  const db = p.database.db;
  const [rows, [total]] = await Promise.all([
    db.select().from(auditLog).where(cond).orderBy(desc(auditLog.id)).limit(f.limit).offset(f.offset),
    db.select({ n: count() }).from(auditLog).where(cond),
  ]);
  return {
    items: rows.map((r) => ({
      id: r.id,
      at: r.at.toISOString(),
      userId: r.userId,
      username: r.username,
      action: r.action,
      resourceType: r.resourceType,
      resourceId: r.resourceId,
      oldValue: r.oldValue ?? null,
      newValue: r.newValue ?? null,
      clientAddress: r.clientAddress,
      userAgent: r.userAgent,
    })),
    total: total?.n ?? 0,
  };
}

/** Failed logins recorded since `since`, for the username or the address: the login rate limit. */
export async function failedLogins(
  p: Platform,
  by: { username?: string; address?: string },
  since: Date,
): Promise<number> {
  const where: SQL[] = [eq(auditLog.action, 'auth.login_failed'), gte(auditLog.at, since)];
  if (by.username !== undefined) where.push(eq(auditLog.username, by.username));
  if (by.address !== undefined) where.push(eq(auditLog.clientAddress, by.address));
  const [r] = await p.database.db
    .select({ n: count() })
    .from(auditLog)
    .where(and(...where));
  return r?.n ?? 0;
}
