import { type CircuitStateName, type SavedCircuit, savedState } from '@sluice/core';

// The circuit breakers of this worker process. Circuits live in the process that connects, and
// each step runs in a step process that may end with it; so the worker hands every step process
// the circuits it knows (RunMessage.circuits) and takes back what the step left them in (a
// `circuits` message before the result). Steps running at once in two processes each start from
// the same book; the one that reports last wins, which at worst costs a circuit a few failures
// before it opens, or one extra probe.
const book = new Map<string, SavedCircuit>();

/** What a step process starts from. */
export function circuitsForStep(): Record<string, SavedCircuit> {
  return Object.fromEntries(book);
}

/** What a step process reports after its step. */
export function recordCircuits(saved: Readonly<Record<string, SavedCircuit>>): void {
  for (const [endpoint, c] of Object.entries(saved)) book.set(endpoint, c);
}

/** `/metrics`' view: each endpoint's state now (an open circuit past its wait reads half-open). */
export function circuitStatesNow(now = Date.now()): { endpoint: string; state: CircuitStateName }[] {
  return [...book].map(([endpoint, c]) => ({ endpoint, state: savedState(c, now) }));
}

/** Forgets every circuit (tests). */
export function clearCircuitBook(): void {
  book.clear();
}
