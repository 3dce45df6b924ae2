import { rabbitmqSink, rabbitmqSource } from '../src/index.ts';
import { AMQP_URL, drain, freshExchange, freshQueue, publish } from './amqp.ts';
import { sinkConformance, sourceConformance } from './conformance.ts';

// Against the RabbitMQ server on this machine: each case gets a queue (and exchange) of its own.
const SECRET = 'conformance-amqp-s3cret';
const sample = [
  { id: 1, name: 'Ana', note: 'tab\there' },
  { id: 2, name: 'Bruno', note: "it's" },
  { id: 3, name: 'Cé', note: null },
  { id: 4, name: 'Dora', note: 'new\nline' },
];

sourceConformance('rabbitmq', {
  def: rabbitmqSource,
  resumable: false,
  badConfig: { url: AMQP_URL, queue: 'q', prefetch: 0 },
  badPath: 'with.prefetch',
  secret: { secret: SECRET, config: () => ({ url: `amqp://guest:${SECRET}@127.0.0.1:5672`, queue: 'q' }) },
  sample,
  async setup(rows) {
    const queue = await freshQueue('src');
    await publish(queue, rows);
    // A bounded read for the suite: the queue holds the sample and nothing comes after it.
    return { url: AMQP_URL, queue, meta: false, stopAfter: { idleSeconds: 0.5 } };
  },
});

/** The queue bound to each exchange a sink case publishes to, where its messages are read back. */
const queues = new Map<string, string>();

sinkConformance('rabbitmq', {
  def: rabbitmqSink,
  badConfig: { url: AMQP_URL, format: 'xml' },
  badPath: 'with.format',
  resumable: true,
  secret: {
    secret: SECRET,
    config: () => ({ url: `amqp://guest:${SECRET}@127.0.0.1:5672`, routingKey: 'q' }),
  },
  sample,
  async setup() {
    const { exchange, queue } = await freshExchange('rows');
    queues.set(exchange, queue);
    return { url: AMQP_URL, exchange, routingKey: 'rows' };
  },
  readBack: async (config) =>
    (await drain(queues.get(config.exchange as string)!)).map((m) => JSON.parse(m.content.toString())),
});
