import type { Row } from '@sluice/core';
import { afterAll } from 'vitest';
import { httpSink } from '../src/index.ts';
import { sinkConformance } from './conformance.ts';
import type { SecretCase } from './conformance-checks.ts';
import { cliSinkConformance } from './conformance-cli.ts';
import { type Api, rowsReceiver, startApi } from './http-api.ts';

// The http sink against a real HTTP API this test starts (node:http on port 0) that honours
// Idempotency-Key, as the APIs the sink is meant for do: what a killed run sent after its last
// checkpoint is sent again with the same keys, and taken once.

const apis: Api[] = [];
afterAll(async () => {
  await Promise.all(apis.map((a) => a.close()));
});

/** The rows each receiver took, by the URL the sink sends to. */
const received = new Map<string, Row[]>();
async function receiverUrl(): Promise<string> {
  const r = rowsReceiver();
  const a = await startApi([], { intercept: r.intercept });
  apis.push(a);
  const url = `${a.url}/rows`;
  received.set(url, r.rows);
  return url;
}
const readBack = async (config: Record<string, unknown>) => received.get(config.url as string) ?? [];

const sample = [
  { id: 1, name: 'Ana', note: 'tab\there' },
  { id: 2, name: 'Bruno', note: 'back\\slash' },
  { id: 3, name: 'Cé', note: null },
  { id: 4, name: 'Dora', note: 'new\nline' },
];

const SECRET = 'conformance-http-sink-B3arer';
const unreachableBearer: SecretCase = {
  secret: SECRET,
  config: () => ({
    url: 'http://127.0.0.1:1/rows',
    auth: { type: 'bearer', token: SECRET },
    retries: { attempts: 1, initialDelayMs: 0, maxDelayMs: 0 },
  }),
};

sinkConformance('http', {
  def: httpSink,
  badConfig: { url: 'http://127.0.0.1/rows', method: 'DELETE' },
  badPath: 'with.method',
  resumable: true,
  secret: unreachableBearer,
  sample,
  setup: async () => ({ url: await receiverUrl() }),
  readBack,
});

cliSinkConformance('http', 'http', {
  output: async () => ({ url: await receiverUrl() }),
  readBack,
  verify: 'count',
  resumable: true,
  secret: unreachableBearer,
});
