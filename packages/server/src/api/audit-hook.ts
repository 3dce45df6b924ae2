import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Platform } from '../platform.ts';
import { audit } from '../services/audit.ts';
import { actorOf } from './auth-hook.ts';

export interface AuditRule {
  /** `<resource>.<verb>`: pipeline.update, job.cancel … */
  action: string;
  resourceType: string;
  /** The state before the change (for updates and deletes), loaded by the route's `:id`. */
  before?: (p: Platform, id: string) => Promise<unknown>;
  /** The answer's `id` names the resource, not the route's `:id` (a webhook created under its pipeline). */
  idFromAnswer?: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Every successful call of the route writes an audit row. */
    audit?: AuditRule;
  }
  interface FastifyRequest {
    auditBefore?: unknown;
  }
}

function resourceId(req: FastifyRequest, body: unknown, fromAnswer = false): string | null {
  const params = req.params as { id?: string } | undefined;
  if (params?.id && !fromAnswer) return params.id;
  const b = body as { id?: unknown; jobId?: unknown } | null;
  if (typeof b?.id === 'string') return b.id;
  if (typeof b?.jobId === 'string') return b.jobId;
  return null;
}

/**
 * Audits the routes that change something, uniformly: the state before (when the route says how
 * to load it), the answer as the new value (answers never hold secrets), who, from where. The
 * row is written before the answer leaves, so a client that saw success can find its audit row.
 */
export function installAudit(app: FastifyInstance, p: Platform): void {
  app.addHook('preHandler', async (req) => {
    const rule = req.routeOptions.config.audit;
    const id = (req.params as { id?: string } | undefined)?.id;
    if (rule?.before && id) req.auditBefore = await rule.before(p, id).catch(() => undefined);
  });
  app.addHook('onSend', async (req, reply, payload) => {
    const rule = req.routeOptions.config.audit;
    if (!rule || reply.statusCode >= 400) return payload;
    let body: unknown = null;
    if (typeof payload === 'string' && payload.length > 0 && payload.length < 1_000_000) {
      try {
        body = JSON.parse(payload);
      } catch {
        body = null;
      }
    }
    await audit(p.database.db, actorOf(req), {
      action: rule.action,
      resourceType: rule.resourceType,
      resourceId: resourceId(req, body, rule.idFromAnswer),
      ...(req.auditBefore === undefined ? {} : { oldValue: req.auditBefore }),
      ...(body === null ? {} : { newValue: body }),
    });
    return payload;
  });
}
