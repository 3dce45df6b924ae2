import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import websocket from '@fastify/websocket';
import scalar from '@scalar/fastify-api-reference';
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { Platform } from '../platform.ts';
import { installErrorHandlers } from './errors.ts';
import { connectorRoutes } from './routes/connectors.ts';
import { credentialRoutes } from './routes/credentials.ts';
import { healthRoutes } from './routes/health.ts';
import { jobRoutes } from './routes/jobs.ts';
import { pipelineRoutes } from './routes/pipelines.ts';
import { queueRoutes } from './routes/queue.ts';
import { scheduleRoutes } from './routes/schedules.ts';
import { wsRoutes } from './routes/ws.ts';

export type App = FastifyInstance;

export interface AppOptions {
  logger?: boolean | Record<string, unknown>;
  /** More route plugins under /api/v1 (the next issues add auth, users, audit). */
  routes?: FastifyPluginAsync[];
}

/**
 * The HTTP face of the platform: REST under /api/v1 with TypeBox schemas (validation and the
 * OpenAPI document from one source), the document at /api/v1/openapi.json and a browsable
 * reference at /docs, the live WebSocket, and /health and /ready.
 */
export async function buildApp(p: Platform, o: AppOptions = {}): Promise<App> {
  const app = Fastify({
    logger: o.logger ?? false,
    ajv: {
      customOptions: { coerceTypes: 'array', removeAdditional: false, useDefaults: true, allErrors: true },
    },
  }).withTypeProvider<TypeBoxTypeProvider>();
  installErrorHandlers(app);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Sluice API',
        version: p.version,
        description: 'Pipelines, jobs, schedules and the dead-letter queue of a Sluice platform.',
      },
      servers: [{ url: '/' }],
    },
  });
  await app.register(websocket);
  await app.register(healthRoutes(p));
  await app.register(
    async (api) => {
      api.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
      await api.register(connectorRoutes(p));
      await api.register(pipelineRoutes(p));
      await api.register(credentialRoutes(p));
      await api.register(jobRoutes(p));
      await api.register(scheduleRoutes(p));
      await api.register(queueRoutes(p));
      await api.register(wsRoutes(p));
      for (const r of o.routes ?? []) await api.register(r);
    },
    { prefix: '/api/v1' },
  );
  await app.register(scalar, { routePrefix: '/docs', configuration: { url: '/api/v1/openapi.json' } });
  return app;
}
