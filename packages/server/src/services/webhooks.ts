import { randomBytes } from 'node:crypto';
import { signBody } from '@sluice/connectors';
import { ErrorCode, SluiceError } from '@sluice/core';
import { eq } from 'drizzle-orm';
import { notFound } from '../api/errors.ts';
import { bodyProblem } from '../api/validation.ts';
import { pipelines } from '../db/schema.ts';
import type { Platform } from '../platform.ts';
import { unauthorized } from '../security/identity.ts';
import { seal, unseal } from '../security/secrets.ts';
import { safeEqual } from '../security/tokens.ts';
import { type Actor, audit } from './audit.ts';
import { executePipeline } from './jobs.ts';

export const SIGNATURE_HEADER = 'x-sluice-signature';

// Unsealing costs a 600k-iteration PBKDF2; a webhook that fires often must not pay it each time.
// One entry per pipeline, replaced when its secret changes.
const unsealed = new Map<string, { sealed: string; secret: string }>();

/** A new secret for a pipeline's webhook (replacing any old one); shown in this answer only. */
export async function rotateWebhookSecret(p: Platform, pipelineId: string, actor: Actor) {
  const secret = `whs_${randomBytes(32).toString('base64url')}`;
  const sealed = await seal(p.masterKey, secret);
  await p.database.db.transaction(async (tx) => {
    const [row] = await tx
      .update(pipelines)
      .set({ webhookSecret: sealed })
      .where(eq(pipelines.id, pipelineId))
      .returning({ id: pipelines.id });
    if (!row) throw notFound('pipeline', pipelineId);
    await audit(tx, actor, {
      action: 'pipeline.webhook_secret',
      resourceType: 'pipeline',
      resourceId: pipelineId,
    });
  });
  return {
    secret,
    path: `/api/v1/hooks/${pipelineId}`,
    header: 'X-Sluice-Signature',
    format: 'sha256=<hex>',
  };
}

/**
 * Runs a pipeline for a signed webhook call. The body's `parameters` (when it is a JSON object
 * with them) become the run's parameters. A missing, malformed or wrong signature is refused the
 * same way, and compared in constant time.
 */
export async function triggerWebhook(
  p: Platform,
  pipelineId: string,
  raw: Buffer,
  signature: string | undefined,
  from: Omit<Actor, 'userId' | 'username'>,
): Promise<string> {
  const [row] = await p.database.db
    .select({ secret: pipelines.webhookSecret, active: pipelines.active })
    .from(pipelines)
    .where(eq(pipelines.id, pipelineId));
  const refuse = () =>
    unauthorized(
      `missing or wrong ${SIGNATURE_HEADER}: send sha256=<hex HMAC-SHA256 of the body> made with the pipeline's webhook secret`,
    );
  if (!row?.secret || !row.active || !signature) throw refuse();
  let secret = unsealed.get(pipelineId)?.sealed === row.secret ? unsealed.get(pipelineId)!.secret : undefined;
  if (secret === undefined) {
    secret = (await unseal(p.masterKey, row.secret)) as string;
    unsealed.set(pipelineId, { sealed: row.secret, secret });
  }
  if (!safeEqual(signBody(secret, raw), signature.trim())) throw refuse();
  let parameters: Record<string, unknown> = {};
  if (raw.length > 0) {
    try {
      const body = JSON.parse(raw.toString('utf8')) as { parameters?: unknown };
      if (body && typeof body.parameters === 'object' && body.parameters !== null)
        parameters = body.parameters as Record<string, unknown>;
    } catch {
      // A signed body that is not JSON still triggers the run, without parameters.
    }
    // This route reads its body raw (for the signature), past the API's JSON checks: same limits.
    const problem = bodyProblem(parameters, 'body.parameters');
    if (problem)
      throw new SluiceError(ErrorCode.VALIDATION, `invalid request: ${problem.path} ${problem.message}`, {
        issues: [problem],
      });
  }
  const actor: Actor = { userId: null, username: 'webhook', ...from };
  const jobId = await executePipeline(p, pipelineId, {
    parameters,
    triggerType: 'webhook',
    triggeredBy: 'webhook',
  });
  await audit(p.database.db, actor, {
    action: 'pipeline.execute',
    resourceType: 'pipeline',
    resourceId: pipelineId,
    newValue: { jobId, parameters, triggerType: 'webhook' },
  });
  return jobId;
}
