import type { FastifyPluginAsync } from 'fastify';
import type { Platform } from '../../platform.ts';

const CHANNEL = /^(job|pipeline):[0-9a-f-]{36}$|^global$/;

/**
 * `/api/v1/ws`: clients subscribe to `job:<id>`, `pipeline:<id>` or `global` and receive the
 * live messages of api-v1.md. The security issue adds the token check and role filtering here.
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
      (socket) => {
        const subs = new Map<string, () => void>();
        const reply = (m: unknown) => {
          if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(m));
        };
        socket.on('message', (raw) => {
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
          if (m.type === 'subscribe' && !subs.has(channel))
            subs.set(channel, p.bus.subscribe(channel, reply));
          else if (m.type === 'unsubscribe') {
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
