import type { FastifyPluginAsync } from 'fastify';
import type { Platform } from '../../platform.ts';
import { allows } from '../../security/access.ts';
import { authenticate } from '../../services/auth.ts';

const CHANNEL = /^(job|pipeline):[0-9a-f-]{36}$|^global$/;

/**
 * `/api/v1/ws`: clients subscribe to `job:<id>`, `pipeline:<id>` or `global` and receive the
 * live messages of api-v1.md. The upgrade needs a token whose role may read jobs (auth-hook.ts);
 * each subscribe checks it again, so a connection outlives neither a disabled user, a role that
 * lost the right, nor its token's expiry.
 */
export const wsRoutes =
  (p: Platform): FastifyPluginAsync =>
  async (app) => {
    app.get(
      '/ws',
      {
        websocket: true,
        config: { access: 'jobs:read', tokenInQuery: true },
        schema: { summary: 'Live logs, status and progress (WebSocket)', tags: ['live'] },
      },
      (socket, req) => {
        const subs = new Map<string, () => void>();
        const reply = (m: unknown) => {
          if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(m));
        };
        socket.on('message', async (raw) => {
          let m: { type?: string; channel?: string };
          try {
            m = JSON.parse(String(raw));
          } catch {
            return reply({
              type: 'error',
              channel: null,
              payload: { message: 'messages are JSON objects' },
              timestamp: new Date().toISOString(),
            });
          }
          const channel = m.channel ?? '';
          if (!CHANNEL.test(channel)) {
            return reply({
              type: 'error',
              channel,
              payload: { message: `unknown channel "${channel}": use job:<id>, pipeline:<id> or global` },
              timestamp: new Date().toISOString(),
            });
          }
          if (m.type === 'subscribe' && !subs.has(channel)) {
            // Subscribed at once so no event between this message and the check is missed; a
            // failed check closes the socket, which drops every subscription.
            subs.set(channel, p.bus.subscribe(channel, reply));
            const who = await authenticate(p, req.bearer ?? '').catch(() => null);
            if (!who || !allows('jobs:read', who.role)) {
              reply({
                type: 'error',
                channel,
                payload: { message: 'the token is no longer valid for live events; sign in again' },
                timestamp: new Date().toISOString(),
              });
              socket.close(4401, 'unauthorized');
            }
          } else if (m.type === 'unsubscribe') {
            subs.get(channel)?.();
            subs.delete(channel);
          }
        });
        socket.on('close', () => {
          for (const off of subs.values()) off();
          subs.clear();
        });
      },
    );
  };
