import { createHash, randomUUID } from 'node:crypto';
import { ErrorCode, FatalError, type Json } from '@sluice/core';

/**
 * What the checkpoint of a sink that sends (requests, messages) keeps, so that a resumed run sends
 * the same units again under the same ids: a nonce drawn at the run's fresh start, and how many
 * units were sent before the checkpoint. A receiver that de-duplicates by id then applies each once.
 */
export interface SendState {
  nonce: string;
  sent: number;
}

export const freshSendState = (): SendState => ({ nonce: randomUUID(), sent: 0 });

/** The id of unit `seq` (from 0) of the run `nonce`: 32 hex characters, the same on every try. */
export function sendId(nonce: string, seq: number): string {
  return createHash('sha256').update(`${nonce}:${seq}`).digest('hex').slice(0, 32);
}

/** The SendState a checkpoint holds; a CHECKPOINT error naming `where` when it holds another shape. */
export function sendStateFrom(value: Json, where: string): SendState {
  const s = value as Partial<SendState> | null;
  if (
    s === null ||
    typeof s !== 'object' ||
    typeof s.nonce !== 'string' ||
    s.nonce === '' ||
    !Number.isInteger(s.sent) ||
    (s.sent as number) < 0
  )
    throw new FatalError(
      `${where}: the checkpoint to resume from is not one of this sink's (${JSON.stringify(value)})`,
      { code: ErrorCode.CHECKPOINT },
    );
  return { nonce: s.nonce, sent: s.sent as number };
}
