import { expect, it } from 'vitest';
import { ConfigError, MAX_ISSUES, normalizeSpec } from '../../src/index.ts';

// Issue 13 (fuzzing): a step needing 200,000 steps answered a 22 MB error after 5 s, one issue
// per element, in the message and in the details; with all distinct names the spread of the
// issues overflowed the stack. An error lists at most MAX_ISSUES problems and counts the rest.
const spec = (needs: string[]) => ({
  name: 'n',
  steps: [{ id: 'a', task: 'shell', with: { command: ['true'] }, needs }],
});

function refusal(doc: unknown): ConfigError {
  try {
    normalizeSpec(doc);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('accepted');
}

it('says once that a need is listed twice', () => {
  const e = refusal(spec(Array(200_000).fill('0')));
  expect(e.issues).toEqual([
    {
      path: 'steps[0].needs',
      message: expect.stringMatching(/^must not list an item twice \(\[\d+\] and \[\d+\]/),
    },
  ]);
});

it('lists the first problems and counts the others', () => {
  const e = refusal(spec(Array.from({ length: 200_000 }, (_, i) => `x${i}`)));
  expect(e.issues).toHaveLength(MAX_ISSUES + 1);
  expect(e.issues[0]).toEqual({ path: 'steps[0].needs[0]', message: 'unknown step "x0" (steps: a)' });
  expect(e.issues.at(-1)!.message).toBe(
    `and ${200_000 - MAX_ISSUES} more problems, not listed (fix these first)`,
  );
  expect(e.message.length).toBeLessThan(10_000);
});
