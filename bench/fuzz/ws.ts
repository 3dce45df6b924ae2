/**
 * WebSocket frames for `/api/v1/ws`: valid subscriptions mutated, any JSON, any text, binary.
 * api-v1.md's contract: `{type: "subscribe" | "unsubscribe", channel}` and nothing else; every
 * other frame is answered with an `error` message, and none ends the connection or the server.
 */
import fc from 'fast-check';
import { hostileString, mutate, mutation, toJsonText } from './hostile.ts';

export type Frame = { text: string } | { binary: Buffer };

const CHANNEL = /^(job|pipeline):[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$|^global$/;

/** Whether api-v1.md calls the frame a subscription (then no answer is due, all else gets one error). */
export function isSubscription(f: Frame): boolean {
  if (!('text' in f)) return false;
  let m: unknown;
  try {
    m = JSON.parse(f.text);
  } catch {
    return false;
  }
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return false;
  const o = m as Record<string, unknown>;
  return (
    Object.keys(o).length === 2 &&
    (o.type === 'subscribe' || o.type === 'unsubscribe') &&
    typeof o.channel === 'string' &&
    o.channel.length <= 64 &&
    CHANNEL.test(o.channel)
  );
}

const channel = fc.oneof(
  fc.constant('global'),
  fc.uuid({ version: 4 }).map((id) => `job:${id}`),
  fc.uuid({ version: 4 }).map((id) => `pipeline:${id}`),
  hostileString,
);
const message = fc.record({ type: fc.constantFrom('subscribe', 'unsubscribe'), channel });

export const wsFrame: fc.Arbitrary<Frame> = fc.oneof(
  { weight: 3, arbitrary: message.map((m) => ({ text: JSON.stringify(m) })) },
  {
    weight: 4,
    arbitrary: fc
      .tuple(message, fc.array(mutation, { minLength: 1, maxLength: 2 }))
      .map(([m, ms]) => ({ text: toJsonText(mutate(m, ms)) })),
  },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => ({ text: JSON.stringify(v) })) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 50 }).map((text) => ({ text })) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      { text: 'null' },
      { text: '' },
      { text: '{"type":"subscribe","channel":"global"' },
      { text: `{"type":"subscribe","channel":"${'x'.repeat(100_000)}"}` },
      { text: `${'['.repeat(100_000)}${']'.repeat(100_000)}` },
      { text: '{"__proto__":{"type":"subscribe"},"channel":"global"}' },
    ),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => ({ binary: Buffer.from(b) })) },
);

/** A burst of frames one client sends before it reads the answers. */
export const wsFrames = fc.array(wsFrame, { minLength: 1, maxLength: 12 });
