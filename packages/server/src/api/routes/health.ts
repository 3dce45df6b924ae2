import { statfs } from 'node:fs/promises';
import { Type } from '@sinclair/typebox';
import { ErrorCode, SluiceError } from '@sluice/core';
import { sql } from 'drizzle-orm';
import type { FastifyPluginAsync } from 'fastify';
import { createMetrics } from '../../metrics/registry.ts';
import { bearerMatches } from '../../metrics/token.ts';
import type { Platform } from '../../platform.ts';
import { ErrorBody } from '../pagination.ts';

interface Check {
  ok: boolean;
  detail?: string;
  ms: number;
}

const within = <T>(ms: number, p: Promise<T>) =>
  Promise.race([
    p,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms).unref(),
    ),
  ]);

async function timed(f: () => Promise<string | undefined>): Promise<Check> {
  const t0 = performance.now();
  try {
    const detail = await within(3000, f());
    return { ok: true, ...(detail ? { detail } : {}), ms: Math.round(performance.now() - t0) };
  } catch (err) {
    // Drizzle wraps the driver's error ("Failed query: SELECT 1"): the cause says what is wrong.
    const cause = (err as Error & { cause?: Error }).cause;
    return { ok: false, detail: (cause ?? (err as Error)).message, ms: Math.round(performance.now() - t0) };
  }
}

const MIN_FREE_BYTES = 512 * 1024 * 1024;

/** The checks behind /ready: what a load balancer or `sluice doctor` asks. */
export async function readiness(p: Platform): Promise<Record<string, Check>> {
  const [database, queue, disk] = await Promise.all([
    timed(async () => {
      await p.database.db.execute(sql`SELECT 1`);
      return p.database.kind;
    }),
    timed(async () => {
      const n = await p.queue.getQueues();
      return `${n.length} queues`;
    }),
    timed(async () => {
      const s = await statfs(p.dataDir);
      const free = s.bavail * s.bsize;
      if (free < MIN_FREE_BYTES)
        throw new Error(`only ${Math.round(free / 1048576)} MB free in ${p.dataDir}`);
      return `${Math.round(free / 1048576)} MB free`;
    }),
  ]);
  return { database, queue, disk };
}

const CheckSchema = Type.Object({
  ok: Type.Boolean(),
  detail: Type.Optional(Type.String()),
  ms: Type.Number(),
});

export interface HealthOptions {
  /**
   * When set, GET /metrics answers only `Authorization: Bearer <metricsToken>` (401 otherwise).
   * @defaultValue `SLUICE_METRICS_TOKEN`, or none: /metrics is public
   */
  metricsToken?: string;
}

/** /health, /ready and /metrics: outside /api/v1, so the API's token check does not apply to them. */
export const healthRoutes =
  (p: Platform, o: HealthOptions = {}): FastifyPluginAsync =>
  async (app) => {
    const metricsToken = o.metricsToken ?? (process.env.SLUICE_METRICS_TOKEN || undefined);
    const metrics = createMetrics(p);
    app.get(
      '/health',
      {
        schema: {
          summary: 'The process is alive',
          tags: ['operations'],
          response: { 200: Type.Object({ status: Type.Literal('ok'), version: Type.String() }) },
        },
      },
      async () => ({ status: 'ok' as const, version: p.version }),
    );
    app.get(
      '/ready',
      {
        schema: {
          summary: 'The database, the queue and the data directory are usable',
          tags: ['operations'],
          response: {
            200: Type.Object({ status: Type.String(), checks: Type.Record(Type.String(), CheckSchema) }),
            503: Type.Object({ status: Type.String(), checks: Type.Record(Type.String(), CheckSchema) }),
          },
        },
      },
      async (_req, reply) => {
        const checks = await readiness(p);
        const ok = Object.values(checks).every((c) => c.ok);
        return reply.status(ok ? 200 : 503).send({ status: ok ? 'ready' : 'not ready', checks });
      },
    );
    app.get(
      '/metrics',
      {
        schema: {
          summary: 'Prometheus metrics: jobs, steps, durations, rows, errors, queue and workers, fleet-wide',
          description:
            'The Prometheus text format. Public unless SLUICE_METRICS_TOKEN is set; then it needs ' +
            '`Authorization: Bearer <that token>` (not an API token).',
          tags: ['operations'],
          security: metricsToken ? [{ bearer: [] }] : [],
          response: {
            200: { description: 'text/plain; version=0.0.4', type: 'string' },
            ...(metricsToken ? { 401: ErrorBody } : {}),
          },
        },
      },
      async (req, reply) => {
        if (metricsToken && !bearerMatches(req.headers.authorization, metricsToken)) {
          reply.header('www-authenticate', 'Bearer realm="metrics"');
          throw new SluiceError(
            ErrorCode.UNAUTHORIZED,
            'GET /metrics needs Authorization: Bearer <the token in SLUICE_METRICS_TOKEN>',
          );
        }
        return reply.type(metrics.contentType).send(await metrics.text());
      },
    );
  };
