import { natsSink, natsSource } from '../src/index.ts';
import { sinkConformance, sourceConformance } from './conformance.ts';
import { freshStream, NATS_URL, publish, streamMessages } from './nats.ts';

// Against the NATS server with JetStream on this machine: each case gets a stream of its own.
const SECRET = 'conformance-nats-s3cret';
const sample = [
  { id: 1, name: 'Ana', note: 'tab\there' },
  { id: 2, name: 'Bruno', note: "it's" },
  { id: 3, name: 'Cé', note: null },
  { id: 4, name: 'Dora', note: 'new\nline' },
];

sourceConformance('nats', {
  def: natsSource,
  // The server keeps the consumer's place; a position names only what one run acknowledges.
  resumable: false,
  badConfig: { url: NATS_URL, stream: 's', consumer: 'c', deliverPolicy: 'first' },
  badPath: 'with.deliverPolicy',
  // A port nothing listens on: the password must not show in the refusal.
  secret: {
    secret: SECRET,
    config: () => ({ url: `nats://etl:${SECRET}@127.0.0.1:1`, stream: 's', consumer: 'c' }),
  },
  sample,
  async setup(rows) {
    const { stream, prefix } = await freshStream('src');
    await publish(`${prefix}.rows`, rows);
    // A bounded read for the suite: the stream holds the sample and nothing comes after it.
    return { url: NATS_URL, stream, consumer: 'conformance', meta: false, stopAfter: { idleSeconds: 0.5 } };
  },
});

/** The stream listening on each subject a sink case publishes to, where its messages are read back. */
const streams = new Map<string, string>();

sinkConformance('nats', {
  def: natsSink,
  badConfig: { url: NATS_URL, subject: 'x', format: 'xml' },
  badPath: 'with.format',
  resumable: true,
  secret: { secret: SECRET, config: () => ({ url: `nats://etl:${SECRET}@127.0.0.1:1`, subject: 'x' }) },
  sample,
  async setup() {
    const { stream, prefix } = await freshStream('sink');
    const subject = `${prefix}.rows`;
    streams.set(subject, stream);
    return { url: NATS_URL, subject };
  },
  readBack: async (config) =>
    (await streamMessages(streams.get(config.subject as string)!)).map((m) => JSON.parse(m.body)),
});
