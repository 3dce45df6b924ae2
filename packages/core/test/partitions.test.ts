import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import {
  addChecksums,
  type CheckpointMirror,
  type ConfigError,
  defineSink,
  defineSource,
  type Json,
  mergePartitionReports,
  planParts,
  type Row,
  resolvePlan,
  runPlanned,
  type StepReport,
} from '../src/index.ts';
import { jsonTableSink, testRegistry } from './helpers/connectors.ts';

// A source of rows {n} 1..rows that cuts itself into ranges: a part reads `from`..`to`, resumable.
const rangeSource = defineSource({
  name: 'range',
  version: '1.0.0',
  summary: 'Rows {n} from 1 to `rows`; cut into ranges for a partitioned step.',
  config: Type.Object({
    rows: Type.Integer({ minimum: 0 }),
    badEvery: Type.Optional(Type.Integer()),
    failAfter: Type.Optional(Type.Integer()),
  }),
  partitions: {
    plan: async (ctx, n) => {
      const size = Math.ceil(ctx.config.rows / n);
      const parts: Json[] = [];
      for (let from = 1; from <= ctx.config.rows; from += size)
        parts.push({ from, to: Math.min(ctx.config.rows, from + size - 1) });
      return parts;
    },
  },
  async *read(ctx) {
    const part = (ctx.part as { from: number; to: number } | undefined) ?? { from: 1, to: ctx.config.rows };
    let n = (ctx.resumeFrom as { n: number } | undefined)?.n ?? part.from - 1;
    while (n < part.to) {
      const rows: Row[] = [];
      const end = Math.min(part.to, n + 7);
      for (let i = n + 1; i <= end; i++) {
        if (ctx.config.failAfter !== undefined && i > ctx.config.failAfter)
          throw new Error(`crash at row ${i}`);
        if (ctx.config.badEvery && i % ctx.config.badEvery === 0)
          ctx.quarantine({ reason: `row ${i} is bad`, line: i });
        else rows.push({ n: i });
      }
      n = end;
      yield { rows, position: { n } };
    }
  },
});

// The JSON-table sink, declared able to take parts (each part writes its own file here).
const partSink = defineSink({ ...jsonTableSink, name: 'part-table', partitions: {} });
const registry = () => testRegistry().register(rangeSource, partSink);

const spec = (o: { out: string; failAfter?: number; partitions?: number }) => ({
  name: 'parts',
  steps: [
    {
      id: 'load',
      partitions: o.partitions ?? 3,
      checkpointEvery: 10,
      flow: [
        {
          source: 'range',
          with: { rows: 100, badEvery: 9, ...(o.failAfter ? { failAfter: o.failAfter } : {}) },
        },
        { sink: 'part-table', with: { path: o.out, verify: 'content' } },
      ],
    },
  ],
});

const tmp = () => mkdtempSync(join(tmpdir(), 'sluice-parts-'));
const rowsOf = (path: string) =>
  (JSON.parse(readFileSync(path, 'utf8')) as { rows: Row[] }).rows.map((r) => r.n);

async function runPart(
  dir: string,
  out: string,
  part: Json,
  index: number,
  o: { failAfter?: number; resume?: boolean; mirror?: CheckpointMirror } = {},
) {
  const plan = resolvePlan(spec({ out, ...(o.failAfter ? { failAfter: o.failAfter } : {}) }), {
    registry: registry(),
  });
  const report = await runPlanned(plan, {
    registry: registry(),
    steps: ['load'],
    stateDir: dir,
    runKey: `job.p${index}`,
    part,
    resume: o.resume ?? false,
    parallel: false,
    ...(o.mirror ? { checkpointMirror: o.mirror } : {}),
  });
  return report.steps[0]!;
}

describe('partitioned steps in the engine', () => {
  it('the parts of a step add up to the whole: counts, quarantine and the source checksum', async () => {
    const dir = tmp();
    const plan = resolvePlan(spec({ out: join(dir, 'whole.json') }), { registry: registry() });
    const parts = await planParts(plan, {
      registry: registry(),
      stepId: 'load',
      count: 3,
      signal: new AbortController().signal,
    });
    expect(parts).toEqual([
      { from: 1, to: 34 },
      { from: 35, to: 68 },
      { from: 69, to: 100 },
    ]);
    const whole = (
      await runPlanned(plan, { registry: registry(), stateDir: join(dir, 'whole'), parallel: false })
    ).steps[0]!;
    const reports: StepReport[] = [];
    for (const [i, part] of parts.entries())
      reports.push(await runPart(join(dir, `p${i}`), join(dir, `p${i}.json`), part, i));
    const merged = mergePartitionReports({ id: 'load', fanOut: false }, reports, 5);
    expect(merged).toMatchObject({
      status: 'success',
      rowsRead: 100,
      rowsWritten: 89,
      rowsQuarantined: 11,
      durationMs: 5,
    });
    expect(merged.integrity).toEqual({ ok: true, problems: [] });
    const source = (r: StepReport) => r.components.find((c) => c.kind === 'source')!;
    expect(source(merged).checksum).toBe(source(whole).checksum);
    expect(source(merged).checksum).toMatch(/^[0-9a-f]{16}$/);
    const all = [0, 1, 2].flatMap((i) => rowsOf(join(dir, `p${i}.json`)));
    expect(all.sort((a, b) => (a as number) - (b as number))).toEqual(rowsOf(join(dir, 'whole.json')));
    rmSync(dir, { recursive: true, force: true });
  });

  it('a failed part fails the merged step, which then proves nothing', () => {
    const ok = {
      id: 'load',
      kind: 'flow',
      status: 'success',
      attempts: 1,
      rowsRead: 2,
      rowsWritten: 2,
      rowsFiltered: 0,
      rowsQuarantined: 0,
      durationMs: 1,
      components: [],
    } as StepReport;
    const bad = { ...ok, status: 'failed', error: { code: 'INTERNAL', message: 'boom' } } as StepReport;
    const source = {
      id: 'load.0:range',
      connector: 'range',
      kind: 'source' as const,
      rowsIn: 2,
      rowsOut: 2,
      rowsQuarantined: 0,
      rowsFiltered: 0,
      durationMs: 1,
    };
    // The failed part never started its flow: it has no components; the other's are summed alone.
    const merged = mergePartitionReports(
      { id: 'load', fanOut: false },
      [{ ...ok, components: [source] }, bad],
      3,
    );
    expect(merged.components).toEqual([source]);
    expect(merged.status).toBe('failed');
    expect(merged.error?.message).toBe('boom');
    expect(merged.integrity).toBeUndefined();
  });

  it('adds checksums modulo 2^64', () => {
    expect(addChecksums(['ffffffffffffffff', '0000000000000002'])).toBe('0000000000000001');
    expect(addChecksums([])).toBe('0000000000000000');
  });

  it('a part resumes on another machine from its mirrored checkpoint: no row lost or doubled, its quarantine kept', async () => {
    const dir = tmp();
    const out = join(dir, 'p1.json');
    let kept: { file: Json; quarantine: string } | undefined;
    const mirror = (): CheckpointMirror => ({
      ...(kept ? { initial: kept } : {}),
      save: async (file, q) => {
        kept = { file, quarantine: (kept?.quarantine ?? '').slice(0, q.from) + q.text };
      },
    });
    const part = { from: 35, to: 68 };
    const first = await runPart(join(dir, 'machine-a'), out, part, 1, { failAfter: 60, mirror: mirror() });
    expect(first.status).toBe('failed');
    expect(kept).toBeDefined();
    rmSync(join(dir, 'machine-a'), { recursive: true, force: true }); // that machine is gone
    const second = await runPart(join(dir, 'machine-b'), out, part, 1, { resume: true, mirror: mirror() });
    expect(second.error).toBeUndefined();
    expect(second.status).toBe('success');
    expect(second.resumedFromRow).toBeGreaterThan(0);
    const rows = rowsOf(out);
    expect(rows).toEqual([...Array.from({ length: 34 }, (_, i) => i + 35)].filter((n) => n % 9 !== 0));
    const quarantine = readFileSync(join(dir, 'machine-b', 'quarantine.ndjson'), 'utf8')
      .trim()
      .split('\n');
    expect(quarantine.map((l) => JSON.parse(l).line)).toEqual([36, 45, 54, 63]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses what cannot run as parts, at the step’s partitions', () => {
    const doc = (flow: unknown[]) => ({ name: 'p', steps: [{ id: 's', partitions: 2, flow }] });
    const reg = registry();
    const issues = (d: unknown) => {
      try {
        resolvePlan(d, { registry: reg });
      } catch (err) {
        return (err as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
      }
      return [];
    };
    expect(
      issues(
        doc([
          { source: 'count', with: { rows: 1 } },
          { sink: 'part-table', with: { path: 'x' } },
        ]),
      ),
    ).toEqual([
      expect.stringMatching(
        /^steps\[0\]\.partitions: step "s": source count cannot cut its input into parts/,
      ),
    ]);
    expect(
      issues(
        doc([
          { source: 'range', with: { rows: 1 } },
          { transform: 'keep-even' },
          { sink: 'json-table', with: { path: 'x' } },
        ]),
      ),
    ).toEqual([
      expect.stringMatching(/^steps\[0\]\.partitions: step "s": transform keep-even .* row-by-row/),
      expect.stringMatching(
        /^steps\[0\]\.partitions: step "s": sink json-table .* cannot take rows from several partitions/,
      ),
    ]);
    expect(issues({ name: 'p', steps: [{ id: 't', partitions: 2, task: 'wait', with: {} }] })).toEqual([
      expect.stringMatching(/^steps\[0\]\.partitions: step "t": only a flow step can be cut into partitions/),
    ]);
  });
});
