import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '../connector.ts';
import { CircuitOpenError, ErrorCode, FatalError, RetryableError, type SluiceError } from '../errors.ts';
import {
  circuitStates,
  exportCircuits,
  guardConnect,
  importCircuits,
  resetCircuits,
  savedState,
} from './circuits.ts';

function recorder() {
  const lines: { message: string; meta?: Record<string, unknown> }[] = [];
  const at = (message: string, meta?: Record<string, unknown>) => lines.push({ message, meta });
  const log: Logger = { debug: at, info: at, warn: at, error: at };
  return { log, lines };
}

const refused = () => Promise.reject(new RetryableError('cannot connect: connection refused'));

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return (err as SluiceError).code;
  }
}

describe('guardConnect', () => {
  afterEach(resetCircuits);

  it('opens after N consecutive connection failures, then fails fast without connecting', async () => {
    const { log, lines } = recorder();
    const settings = { failures: 3, halfOpenAfterMs: 60_000 };
    let calls = 0;
    const connect = () => {
      calls++;
      return refused();
    };
    const codes: string[] = [];
    for (let i = 0; i < 5; i++)
      codes.push(await codeOf(guardConnect('db:5432', connect, { settings, log, where: 'load.0:postgres' })));
    expect(codes).toEqual([
      ErrorCode.CONNECTION,
      ErrorCode.CONNECTION,
      ErrorCode.CONNECTION,
      ErrorCode.CIRCUIT_OPEN,
      ErrorCode.CIRCUIT_OPEN,
    ]);
    expect(calls).toBe(3);
    expect(circuitStates()).toEqual({ 'db:5432': 'open' });
    expect(lines.map((l) => l.meta)).toEqual([{ circuit: 'db:5432', state: 'open' }]);
    const err = await guardConnect('db:5432', connect, { settings, log, where: 'load.0:postgres' }).catch(
      (e: SluiceError) => e,
    );
    expect(err).toBeInstanceOf(CircuitOpenError);
    expect((err as CircuitOpenError).retryAt.getTime()).toBeGreaterThan(Date.now() + 50_000);
    expect((err as SluiceError).retryable).toBe(false);
    expect((err as SluiceError).message).toMatch(
      /^load\.0:postgres: circuit to db:5432 is open after 3 consecutive connection failures: not connecting until a probe at \d{4}-/,
    );
  });

  it('lets one probe through after halfOpenAfter; its success closes the circuit', async () => {
    const { log, lines } = recorder();
    const settings = { failures: 2, halfOpenAfterMs: 30 };
    await codeOf(guardConnect('db:1', refused, { settings, log }));
    await codeOf(guardConnect('db:1', refused, { settings, log }));
    expect(await codeOf(guardConnect('db:1', refused, { settings, log }))).toBe(ErrorCode.CIRCUIT_OPEN);
    await sleep(40);
    // The probe fails: open for another period.
    expect(await codeOf(guardConnect('db:1', refused, { settings, log }))).toBe(ErrorCode.CONNECTION);
    expect(await codeOf(guardConnect('db:1', refused, { settings, log }))).toBe(ErrorCode.CIRCUIT_OPEN);
    await sleep(40);
    expect(await guardConnect('db:1', async () => 'connected', { settings, log })).toBe('connected');
    expect(circuitStates()).toEqual({ 'db:1': 'closed' });
    expect(lines.map((l) => l.meta?.state)).toEqual(['open', 'open', 'closed']);
  });

  it('counts only connection failures: a refused login means the endpoint answers', async () => {
    const { log } = recorder();
    const settings = { failures: 1, halfOpenAfterMs: 60_000 };
    const login = () =>
      Promise.reject(new FatalError('password authentication failed', { code: ErrorCode.CONNECTION }));
    expect(await codeOf(guardConnect('db:2', login, { settings, log }))).toBe(ErrorCode.CONNECTION);
    expect(await codeOf(guardConnect('db:2', login, { settings, log }))).toBe(ErrorCode.CONNECTION);
    expect(circuitStates()).toEqual({ 'db:2': 'closed' });
  });

  it('a success resets the count; endpoints have circuits of their own', async () => {
    const { log } = recorder();
    const settings = { failures: 2, halfOpenAfterMs: 60_000 };
    await codeOf(guardConnect('a:1', refused, { settings, log }));
    await guardConnect('a:1', async () => 1, { settings, log });
    await codeOf(guardConnect('a:1', refused, { settings, log }));
    await codeOf(guardConnect('b:1', refused, { settings, log }));
    expect(circuitStates()).toEqual({ 'a:1': 'closed', 'b:1': 'closed' });
  });

  it('settings false connects directly, with no circuit', async () => {
    const { log } = recorder();
    for (let i = 0; i < 3; i++)
      expect(await codeOf(guardConnect('c:1', refused, { settings: false, log }))).toBe(ErrorCode.CONNECTION);
    expect(circuitStates()).toEqual({});
  });

  it('travels between processes: an exported open circuit stays open where it is imported', async () => {
    const { log } = recorder();
    const settings = { failures: 1, halfOpenAfterMs: 30 };
    await codeOf(guardConnect('d:1', refused, { settings, log }));
    const saved = exportCircuits();
    expect(savedState(saved['d:1']!)).toBe('open');
    resetCircuits();
    importCircuits(JSON.parse(JSON.stringify(saved)));
    let calls = 0;
    const connect = async () => {
      calls++;
      return 'connected';
    };
    expect(await codeOf(guardConnect('d:1', connect, { settings, log }))).toBe(ErrorCode.CIRCUIT_OPEN);
    expect(calls).toBe(0);
    await sleep(40);
    expect(savedState(saved['d:1']!)).toBe('half-open');
    expect(await guardConnect('d:1', connect, { settings, log })).toBe('connected');
    expect(savedState(exportCircuits()['d:1']!)).toBe('closed');
  });
});
