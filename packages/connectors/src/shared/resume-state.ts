import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { compileRowValidator, ErrorCode, type Json, SluiceError } from '@sluice/core';

/** The fields positions and sink states are made of, with their bounds. */
export const Resume = {
  offset: Type.Integer({ minimum: 0 }),
  bytes: Type.Integer({ minimum: 0 }),
  rows: Type.Integer({ minimum: 0 }),
  index: Type.Integer({ minimum: 0 }),
  line: Type.Integer({ minimum: 1 }),
  columns: Type.Array(Type.String(), { minItems: 1 }),
};

/**
 * A checker for a source position or sink state read back from a checkpoint: a checkpoint file
 * edited by hand or written by another version must fail with a clear error, not resume wrongly.
 */
export function resumeState<S extends TSchema>(schema: S, owner: 'source' | 'sink') {
  // Compiled on first use: every connector module calls this on import, and compiling them all
  // cost ~30 ms of each run's start-up (measured), though only a resumed run needs one.
  let check: ((value: unknown) => string | null) | undefined;
  const expected = `{${Object.keys((schema as { properties?: object }).properties ?? {}).join(', ')}}`;
  return (value: Json, where: string): Static<S> => {
    check ??= compileRowValidator(schema);
    const problem = check(value);
    if (problem !== null) {
      throw new SluiceError(
        ErrorCode.CHECKPOINT,
        `${where}: cannot resume from ${JSON.stringify(value)} (${problem}): expected ${expected} as saved by ` +
          `this ${owner}. Run again without --resume (without resuming) to start over.`,
      );
    }
    return value as Static<S>;
  };
}
