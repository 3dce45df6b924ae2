import { toSluiceError } from '@sluice/core';
import pc from 'picocolors';

/** Prints an error for a person: the message (with its issues) and, for internal errors, the stack. */
export function printError(err: unknown): void {
  const e = toSluiceError(err);
  process.stderr.write(`${pc.red('error')} ${pc.dim(`[${e.code}]`)} ${e.message}\n`);
  if (e.code === 'INTERNAL' && process.env.SLUICE_DEBUG && e.stack)
    process.stderr.write(`${pc.dim(e.stack)}\n`);
}
