import { createHash } from 'node:crypto';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import websocket from '@fastify/websocket';
import { ErrorCode, SluiceError } from '@sluice/core';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyPluginAsync,
  LogController,
} from 'fastify';
import type { Platform } from '../platform.ts';
import { installAudit } from './audit-hook.ts';
import { installAuth } from './auth-hook.ts';
import { clientErrorHandler, frameworkErrors, installErrorHandlers } from './errors.ts';
import { alertRoutes } from './routes/alerts.ts';
import { authRoutes } from './routes/auth.ts';
import { backfillRoutes } from './routes/backfills.ts';
import { connectorRoutes } from './routes/connectors.ts';
import { credentialRoutes } from './routes/credentials.ts';
import { datasetRoutes } from './routes/datasets.ts';
import { healthRoutes } from './routes/health.ts';
import { hookRoutes } from './routes/hooks.ts';
import { jobRoutes } from './routes/jobs.ts';
import { outboundHookRoutes } from './routes/outbound-hooks.ts';
import { pipelineRoutes } from './routes/pipelines.ts';
import { quarantineRoutes } from './routes/quarantine.ts';
import { queueRoutes } from './routes/queue.ts';
import { scheduleRoutes } from './routes/schedules.ts';
import { userRoutes } from './routes/users.ts';
import { wsRoutes } from './routes/ws.ts';
import { findUi, serveUi } from './ui.ts';
import { installValidation } from './validation.ts';

export type App = FastifyInstance;

export interface AppOptions {
  logger?: boolean | Record<string, unknown>;
  /** More route plugins under /api/v1; each route must name its `config.access`. */
  routes?: FastifyPluginAsync[];
  /** Requests per minute per caller (token, else address) across the API. @defaultValue 1200 */
  rateLimit?: number;
  /** Origins allowed to call the API from a browser; none (CORS off) by default. */
  corsOrigins?: string[];
  /** The built UI to serve at `/`; found beside @sluice/ui when absent, none with false. */
  uiDir?: string | false;
  /** Serve HTTPS with this key and certificate (PEM). */
  https?: { key: Buffer; cert: Buffer };
}

// Per-caller key for the API rate limit: the bearer (hashed: keys live in memory) or the address.
const callerKey = (req: { headers: Record<string, unknown>; ip: string; query: unknown }) => {
  const h = req.headers.authorization ?? (req.query as { token?: unknown } | undefined)?.token;
  return typeof h === 'string' ? createHash('sha256').update(h).digest('base64url') : req.ip;
};

/**
 * The HTTP face of the platform: REST under /api/v1 with TypeBox schemas (validation and the
 * OpenAPI document from one source), the document at /api/v1/openapi.json and a browsable
 * reference at /docs, the live WebSocket, and /health and /ready.
 */
export async function buildApp(p: Platform, o: AppOptions = {}): Promise<App> {
  const app = Fastify({
    // The platform's pino logger, typed as Fastify's base logger so App stays the default instance type.
    ...(o.logger === undefined ? { loggerInstance: p.log as FastifyBaseLogger } : { logger: o.logger }),
    // One line per request at debug (SLUICE_LOG_LEVEL=debug), not two at info: a UI polls.
    logController: new LogController({ disableRequestLogging: true }),
    ...(o.https ? { https: o.https } : {}),
    frameworkErrors,
    clientErrorHandler,
  }).withTypeProvider<TypeBoxTypeProvider>();
  installErrorHandlers(app);
  installValidation(app);
  app.addHook('onResponse', async (req, reply) => {
    req.log.debug(
      {
        req: { method: req.method, url: req.url.split('?')[0] },
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'request',
    );
  });
  await app.register(helmet, {
    // The API answers JSON; only /docs renders a page (its own inline script and styles).
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'", "'unsafe-inline'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    hsts: o.https ? { maxAge: 15_552_000 } : false,
  });
  if (o.corsOrigins?.length) await app.register(cors, { origin: o.corsOrigins, credentials: false });
  await app.register(rateLimit, {
    max: o.rateLimit ?? 1200,
    timeWindow: '1 minute',
    keyGenerator: callerKey,
    // The UI's files and health checks are not API calls; a page load fetches many files.
    allowList: (req) => !req.url.startsWith('/api/') || req.url === '/health' || req.url === '/ready',
    errorResponseBuilder: (_req, ctx) =>
      new SluiceError(
        ErrorCode.RATE_LIMITED,
        `too many requests: at most ${ctx.max} a minute from one caller; retry in ${ctx.after}`,
      ),
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Sluice API',
        version: p.version,
        description: 'Pipelines, jobs, schedules and the dead-letter queue of a Sluice platform.',
      },
      servers: [{ url: '/' }],
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description: 'An access token from POST /api/v1/auth/login, or an API token (slu_…).',
          },
        },
      },
      security: [{ bearer: [] }],
    },
  });
  await app.register(websocket);
  await app.register(healthRoutes(p));
  await app.register(
    async (api) => {
      installAuth(api, p);
      installAudit(api, p);
      api.get('/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () =>
        app.swagger(),
      );
      await api.register(authRoutes(p));
      await api.register(userRoutes(p));
      await api.register(hookRoutes(p));
      await api.register(outboundHookRoutes(p));
      await api.register(connectorRoutes(p));
      await api.register(pipelineRoutes(p));
      await api.register(credentialRoutes(p));
      await api.register(jobRoutes(p));
      await api.register(quarantineRoutes(p));
      await api.register(datasetRoutes(p));
      await api.register(scheduleRoutes(p));
      await api.register(backfillRoutes(p));
      await api.register(queueRoutes(p));
      await api.register(wsRoutes(p));
      await api.register(alertRoutes(p));
      for (const r of o.routes ?? []) await api.register(r);
    },
    { prefix: '/api/v1' },
  );
  // Swagger UI's assets ship inside the package: the page works offline and shows only the API.
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { layout: 'BaseLayout', deepLinking: true, docExpansion: 'list', validatorUrl: null },
    theme: { title: 'Sluice API reference' },
  });
  await serveUi(app, o.uiDir === false ? null : (o.uiDir ?? findUi()));
  return app;
}
