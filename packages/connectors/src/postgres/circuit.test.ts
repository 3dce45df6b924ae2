import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SluiceError } from '@sluice/core';
import {
  circuitStates,
  planPipeline,
  Registry,
  type RunEvent,
  resetCircuits,
  runPipeline,
} from '@sluice/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { builtinConnectors } from '../index.ts';

// No PostgreSQL needed: the point is a port that refuses connections.
async function refusingPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-circuit-'));
  resetCircuits();
});
afterEach(async () => {
  resetCircuits();
  await rm(dir, { recursive: true, force: true });
});

describe('circuit breaker around PostgreSQL connections', () => {
  it('opens after N refused connections, fails the next steps fast with CIRCUIT_OPEN, probes after halfOpenAfter', async () => {
    const port = await refusingPort();
    const endpoint = `127.0.0.1:${port}`;
    const spec = {
      name: 'circuit',
      retry: {
        attempts: 2,
        backoff: { initial: 1, max: 2 },
        circuit: { failures: 3, halfOpenAfter: '300ms' },
      },
      flow: [
        { source: 'postgres', with: { url: `postgres://u@${endpoint}/db`, table: 't' } },
        { sink: 'ndjson', with: { path: join(dir, 'out.ndjson') } },
      ],
    };
    const registry = new Registry().register(...builtinConnectors);
    const events: RunEvent[] = [];
    let retryAt: string | undefined;
    const run = async () => {
      const report = await runPipeline(spec, {
        registry,
        baseDir: dir,
        stateDir: join(dir, 'state'),
        onEvent: (e) => events.push(e),
      });
      const step = report.steps[0]!;
      retryAt = step.error?.retryAt;
      return { code: step.error?.code, attempts: step.attempts };
    };
    const circuitLog = () =>
      events.flatMap((e) => (e.type === 'log' && e.meta?.circuit === endpoint ? [e.meta.state] : []));

    // Two attempts, both refused: 2 of the 3 failures that open the circuit.
    expect(await run()).toEqual({ code: 'CONNECTION_FAILED', attempts: 2 });
    expect(circuitStates()[endpoint]).toBe('closed');
    // The third refusal opens it; the step's second attempt then fails fast instead of connecting.
    expect(await run()).toEqual({ code: 'CIRCUIT_OPEN', attempts: 2 });
    expect(circuitStates()[endpoint]).toBe('open');
    expect(circuitLog()).toEqual(['open']);
    // The report says when the circuit will let a probe through: the platform's job retry waits for it.
    expect(Date.parse(retryAt!)).toBeGreaterThan(Date.now());
    expect(Date.parse(retryAt!)).toBeLessThanOrEqual(Date.now() + 300);
    // While open, a step fails at its first attempt: CIRCUIT_OPEN is not retried within the step.
    expect(await run()).toEqual({ code: 'CIRCUIT_OPEN', attempts: 1 });
    const failed = events.filter((e) => e.type === 'step' && e.status === 'failed').at(-1);
    expect(failed?.type === 'step' && failed.error?.message).toMatch(
      new RegExp(
        `^main\\.0:postgres: circuit to ${endpoint} is open after 3 consecutive connection failures`,
      ),
    );
    expect(circuitLog()).toEqual(['open']);

    await sleep(350);
    // Past halfOpenAfter one attempt probes (connects, refused again); the circuit opens once more.
    expect(await run()).toEqual({ code: 'CIRCUIT_OPEN', attempts: 2 });
    expect(circuitLog()).toEqual(['open', 'open']);
    const probe = events.filter((e) => e.type === 'log' && e.meta?.circuit === endpoint).at(-1);
    expect(probe?.type === 'log' && probe.message).toMatch(/the probe failed/);
  });

  it('retry.circuit: false never opens a circuit', async () => {
    const port = await refusingPort();
    const spec = {
      name: 'no-circuit',
      retry: { attempts: 4, backoff: { initial: 1, max: 2 }, circuit: false },
      flow: [
        { source: 'postgres', with: { url: `postgres://u@127.0.0.1:${port}/db`, table: 't' } },
        { sink: 'ndjson', with: { path: join(dir, 'out.ndjson') } },
      ],
    };
    const registry = new Registry().register(...builtinConnectors);
    const report = await runPipeline(spec, { registry, baseDir: dir, stateDir: join(dir, 'state') });
    expect(report.steps[0]).toMatchObject({ attempts: 4, error: { code: 'CONNECTION_FAILED' } });
    expect(circuitStates()).toEqual({});
  });

  it('plans the defaults and refuses bad settings at their paths', () => {
    const registry = new Registry().register(...builtinConnectors);
    const step = (retry?: unknown) => ({
      id: 's',
      ...(retry === undefined ? {} : { retry }),
      flow: [
        { source: 'postgres', with: { url: 'postgres://u@h:5432/db', table: 't' } },
        { sink: 'ndjson', with: { path: 'out.ndjson' } },
      ],
    });
    const plan = planPipeline({ name: 'p', steps: [step()] }, { registry, env: {} });
    expect(plan.steps[0]!.retry.circuit).toEqual({ failures: 5, halfOpenAfterMs: 30_000 });
    const bad = (retry: unknown) => {
      try {
        planPipeline({ name: 'p', steps: [step(retry)] }, { registry, env: {} });
        return [];
      } catch (err) {
        return (err as SluiceError).issues.map((i) => i.path);
      }
    };
    expect(bad({ attempts: 3, circuit: { failures: 0 } })).toContain('steps[0].retry.circuit.failures');
    expect(bad({ attempts: 3, circuit: { halfOpenAfter: '0s' } })).toEqual([
      'steps[0].retry.circuit.halfOpenAfter',
    ]);
    expect(bad({ attempts: 3, circuit: { after: 3 } }).length).toBeGreaterThan(0);
  });
});
