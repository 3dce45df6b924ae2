import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type ComponentContext, type Json, type Row, SOURCE_LINE, type SourceContext } from '../connector.ts';
import { toSluiceError } from '../errors.ts';
import type { PlannedFlow } from '../plan.ts';
import type { QuarantineRecord } from './quarantine.ts';

// How a quarantine replay reads its entries and where each goes back into its step (replay-step.ts).

/** Where an entry re-enters its step, or why it cannot. */
export type Target =
  | { at: 'source' }
  | { at: 'transform'; index: number; row: Row }
  | { at: 'sink'; index: number; row: Row }
  | { at: 'none'; why: string };

/** The step's open quarantine entries, or the replay in progress: is there anything to do? */
export async function hasReplayWork(stepDir: string): Promise<boolean> {
  const open = (await stat(join(stepDir, 'quarantine.ndjson')).catch(() => undefined))?.size ?? 0;
  return open > 0 || (await stat(join(stepDir, 'replay')).catch(() => undefined)) !== undefined;
}

/** The entries of a quarantine file; a line that is not an entry stays one, for the record. */
export function parseEntries(text: string): QuarantineRecord[] {
  const out: QuarantineRecord[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const rec = JSON.parse(line) as QuarantineRecord;
      if (rec && typeof rec === 'object' && typeof rec.component === 'string') {
        out.push(rec);
        continue;
      }
    } catch {
      // kept below as a raw entry no component can take
    }
    out.push({ step: '', component: '', reason: 'unreadable quarantine entry', raw: line, time: '' });
  }
  return out;
}

export function targetOf(step: PlannedFlow, rec: QuarantineRecord): Target {
  const target = entryOf(step, rec);
  // A transform that holds its whole input (an aggregation) made its output from the rows it had:
  // a row added later would need the whole input again, which only a new run of the step has.
  const from = target.at === 'source' ? 0 : target.at === 'transform' ? target.index : -1;
  const holder = from < 0 ? undefined : step.transforms.slice(from).find((t) => t.def.holdsInput === true);
  if (holder)
    return {
      at: 'none',
      why: `it would pass through ${holder.id}, which works on the whole input at once; run the step again instead`,
    };
  return target;
}

function entryOf(step: PlannedFlow, rec: QuarantineRecord): Target {
  const row =
    rec.row !== null && typeof rec.row === 'object' && !Array.isArray(rec.row) ? { ...rec.row } : undefined;
  // The row came back from JSON without its source line; quarantined again, it needs it.
  if (row && rec.line !== undefined) row[SOURCE_LINE] = rec.line;
  if (rec.component === step.source.id) {
    if (typeof rec.raw === 'string') return { at: 'source' };
    return { at: 'none', why: 'the source set it aside without its raw text, so it cannot be parsed again' };
  }
  const t = step.transforms.findIndex((c) => c.id === rec.component);
  if (t >= 0) return row ? { at: 'transform', index: t, row } : { at: 'none', why: 'the entry has no row' };
  const s = step.sinks.findIndex((c) => c.id === rec.component);
  if (s >= 0) return row ? { at: 'sink', index: s, row } : { at: 'none', why: 'the entry has no row' };
  const ids = [step.source, ...step.transforms, ...step.sinks].map((c) => c.id).join(', ');
  return {
    at: 'none',
    why: rec.component
      ? `step "${step.id}" has no component ${rec.component} any more (its components: ${ids})`
      : 'the line is not a quarantine entry',
  };
}

/**
 * Parses a source's raw record again with the source's current config, through its `chunked.parse`
 * (which parses any whole records from a given line and offset). What `parse` needs besides (the
 * CSV source's columns) comes from `chunked.split`, which reads the start of the input again.
 * Returns the rows, or why the record cannot be parsed again.
 */
export function reparser(
  step: PlannedFlow,
  ctx: ComponentContext<unknown>,
  signal: AbortSignal,
): (rec: QuarantineRecord) => Promise<Row[] | string> {
  const chunked = step.source.def.chunked;
  let shared: Promise<{ value: Json } | string> | undefined;
  const sharedValue = async (): Promise<{ value: Json } | string> => {
    if (!chunked) return `the ${step.source.def.name} source cannot parse a single record again`;
    const sourceCtx: SourceContext<unknown> = {
      ...ctx,
      quarantine: () => undefined,
      resumeFrom: undefined,
      state: { get: () => undefined, set: () => undefined },
      setOrigin: () => undefined,
    };
    try {
      const split = await chunked.split(sourceCtx, 0);
      return split
        ? { value: split.shared }
        : `the ${step.source.def.name} source cannot parse its input in parts (compressed?)`;
    } catch (err) {
      return `the source's input could not be read again: ${toSluiceError(err).message}`;
    }
  };
  return async (rec) => {
    shared ??= sharedValue();
    const s = await shared;
    if (typeof s === 'string') return s;
    signal.throwIfAborted();
    const raw = rec.raw!;
    const text = raw.endsWith('\n') ? raw : `${raw}\n`;
    const start = { offset: rec.offset ?? 0, line: rec.line ?? 1 };
    const rows: Row[] = [];
    for (const batch of chunked!.parse(ctx, Buffer.from(text), start, s.value)) rows.push(...batch);
    return rows;
  };
}
