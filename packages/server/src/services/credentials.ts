import { ConfigError, checkConnectorConnection, withCredential } from '@sluice/core';
import { asc, count, eq } from 'drizzle-orm';
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
    concurrency: c.concurrency,
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
  /** Steps using it at once across all workers; null: no limit. */
  concurrency?: number | null;
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
        concurrency: input.concurrency ?? null,
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
  return {
    id: c.id,
    name: c.name,
    connectorType: c.connectorType,
    description: c.description,
    concurrency: c.concurrency,
  };
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
        ...(input.concurrency === undefined ? {} : { concurrency: input.concurrency }),
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
 * Connects with a credential, through its connector's own `checkConnection` (postgres connects
 * and runs `SELECT 1`; a file connector finds `config.path` on its store), and says whether it
 * worked. `config` supplies what the credential does not hold (a file credential's `path`); it
 * is merged as a step's `with:` is. A refused config is a 400 at `body.config.…`; a failed
 * connection is `ok: false` with the error, never repeating a secret.
 */
export async function testCredential(
  p: Platform,
  id: string,
  config: Record<string, unknown> = {},
): Promise<{ ok: boolean; message: string }> {
  const c = await get(p, id);
  const data = (await unseal(p.masterKey, c.encryptedData)) as Record<string, unknown>;
  const ctx = {
    baseDir: p.filesDir,
    stepId: `credential "${c.name}"`,
    paths: p.paths,
    network: p.network,
    signal: AbortSignal.timeout(TEST_TIMEOUT_MS),
  };
  const paths = { name: 'credential.connectorType', config: 'body.config' };
  try {
    const r = await checkConnectorConnection(
      p.registry,
      c.connectorType,
      withCredential(data, config),
      ctx,
      paths,
    );
    return { ok: true, message: r.message };
  } catch (err) {
    // A config the schema refuses is the request's fault: the caller fixes body.config.
    if (err instanceof ConfigError) throw err;
    const schema = p.registry.find(c.connectorType).find((d) => d.credentialSchema)?.credentialSchema;
    return { ok: false, message: masked((err as Error).message, data, schema) };
  }
}

const TEST_TIMEOUT_MS = 15_000;

/**
 * The message with the credential's secrets replaced by the mask: its `writeOnly` fields when the
 * connector declares a credential schema, else every value it holds (nested too).
 */
function masked(message: string, data: unknown, schema: unknown): string {
  const secrets: string[] = [];
  const collect = (
    v: unknown,
    s: { writeOnly?: boolean; properties?: Record<string, unknown> } | undefined,
  ) => {
    if (typeof v === 'string' || typeof v === 'number') {
      if (s === undefined || s.writeOnly) secrets.push(String(v));
    } else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        collect(x, s === undefined ? undefined : ((s.properties?.[k] ?? { writeOnly: true }) as typeof s));
      }
    }
  };
  collect(data, schema as never);
  let out = message;
  for (const v of secrets.filter((x) => x.length >= 4).sort((a, b) => b.length - a.length))
    out = out.replaceAll(v, MASK);
  return out;
}
