import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRegistry } from '@sluice/connectors';
import { eq } from 'drizzle-orm';
import type { App } from '../../src/api/app.ts';
import { jobExecutions } from '../../src/db/schema.ts';
import { createLogger, type Logger } from '../../src/observability/logger.ts';
import { openPlatform, type Platform } from '../../src/platform.ts';
import type { Role } from '../../src/security/tokens.ts';
import { signAccessToken } from '../../src/security/tokens.ts';
import { accessKey } from '../../src/services/auth.ts';
import { createUser, findUser, SYSTEM } from '../../src/services/users.ts';
import { backends } from './backends.ts';
import { pgliteDataDir } from './pglite-template.ts';

export type TestPlatform = Platform & {
  close(): Promise<void>;
  filesDir: string;
  /** An access token of the platform's admin user (valid 15 minutes). */
  adminToken: string;
  /** `{ authorization: 'Bearer <adminToken>' }` for app.inject and fetch. */
  auth: { authorization: string };
};

/** Creates a user with the role (username = role unless given) and signs an access token for it. */
export async function tokenFor(p: Platform, role: Role, username: string = role): Promise<string> {
  const u =
    (await findUser(p, username)) ??
    (await createUser(p, { username, password: `${username}-password-1`, role }, SYSTEM));
  return signAccessToken(accessKey(p), { sub: u.id, username, role });
}

/** A platform on a fresh database of the given backend, with a temp directory for spec files. */
export async function testPlatform(
  backend: (typeof backends)[number]['name'],
  o: {
    jobAttempts?: number;
    otlpEndpoint?: string;
    log?: Logger;
    pipelineEnv?: string[];
    allowPaths?: string[];
    denyHosts?: string[];
    artifacts?: string;
  } = {},
): Promise<TestPlatform> {
  const dataDir =
    backend === 'pglite'
      ? await pgliteDataDir('sluice-platform-')
      : mkdtempSync(join(tmpdir(), 'sluice-platform-'));
  const filesDir = mkdtempSync(join(tmpdir(), 'sluice-files-'));
  let url: string | undefined;
  let drop = async () => {};
  if (backend === 'postgres') {
    const env = await backends[1]!.open(); // a fresh, migrated database on the server
    url = env.url;
    await env.database.close();
    drop = async () => {
      await env.dispose().catch(() => undefined);
    };
  }
  const p = await openPlatform({
    dataDir,
    ...(url ? { databaseUrl: url } : {}),
    registry: createRegistry(),
    filesDir,
    jobAttempts: o.jobAttempts ?? 1,
    retryDelaySeconds: 1,
    heartbeatSeconds: 10,
    ...(o.otlpEndpoint ? { otlpEndpoint: o.otlpEndpoint } : {}),
    log: o.log ?? createLogger({ level: 'silent' }),
    ...(o.pipelineEnv ? { pipelineEnv: o.pipelineEnv } : {}),
    ...(o.allowPaths ? { allowPaths: o.allowPaths } : {}),
    ...(o.denyHosts ? { denyHosts: o.denyHosts } : {}),
    ...(o.artifacts ? { artifacts: o.artifacts } : {}),
  });
  const adminToken = await tokenFor(p, 'admin');
  return {
    ...p,
    filesDir,
    adminToken,
    auth: { authorization: `Bearer ${adminToken}` },
    close: async () => {
      await p.close();
      await drop();
    },
  };
}

/** Polls the job row until it reaches a finished status (or `until` matches). */
export async function waitForJob(
  p: Platform,
  jobId: string,
  until = (s: string) => ['success', 'failed', 'cancelled', 'timeout'].includes(s),
  ms = 60_000,
) {
  const end = Date.now() + ms;
  for (;;) {
    const [j] = await p.database.db.select().from(jobExecutions).where(eq(jobExecutions.id, jobId));
    if (j && until(j.status)) return j;
    if (Date.now() > end) throw new Error(`job ${jobId} still ${j?.status} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Calls `/api/v1<url>` on an app in-process; the body parsed, and its text for "never contains" checks. */
export function apiCaller(app: () => { inject: App['inject'] }, token?: () => string) {
  return async (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, body?: unknown) => {
    const r = await app().inject({
      method,
      url: `/api/v1${url}`,
      ...(token ? { headers: { authorization: `Bearer ${token()}` } } : {}),
      ...(body === undefined ? {} : { payload: body as object }),
    });
    return { status: r.statusCode, text: r.body, body: r.body ? JSON.parse(r.body) : null };
  };
}
