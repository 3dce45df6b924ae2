import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
} from 'cockatiel';
import type { Logger } from '../connector.ts';
import { CircuitOpenError, ErrorCode, type SluiceError, toSluiceError } from '../errors.ts';

/** A step's `retry.circuit`, in milliseconds. */
export interface CircuitSettings {
  /** Consecutive connection failures to one endpoint that open its circuit. @defaultValue 5 */
  failures: number;
  /** How long an open circuit fails fast before one connection attempt (the probe) may try. @defaultValue 30 s */
  halfOpenAfterMs: number;
}

export const CIRCUIT_DEFAULTS = { failures: 5, halfOpenAfterMs: 30_000 } as const satisfies CircuitSettings;

export type CircuitStateName = 'closed' | 'half-open' | 'open';

/** What a circuit's log lines carry in `meta`, so a host (the platform's worker) can follow its state. */
export interface CircuitMeta {
  circuit: string;
  state: CircuitStateName;
}

interface Circuit {
  policy: CircuitBreakerPolicy;
  settings: CircuitSettings;
  openedAt: number;
}

// One circuit per endpoint and process: every step of the process that connects to a host shares
// what the others learnt about it. The first step to connect sets the circuit's settings; a
// process that runs steps with different settings for one endpoint keeps the first ones until
// resetCircuits (a circuit that changed its mind per caller would never open).
const circuits = new Map<string, Circuit>();

// Only failures to reach the server count: a refused login or a missing database means the
// endpoint answers, and a circuit opened on them would hide the real error behind CIRCUIT_OPEN.
const isConnectionFailure = (e: unknown): boolean => {
  const s = toSluiceError(e);
  return s.code === ErrorCode.CONNECTION && s.retryable;
};

function circuitFor(endpoint: string, settings: CircuitSettings): Circuit {
  return circuits.get(endpoint) ?? create(endpoint, settings);
}

function create(endpoint: string, settings: CircuitSettings, saved?: SavedCircuit): Circuit {
  const policy = circuitBreaker(handleWhen(isConnectionFailure), {
    halfOpenAfter: settings.halfOpenAfterMs,
    breaker: new ConsecutiveBreaker(settings.failures),
    ...(saved ? { initialState: saved.state } : {}),
  });
  const created: Circuit = { policy, settings, openedAt: saved?.openedAt ?? 0 };
  policy.onBreak(() => {
    created.openedAt = Date.now();
  });
  circuits.set(endpoint, created);
  return created;
}

const NAMES: Record<CircuitState, CircuitStateName> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Open]: 'open',
  [CircuitState.Isolated]: 'open',
};

/** The state of every circuit of this process, by endpoint. */
export function circuitStates(): Record<string, CircuitStateName> {
  return Object.fromEntries([...circuits].map(([k, c]) => [k, NAMES[c.policy.state]]));
}

/** One circuit as it travels between processes: cockatiel's `toJSON()` and what it was built with. */
export interface SavedCircuit {
  settings: CircuitSettings;
  state: unknown;
  openedAt: number;
}

/**
 * This process's circuits, to hand to another process (importCircuits): how the platform's
 * worker keeps one set of circuits across the step processes it starts.
 */
export function exportCircuits(): Record<string, SavedCircuit> {
  return Object.fromEntries(
    [...circuits].map(([k, c]) => [
      k,
      { settings: c.settings, state: c.policy.toJSON(), openedAt: c.openedAt },
    ]),
  );
}

/** Replaces this process's circuits with saved ones (exportCircuits of this or another process). */
export function importCircuits(saved: Readonly<Record<string, SavedCircuit>>): void {
  circuits.clear();
  for (const [endpoint, c] of Object.entries(saved)) create(endpoint, c.settings, c);
}

/**
 * The state of a saved circuit at `now`: an open one whose wait is over reads `half-open` (the
 * next connection probes), as the process holding it would find it.
 */
export function savedState(c: SavedCircuit, now = Date.now()): CircuitStateName {
  const value = (c.state as { ownState?: { value?: CircuitState } }).ownState?.value;
  if (value === CircuitState.Closed) return 'closed';
  if (value === CircuitState.HalfOpen) return 'half-open';
  return now - c.openedAt >= c.settings.halfOpenAfterMs ? 'half-open' : 'open';
}

/** Forgets every circuit (tests; a host that wants a clean slate). */
export function resetCircuits(): void {
  circuits.clear();
}

export interface GuardOptions {
  settings: CircuitSettings | false;
  /** Where transitions are logged (the calling component's logger). */
  log: Logger;
  /** Prefix of the CIRCUIT_OPEN message: the component that connects. */
  where?: string;
}

/**
 * Runs `connect` through the circuit of `endpoint` (`host:port`). While the circuit is open it
 * throws CIRCUIT_OPEN at once, without calling `connect`; once `halfOpenAfterMs` has passed, one
 * call probes: its success closes the circuit, a connection failure opens it for another period.
 * CIRCUIT_OPEN is not retryable within the step (its retries would only meet the open circuit
 * again); the platform's job retry, later, may find it closed. Transitions are logged on `log`
 * with CircuitMeta.
 */
export async function guardConnect<T>(
  endpoint: string,
  connect: () => Promise<T>,
  opts: GuardOptions,
): Promise<T> {
  const { settings, log } = opts;
  if (settings === false) return connect();
  const c = circuitFor(endpoint, settings);
  const before = NAMES[c.policy.state];
  let called = false;
  try {
    return await c.policy.execute(() => {
      called = true;
      return connect();
    });
  } catch (err) {
    if (err instanceof BrokenCircuitError) throw openError(endpoint, c, opts.where);
    throw err;
  } finally {
    if (called) report(endpoint, c, before, log);
  }
}

function report(endpoint: string, c: Circuit, before: CircuitStateName, log: Logger): void {
  const after = NAMES[c.policy.state];
  const meta = (state: CircuitStateName): Record<string, unknown> =>
    ({ circuit: endpoint, state }) satisfies CircuitMeta;
  if (after === 'open' && before === 'closed')
    log.warn(
      `circuit to ${endpoint} opened after ${c.settings.failures} consecutive connection failures: ` +
        `connections to it fail fast with ${ErrorCode.CIRCUIT_OPEN} for ${c.settings.halfOpenAfterMs} ms, then one probe tries`,
      meta('open'),
    );
  else if (after === 'open')
    log.warn(
      `circuit to ${endpoint}: the probe failed; open again for ${c.settings.halfOpenAfterMs} ms`,
      meta('open'),
    );
  else if (after === 'closed' && before !== 'closed')
    log.warn(`circuit to ${endpoint} closed: the probe connected`, meta('closed'));
}

function openError(endpoint: string, c: Circuit, where: string | undefined): SluiceError {
  const probe = new Date(c.openedAt + c.settings.halfOpenAfterMs);
  return new CircuitOpenError(
    `${where ? `${where}: ` : ''}circuit to ${endpoint} is open after ${c.settings.failures} consecutive connection failures: ` +
      `not connecting until a probe at ${probe.toISOString()} (retry.circuit in the step sets the count and the wait)`,
    probe,
  );
}
