import { type Static, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { FastifyPluginAsync } from 'fastify';
import type { Platform } from '../../platform.ts';
import { allows } from '../../security/access.ts';
import { authenticate } from '../../services/auth.ts';

const CHANNEL = '^(job|pipeline):[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$|^global$';

/** One connection follows a job page's worth of channels, not the whole platform one by one. */
const MAX_SUBSCRIPTIONS = 100;

/** What a client may send (api-v1.md); anything else is answered with an `error` message. */
const ClientMessage = Type.Object(
  {
    type: Type.Union([Type.Literal('subscribe'), Type.Literal('unsubscribe')]),
    channel: Type.String({ maxLength: 64, pattern: CHANNEL }),
  },
  { additionalProperties: false },
);
const checkMessage = TypeCompiler.Compile(ClientMessage);

/** The client's message, or why it is not one. */
export function parseClientMessage(text: string): Static<typeof ClientMessage> | string {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    return 'messages are JSON objects: {"type": "subscribe" | "unsubscribe", "channel": "…"}';
  }
  if (checkMessage.Check(m)) return m;
  const o = (typeof m === 'object' && m !== null && !Array.isArray(m) ? m : {}) as Record<string, unknown>;
  if (o.type !== 'subscribe' && o.type !== 'unsubscribe')
    return 'a message has "type": "subscribe" or "unsubscribe", and a "channel"';
  if (typeof o.channel !== 'string') return '"channel" must be a string: job:<id>, pipeline:<id> or global';
  if (Object.keys(o).some((k) => k !== 'type' && k !== 'channel'))
    return 'a message has only "type" and "channel"';
  return `unknown channel ${JSON.stringify(o.channel.slice(0, 64))}: use job:<id>, pipeline:<id> or global`;
}

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
        const error = (channel: string | null, message: string) =>
          reply({ type: 'error', channel, payload: { message }, timestamp: new Date().toISOString() });
        const subscribe = async (channel: string) => {
          // Subscribed at once so no event between this message and the check is missed; a
          // failed check closes the socket, which drops every subscription.
          subs.set(channel, p.bus.subscribe(channel, reply));
          const who = await authenticate(p, req.bearer ?? '').catch(() => null);
          if (!who || !allows('jobs:read', who.role)) {
            error(channel, 'the token is no longer valid for live events; sign in again');
            socket.close(4401, 'unauthorized');
          }
        };
        const handle = (raw: unknown, binary: boolean) => {
          const m = binary ? null : parseClientMessage(String(raw));
          if (typeof m === 'string' || m === null) return error(null, m ?? 'messages are JSON text frames');
          if (m.type === 'unsubscribe') {
            subs.get(m.channel)?.();
            subs.delete(m.channel);
          } else if (!subs.has(m.channel)) {
            if (subs.size >= MAX_SUBSCRIPTIONS)
              return error(
                m.channel,
                `at most ${MAX_SUBSCRIPTIONS} channels per connection: unsubscribe first`,
              );
            subscribe(m.channel).catch((err) => {
              req.log.error({ err }, 'live events: subscribe failed');
              error(m.channel, 'the subscription failed; try again');
            });
          }
        };
        // No client message may end the process: whatever fails is answered and logged.
        socket.on('message', (raw, binary) => {
          try {
            handle(raw, binary);
          } catch (err) {
            req.log.error({ err }, 'live events: a client message failed');
            error(null, 'the message could not be handled');
          }
        });
        socket.on('close', () => {
          for (const off of subs.values()) off();
          subs.clear();
        });
      },
    );
  };
