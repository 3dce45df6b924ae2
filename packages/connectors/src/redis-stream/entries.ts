import type { Row } from '@sluice/core';
import { bodyRow, type MessageMeta } from '../shared/stream-options.ts';

/** A stream entry as the source reads it (blob strings mapped to Buffers, so bytes stay bytes). */
export interface Entry {
  id: string;
  /** Null when the entry was deleted (trimmed) while pending. */
  fields: Record<string, Buffer> | null;
  /** Read from this consumer's pending entries or claimed from another's: delivered before. */
  redelivered: boolean;
}

export type EntryFormat = 'json' | 'text' | 'bytes' | 'fields';

/** The milliseconds part of a stream entry id (`1718000000000-0`) as ISO 8601. */
export function idTime(id: string): string | null {
  const ms = Number(id.slice(0, id.indexOf('-')));
  return Number.isSafeInteger(ms) && ms > 0 ? new Date(ms).toISOString() : null;
}

/**
 * The row of an entry, or why it has none (the caller quarantines it, with `raw`): with `fields`
 * every field of the entry as text; otherwise the field named `field` holds the body.
 */
export function entryRow(
  e: Entry & { fields: Record<string, Buffer> },
  o: { format: EntryFormat; meta: boolean; field: string },
  stream: string,
): { row: Row } | { reason: string; raw: string } {
  const meta: MessageMeta = {
    id: e.id,
    subject: stream,
    timestamp: idTime(e.id),
    redelivered: e.redelivered,
    headers: {},
  };
  if (o.format === 'fields') {
    const row: Row = {};
    for (const [k, v] of Object.entries(e.fields)) row[k] = v.toString('utf8');
    if (o.meta) row._meta = meta;
    return { row };
  }
  const body = e.fields[o.field];
  if (body === undefined)
    return {
      reason: `the entry has no field "${o.field}" (it has ${Object.keys(e.fields)
        .map((k) => `"${k}"`)
        .join(', ')}); set field, or use format: fields`,
      raw: JSON.stringify(
        Object.fromEntries(Object.entries(e.fields).map(([k, v]) => [k, v.toString('utf8')])),
      ),
    };
  const made = bodyRow(body, { format: o.format, meta: o.meta }, meta);
  return 'row' in made ? made : { reason: made.reason, raw: body.subarray(0, 4096).toString('utf8') };
}
