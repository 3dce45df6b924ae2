import {
  type Json,
  type QuarantineEntry,
  type Row,
  SOURCE_LINE,
  type SourceContext,
  type SourceDefinition,
} from '@sluice/core';
import { expect } from 'vitest';
import { validConfig } from '../../test/harness.ts';

/**
 * What the tests of a file source's partitions share: plan parts, read each, and check that
 * together they read exactly what one read does, and that a part resumes inside itself.
 */

export interface Read {
  rows: Row[];
  quarantined: QuarantineEntry[];
  positions: Json[];
  /** Rows per batch, to resume after any of them. */
  sizes: number[];
  origins: string[];
}

function context(
  dir: string,
  def: SourceDefinition,
  config: Record<string, unknown>,
  part?: Json,
  resumeFrom?: Json,
) {
  const quarantined: QuarantineEntry[] = [];
  const origins: string[] = [];
  const ctx: SourceContext<unknown> = {
    config: validConfig(def, config),
    signal: new AbortController().signal,
    stepId: 'load',
    componentId: `load.0:${def.name}`,
    baseDir: dir,
    params: {},
    log: { debug() {}, info() {}, warn() {}, error() {} },
    quarantine: (e) => quarantined.push(e),
    resumeFrom,
    state: { get: () => undefined, set: () => undefined },
    setOrigin: (o) => origins.push(o),
    ...(part === undefined ? {} : { part }),
  };
  return { ctx, quarantined, origins };
}

/** Reads `def` in `dir` with `config` (a part of it, resumed from a position). */
export async function read(
  dir: string,
  def: SourceDefinition,
  config: Record<string, unknown>,
  part?: Json,
  resumeFrom?: Json,
): Promise<Read> {
  const { ctx, quarantined, origins } = context(dir, def, config, part, resumeFrom);
  const out: Read = { rows: [], quarantined, positions: [], sizes: [], origins };
  for await (const b of def.read(ctx)) {
    out.rows.push(...b.rows);
    out.sizes.push(b.rows.length);
    out.positions.push(b.position ?? null);
  }
  return out;
}

/** The parts `def` cuts its input into. */
export async function plan(
  dir: string,
  def: SourceDefinition,
  config: Record<string, unknown>,
  n: number,
): Promise<Json[]> {
  const { ctx } = context(dir, def, config);
  return def.partitions!.plan(ctx, n);
}

// The data fields and the source line: what a sink gets and what the quarantine names.
const seen = (rows: Row[]) =>
  rows.map((r) => ({ ...Object.fromEntries(Object.entries(r)), line: r[SOURCE_LINE] }));

const sorted = <T>(xs: T[]) => xs.map((x) => JSON.stringify(x)).sort();

/**
 * Reads every part and checks the parts together read exactly what one read does: the same rows
 * and quarantine entries, none lost or doubled. Byte ranges, in part order, read them in the
 * whole read's order too; groups of files (`ordered: false`) each in their own.
 */
export async function expectPartsReadTheWhole(
  dir: string,
  def: SourceDefinition,
  config: Record<string, unknown>,
  parts: Json[],
  ordered = true,
) {
  const whole = await read(dir, def, config);
  const reads = [];
  for (const part of parts) reads.push(await read(dir, def, config, part));
  for (const r of reads) expect(r.rows.length + r.quarantined.length).toBeGreaterThan(0);
  const rows = seen(reads.flatMap((r) => r.rows));
  const quarantined = reads.flatMap((r) => r.quarantined);
  if (ordered) {
    expect(rows).toEqual(seen(whole.rows));
    expect(quarantined).toEqual(whole.quarantined);
  } else {
    expect(sorted(rows)).toEqual(sorted(seen(whole.rows)));
    expect(sorted(quarantined)).toEqual(sorted(whole.quarantined));
  }
  return { whole, reads };
}

/** Reads `part` again from the position after each of its batches: the rest, exactly. */
export async function expectResumesInside(
  dir: string,
  def: SourceDefinition,
  config: Record<string, unknown>,
  part: Json,
  r: Read,
) {
  let done = 0;
  for (let i = 0; i < r.positions.length - 1; i++) {
    done += r.sizes[i]!;
    if (i % 3 !== 1) continue;
    const again = await read(dir, def, config, part, r.positions[i]!);
    expect(seen(again.rows)).toEqual(seen(r.rows.slice(done)));
  }
}
