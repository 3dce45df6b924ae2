import { randomUUID } from 'node:crypto';
import amqp, { type ChannelModel } from 'amqplib';
import { atFileEnd } from './file-end.ts';

/** The RabbitMQ server the tests use (`.ci/run` requires it). */
export const AMQP_URL = process.env.SLUICE_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

let admin: ChannelModel | undefined;
const made: { queues: string[]; exchanges: string[] } = { queues: [], exchanges: [] };

async function conn(): Promise<ChannelModel> {
  if (admin === undefined) {
    admin = await amqp.connect(AMQP_URL);
    atFileEnd(cleanUp);
  }
  return admin;
}

/** Runs `f` on a fresh channel of the test's own connection, closing the channel after. */
export async function onChannel<T>(f: (ch: amqp.Channel) => Promise<T>): Promise<T> {
  const ch = await (await conn()).createChannel();
  try {
    return await f(ch);
  } finally {
    await ch.close().catch(() => undefined);
  }
}

/** A durable queue of its own for one test, deleted when the file's tests end. */
export async function freshQueue(tag = 'q'): Promise<string> {
  const name = `sluice-test-${tag}-${randomUUID().slice(0, 8)}`;
  made.queues.push(name);
  await onChannel((ch) => ch.assertQueue(name, { durable: true }));
  return name;
}

/** A direct exchange bound to a fresh queue with `key`; returns both names. */
export async function freshExchange(key: string): Promise<{ exchange: string; queue: string }> {
  const exchange = `sluice-test-x-${randomUUID().slice(0, 8)}`;
  made.exchanges.push(exchange);
  const queue = await freshQueue('bound');
  await onChannel(async (ch) => {
    await ch.assertExchange(exchange, 'direct', { durable: true });
    await ch.bindQueue(queue, exchange, key);
  });
  return { exchange, queue };
}

/** Publishes each body (objects as JSON) persistently to `queue`, confirmed. */
export async function publish(
  queue: string,
  bodies: (object | string | Buffer)[],
  ids = true,
): Promise<void> {
  const ch = await (await conn()).createConfirmChannel();
  try {
    bodies.forEach((b, i) => {
      const content = Buffer.isBuffer(b) ? b : Buffer.from(typeof b === 'string' ? b : JSON.stringify(b));
      ch.sendToQueue(queue, content, { persistent: true, ...(ids ? { messageId: `m-${i + 1}` } : {}) });
    });
    await ch.waitForConfirms();
  } finally {
    await ch.close();
  }
}

/** Messages ready in `queue` (not delivered, or delivered and given back). */
export const queueDepth = (queue: string): Promise<number> =>
  onChannel(async (ch) => (await ch.checkQueue(queue)).messageCount);

/** Takes every ready message off `queue`: its body and properties. */
export async function drain(queue: string): Promise<amqp.GetMessage[]> {
  return onChannel(async (ch) => {
    const out: amqp.GetMessage[] = [];
    for (;;) {
      const m = await ch.get(queue, { noAck: true });
      if (m === false) return out;
      out.push(m);
    }
  });
}

/** Deletes what the file's tests made and closes the connection (the next file opens its own). */
async function cleanUp(): Promise<void> {
  if (admin === undefined) return;
  await onChannel(async (ch) => {
    for (const q of made.queues.splice(0)) await ch.deleteQueue(q).catch(() => undefined);
  });
  await onChannel(async (ch) => {
    for (const x of made.exchanges.splice(0)) await ch.deleteExchange(x).catch(() => undefined);
  });
  const closing = admin;
  admin = undefined;
  await closing.close();
}
