import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { circuitStates, Registry, resetCircuits, runPipeline } from '@sluice/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Api, send, startApi } from '../../test/http-api.ts';
import { builtinConnectors } from '../index.ts';

let dir: string;
let api: Api | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-http-circuit-'));
  resetCircuits();
});
afterEach(async () => {
  resetCircuits();
  await api?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Runs one http → ndjson step against an API that always answers `status`. */
async function runAgainst(status: number) {
  api = await startApi([{ id: 1 }], {
    intercept: (_, res) => {
      send(res, status, { error: 'down' }, { 'Retry-After': '0' });
      return true;
    },
  });
  const spec = {
    name: 'http-circuit',
    retry: { attempts: 1, circuit: { failures: 3, halfOpenAfter: '10s' } },
    flow: [
      {
        source: 'http',
        with: { url: `${api.url}/one`, retries: { attempts: 5, initialDelayMs: 1, maxDelayMs: 2 } },
      },
      { sink: 'ndjson', with: { path: join(dir, 'out.ndjson') } },
    ],
  };
  const registry = new Registry().register(...builtinConnectors);
  const report = await runPipeline(spec, { registry, baseDir: dir, stateDir: join(dir, 'state') });
  return { error: report.steps[0]!.error, requests: api.seen.length, endpoint: new URL(api.url).host };
}

describe('circuit breaker around an HTTP host', () => {
  it('a host failing with 5xx opens its circuit: the tries left fail fast without a request', async () => {
    const r = await runAgainst(503);
    expect(r.requests).toBe(3);
    expect(r.error?.code).toBe('CIRCUIT_OPEN');
    expect(circuitStates()[r.endpoint]).toBe('open');
  });

  it('429 (slow down) does not count against the host: every try is made, the circuit stays closed', async () => {
    const r = await runAgainst(429);
    expect(r.requests).toBe(5);
    expect(r.error?.code).toBe('RATE_LIMITED');
    expect(circuitStates()[r.endpoint]).toBe('closed');
  });
});
