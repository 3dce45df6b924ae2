import { ExponentialBackoff, halfJitterGenerator } from 'cockatiel';
import type { RetryPolicy } from '../plan.ts';

/**
 * The waits between a step's attempts: exponential backoff with "equal jitter" (AWS's name; cockatiel's
 * `halfJitterGenerator`). Retry n (from 0) waits a random time in [cap(n)/2, cap(n)), where
 * cap(n) = min(maxDelay, initialDelay · 2^n). As the cap doubles, each range starts where the one
 * before ended, so a retry never waits less than the one before could have (until the cap is
 * reached; from then on waits stay in [maxDelay/2, maxDelay)).
 *
 * Why not cockatiel's default, "decorrelated jitter": its wait is the difference of two points on
 * a randomised curve, so a long wait can be followed by a short one (1315 ms, then 101 ms, seen),
 * which reads as a bug in a log and sends the retry at a still-recovering server sooner. Full jitter
 * ([0, cap)) has the same fault. Equal jitter keeps half of each range random, enough to spread
 * many steps retrying the same server, and keeps the growth a user expects from "exponential".
 */
export function growingBackoff(initialDelayMs: number, maxDelayMs: number): ExponentialBackoff<number> {
  return new ExponentialBackoff({
    generator: halfJitterGenerator,
    initialDelay: initialDelayMs,
    maxDelay: maxDelayMs,
  });
}

/** A step's `retry` policy as waits: see growingBackoff. */
export const stepBackoff = (policy: Omit<RetryPolicy, 'circuit'>) =>
  growingBackoff(policy.initialDelayMs, policy.maxDelayMs);
