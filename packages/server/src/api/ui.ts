import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** The built web UI (packages/ui/dist), when it is installed and built. */
export function findUi(): string | null {
  try {
    const pkg = createRequire(import.meta.url).resolve('@sluice/ui/package.json');
    const dist = join(dirname(pkg), 'dist');
    return existsSync(join(dist, 'index.html')) ? dist : null;
  } catch {
    return null;
  }
}

/**
 * Serves the UI at `/`: its files, and index.html for any other page path so links into the app
 * (/jobs/…) load it; the app's router takes over from there. API paths keep their JSON 404.
 */
export async function serveUi(app: FastifyInstance, dir: string | null): Promise<void> {
  if (!dir) {
    app.get('/', { schema: { hide: true } }, async (_req, reply) =>
      reply
        .type('text/html')
        .send(
          '<!doctype html><title>Sluice</title><p>The web UI is not built. Run <code>npm run build:ui</code> (npm install does it) and restart; the API is at <a href="/docs">/docs</a>.</p>',
        ),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/',
    wildcard: false,
    // Hashed assets never change; index.html must be revalidated to pick up a new build.
    setHeaders: (res, path) =>
      res.setHeader(
        'cache-control',
        path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
      ),
  });
  app.get('/*', { schema: { hide: true } }, async (req, reply) => {
    const path = req.url.split('?')[0]!;
    if (path.startsWith('/api/') || path.startsWith('/docs')) return reply.callNotFound();
    return reply.sendFile('index.html');
  });
}
