import { redisStreamSink, redisStreamSource } from '../src/index.ts';
import { sinkConformance, sourceConformance } from './conformance.ts';
import { addEntries, entries, freshStream, REDIS_URL } from './redis-stream.ts';

// Against the Redis server on this machine: each case gets a stream of its own. Redis here has no
// password, so a refused login is a user that does not exist.
const SECRET = 'conformance-redis-s3cret';
const sample = [
  { id: 1, name: 'Ana', note: 'tab\there' },
  { id: 2, name: 'Bruno', note: "it's" },
  { id: 3, name: 'Cé', note: null },
  { id: 4, name: 'Dora', note: 'new\nline' },
];

sourceConformance('redis-stream', {
  def: redisStreamSource,
  resumable: false,
  badConfig: { url: REDIS_URL, stream: 's', group: 'g', maxPending: 0 },
  badPath: 'with.maxPending',
  secret: {
    secret: SECRET,
    config: () => ({ url: `redis://sluice:${SECRET}@127.0.0.1:6379/0`, stream: 's', group: 'g' }),
  },
  sample,
  async setup(rows) {
    const stream = freshStream('src');
    await addEntries(stream, rows);
    // A bounded read for the suite: the stream holds the sample and nothing comes after it.
    return { url: REDIS_URL, stream, group: 'g', meta: false, stopAfter: { idleSeconds: 0.5 } };
  },
});

sinkConformance('redis-stream', {
  def: redisStreamSink,
  badConfig: { url: REDIS_URL, stream: 's', maxLen: 0 },
  badPath: 'with.maxLen',
  resumable: true,
  secret: {
    secret: SECRET,
    config: () => ({ url: `redis://sluice:${SECRET}@127.0.0.1:6379/0`, stream: 's' }),
  },
  sample,
  setup: async () => ({ url: REDIS_URL, stream: freshStream('sink') }),
  readBack: async (config) => (await entries(config.stream as string)).map((e) => JSON.parse(e.fields.data!)),
});
