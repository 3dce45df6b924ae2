import { ErrorCode, SluiceError } from '@sluice/core';
import { asc, count, eq } from 'drizzle-orm';
import pg from 'pg';
import { conflict, notFound } from '../api/errors.ts';
import { credentials } from '../db/schema.ts';
import type { Platform } from '../platform.ts';
import { seal, unseal } from '../security/secrets.ts';
import { invalid, issuesOf } from './schema-issues.ts';

type Row = typeof credentials.$inferSelect;
const MASK = '********';

/** What the API shows: field names, never values. */
export function credentialView(c: Row, fields: string[]) {
  return {
    id: c.id,
    name: c.name,
    connectorType: c.connectorType,
    description: c.description,
    fields: Object.fromEntries(fields.map((f) => [f, MASK])),
    createdAt: c.createdAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
  };
}

async function fieldsOf(p: Platform, c: Row): Promise<string[]> {
  return Object.keys((await unseal(p.masterKey, c.encryptedData)) as object);
}

export interface CredentialInput {
  name: string;
  connectorType: string;
  description?: string;
  data: Record<string, unknown>;
}

const taken = (err: unknown, name: string) =>
  ((err as { cause?: { code?: string }; code?: string }).cause?.code ?? (err as { code?: string }).code) ===
  '23505'
    ? conflict(`a credential named "${name}" exists already`)
    : err;

/**
 * Checks a credential's data against its connector's `credentialSchema`, when the connector
 * declares one: a field the connector would not take fails here, where it is typed, rather than
 * in a step at run time. Other connector types (or none known) take any fields.
 */
export function checkCredentialData(p: Platform, connectorType: string, data: Record<string, unknown>) {
  const schema = p.registry.find(connectorType).find((d) => d.credentialSchema)?.credentialSchema;
  if (!schema) return;
  const issues = issuesOf(schema, data, 'body.data');
  if (issues.length) throw invalid(`credential for ${connectorType}`, issues);
}

export async function createCredential(p: Platform, input: CredentialInput, user: string | null) {
  checkCredentialData(p, input.connectorType, input.data);
  const encryptedData = await seal(p.masterKey, input.data);
  try {
    const [c] = await p.database.db
      .insert(credentials)
      .values({
        name: input.name,
        connectorType: input.connectorType,
        description: input.description ?? '',
        encryptedData,
        createdBy: user,
      })
      .returning();
    return credentialView(c!, Object.keys(input.data));
  } catch (err) {
    throw taken(err, input.name);
  }
}

async function get(p: Platform, id: string): Promise<Row> {
  const [c] = await p.database.db.select().from(credentials).where(eq(credentials.id, id));
  if (!c) throw notFound('credential', id);
  return c;
}

/** A credential without touching its secret: for audit rows, which need no decryption. */
export async function credentialSummary(p: Platform, id: string) {
  const c = await get(p, id);
  return { id: c.id, name: c.name, connectorType: c.connectorType, description: c.description };
}

export async function updateCredential(p: Platform, id: string, input: Partial<CredentialInput>) {
  const old = await get(p, id);
  if (input.data !== undefined) checkCredentialData(p, input.connectorType ?? old.connectorType, input.data);
  const encryptedData = input.data === undefined ? old.encryptedData : await seal(p.masterKey, input.data);
  try {
    const [c] = await p.database.db
      .update(credentials)
      .set({
        ...(input.name === undefined ? {} : { name: input.name }),
        ...(input.connectorType === undefined ? {} : { connectorType: input.connectorType }),
        ...(input.description === undefined ? {} : { description: input.description }),
        encryptedData,
        updatedAt: new Date(),
      })
      .where(eq(credentials.id, id))
      .returning();
    return credentialView(c!, input.data ? Object.keys(input.data) : await fieldsOf(p, c!));
  } catch (err) {
    throw taken(err, input.name ?? old.name);
  }
}

export async function deleteCredential(p: Platform, id: string): Promise<void> {
  await get(p, id);
  await p.database.db.delete(credentials).where(eq(credentials.id, id));
}

export async function listCredentials(p: Platform, q: { limit: number; offset: number }) {
  const rows = await p.database.db
    .select()
    .from(credentials)
    .orderBy(asc(credentials.name))
    .limit(q.limit)
    .offset(q.offset);
  const [total] = await p.database.db.select({ n: count() }).from(credentials);
  return {
    items: await Promise.all(rows.map(async (c) => credentialView(c, await fieldsOf(p, c)))),
    total: total!.n,
  };
}

/**
 * Connects with a credential and says whether it worked. PostgreSQL credentials (`url`, or
 * host/port/user/password/database) are tried with `SELECT 1`; the answer never repeats a secret.
 */
export async function testCredential(p: Platform, id: string): Promise<{ ok: boolean; message: string }> {
  const c = await get(p, id);
  if (c.connectorType !== 'postgres') {
    const message = `no connection test for connector type "${c.connectorType}" yet (postgres credentials can be tested)`;
    // The fault is the stored credential's type, so that is the path the answer names.
    throw new SluiceError(ErrorCode.VALIDATION, message, {
      issues: [{ path: 'credential.connectorType', message }],
    });
  }
  const data = (await unseal(p.masterKey, c.encryptedData)) as Record<string, string | number>;
  const client = new pg.Client(
    data.url
      ? { connectionString: String(data.url), connectionTimeoutMillis: 5000 }
      : { ...data, connectionTimeoutMillis: 5000 },
  );
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return { ok: true, message: `connected to ${client.host}:${client.port} as ${client.user}` };
  } catch (err) {
    const secrets = Object.values(data)
      .map(String)
      .filter((v) => v.length >= 4);
    let message = (err as Error).message;
    for (const s of secrets) message = message.replaceAll(s, MASK);
    return { ok: false, message };
  } finally {
    await client.end().catch(() => undefined);
  }
}
