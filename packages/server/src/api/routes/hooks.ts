import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { Platform } from '../../platform.ts';
import { rotateWebhookSecret, SIGNATURE_HEADER, triggerWebhook } from '../../services/webhooks.ts';
import { actorOf } from '../auth-hook.ts';
import { ErrorBody, IdParams } from '../pagination.ts';

const errors = { 400: ErrorBody, 401: ErrorBody, 404: ErrorBody };

/** Webhook triggers: a per-pipeline secret, and the signed endpoint that runs the pipeline. */
export const hookRoutes =
  (p: Platform): FastifyPluginAsync =>
  async (app) => {
    app.post(
      '/pipelines/:id/webhook',
      {
        config: { access: 'pipelines:write' },
        schema: {
          summary:
            "Generate the pipeline's webhook secret (replacing the old one); shown in this answer only",
          tags: ['pipelines'],
          params: IdParams,
          response: {
            200: Type.Object({
              secret: Type.String(),
              path: Type.String(),
              header: Type.String(),
              format: Type.String(),
            }),
            ...errors,
          },
        },
      },
      async (req) => rotateWebhookSecret(p, (req.params as { id: string }).id, actorOf(req)),
    );
    // The signature covers the exact bytes sent, so this route reads the body unparsed.
    await app.register(async (raw) => {
      raw.removeAllContentTypeParsers();
      raw.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
      raw.post(
        '/hooks/:id',
        {
          config: { access: 'public' },
          schema: {
            summary: 'Run a pipeline from a webhook: the body signed with HMAC-SHA256 in X-Sluice-Signature',
            tags: ['pipelines'],
            params: IdParams,
            response: { 202: Type.Object({ jobId: Type.String() }), ...errors },
          },
        },
        async (req, reply) => {
          const sig = req.headers[SIGNATURE_HEADER];
          const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
          const { address, userAgent } = actorOf(req);
          const jobId = await triggerWebhook(
            p,
            (req.params as { id: string }).id,
            body,
            typeof sig === 'string' ? sig : undefined,
            {
              address: address ?? null,
              userAgent: userAgent ?? null,
            },
          );
          return reply.status(202).send({ jobId });
        },
      );
    });
  };
