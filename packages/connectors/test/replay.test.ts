import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry, type RunReport, replayQuarantine, runPipeline } from '@sluice/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinConnectors } from '../src/index.ts';

const registry = new Registry().register(...builtinConnectors);
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-replay-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
let n = 0;
const sub = (name: string) => join(dir, `${n++}-${name}`);

const spec = (o: {
  input: string;
  out: string;
  sink: string;
  amount: string;
  lenient?: boolean;
  every?: number;
}) => ({
  name: 'orders',
  steps: [
    {
      id: 'load',
      checkpointEvery: o.every ?? 1000,
      flow: [
        { source: 'csv', with: { path: o.input, lenientQuotes: o.lenient ?? false } },
        { transform: 'cast', with: { fields: { amount: o.amount } } },
        { sink: o.sink, with: { path: o.out } },
      ],
    },
  ],
});

const quarantine = async (state: string) =>
  (await readFile(join(state, 'steps', 'load', 'quarantine.ndjson'), 'utf8').catch(() => ''))
    .split('\n')
    .filter(Boolean)
    .map(
      (l) =>
        JSON.parse(l) as { component: string; reason: string; line: number; file?: string; raw?: string },
    );

const rowsOf = async (path: string, sink: string): Promise<Record<string, unknown>[]> => {
  const text = await readFile(path, 'utf8');
  if (sink === 'json') return JSON.parse(text);
  if (sink === 'ndjson')
    return text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  const [head, ...lines] = text.split('\n').filter(Boolean);
  const cols = head!.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v])));
};

const step = (r: RunReport) => r.steps.find((s) => s.id === 'load')!;

describe('replaying a run’s quarantine', () => {
  for (const sink of ['csv', 'ndjson', 'json']) {
    it(`sends rows fixed by a new cast into the ${sink} sink, after what the run wrote, and keeps the rest`, async () => {
      const input = sub('in.csv');
      const out = sub(`out.${sink}`);
      const stateDir = sub('state');
      await writeFile(input, 'id,amount\n1,10\n2,x\n3,30\n4,4.5\n5,y\n6,"6"z\n');
      const first = await runPipeline(spec({ input, out, sink, amount: 'integer' }), { registry, stateDir });
      expect(first.status).toBe('success');
      expect(step(first).rowsQuarantined).toBe(4);

      const fixed = spec({ input, out, sink, amount: 'number', lenient: true });
      const replay = await replayQuarantine(fixed, { registry, stateDir });
      expect(replay.status).toBe('success');
      const s = step(replay);
      // Row 4 (4.5) passes the new cast; 6 parses with lenientQuotes and then fails the cast ("6z").
      expect(s.replay).toMatchObject({ taken: 4, written: 1, quarantined: 3, filtered: 0, notReplayable: 0 });
      expect(s.integrity?.ok).toBe(true);
      const rows = await rowsOf(out, sink);
      expect(rows.map((r) => String(r.id))).toEqual(['1', '3', '4']);
      const open = await quarantine(stateDir);
      expect(open.map((e) => e.line).sort()).toEqual([3, 6, 7]);
      expect(open.every((e) => e.reason.includes('number'))).toBe(true);
      expect(open[0]!.file).toBe(input);
      expect(replay.quarantine.rows).toBe(3);

      // Nothing is taken twice: a second replay only tries the three still open, and adds nothing.
      const again = await replayQuarantine(fixed, { registry, stateDir });
      expect(step(again).replay).toMatchObject({ taken: 3, written: 0, quarantined: 3 });
      expect((await rowsOf(out, sink)).length).toBe(3);
      // Each replay keeps the entries it took.
      expect((await readdir(join(stateDir, 'steps', 'load', 'replayed'))).length).toBe(2);
    });
  }

  it('resumes an interrupted replay with no row lost or written twice', async () => {
    const input = sub('in.csv');
    const out = sub('out.json');
    const stateDir = sub('state');
    let text = 'id,amount\n';
    for (let i = 1; i <= 20; i++) text += `${i},${i % 2 === 0 ? `${i}.5` : i}\n`;
    await writeFile(input, text);
    const first = await runPipeline(spec({ input, out, sink: 'json', amount: 'integer', every: 3 }), {
      registry,
      stateDir,
    });
    expect(step(first).rowsQuarantined).toBe(10);
    const fixed = spec({ input, out, sink: 'json', amount: 'number', every: 3 });
    const abort = new AbortController();
    const cut = await replayQuarantine(fixed, {
      registry,
      stateDir,
      signal: abort.signal,
      // The first checkpoint (3 entries) is committed when progress is reported: stop there.
      onEvent: (e) => {
        if (e.type === 'progress') abort.abort();
      },
    });
    expect(cut.status).toBe('cancelled');
    // Still the run's file: the replay's rows are in `.partial` until the replay ends.
    expect((await rowsOf(out, 'json')).length).toBe(10);
    const resumed = await replayQuarantine(fixed, { registry, stateDir });
    expect(resumed.status).toBe('success');
    expect(step(resumed).resumedFromRow).toBe(3);
    expect(step(resumed).replay).toMatchObject({ taken: 10, written: 10, quarantined: 0 });
    const ids = (await rowsOf(out, 'json')).map((r) => Number(r.id)).sort((a, b) => a - b);
    expect(ids).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(await quarantine(stateDir)).toEqual([]);
    expect(resumed.quarantine).toEqual({ rows: 0, path: null });
  });

  it('refuses to continue an interrupted replay with a step of another shape, and says what to do', async () => {
    const input = sub('in.csv');
    const out = sub('out.ndjson');
    const stateDir = sub('state');
    await writeFile(input, 'id,amount\n1,x\n2,y\n3,z\n');
    await runPipeline(spec({ input, out, sink: 'ndjson', amount: 'integer', every: 1 }), {
      registry,
      stateDir,
    });
    const abort = new AbortController();
    const fixed = spec({ input, out, sink: 'ndjson', amount: 'number', every: 1 });
    const cut = await replayQuarantine(fixed, {
      registry,
      stateDir,
      signal: abort.signal,
      onEvent: (e) => {
        if (e.type === 'progress') abort.abort();
      },
    });
    expect(cut.status).toBe('cancelled');
    const reshaped = structuredClone(fixed);
    reshaped.steps[0]!.flow.splice(2, 0, { transform: 'select', with: { fields: ['id'] } } as never);
    const refused = await replayQuarantine(reshaped, { registry, stateDir });
    expect(refused.status).toBe('failed');
    expect(refused.error?.message).toMatch(/changed since its checkpoint.*An interrupted replay is in/);
    expect((await replayQuarantine(fixed, { registry, stateDir })).status).toBe('success');
  });

  it('fails, leaving the output as it was, when a sink cannot append', async () => {
    const input = sub('in.csv');
    const out = sub('out.csv');
    const stateDir = sub('state');
    await writeFile(input, 'id,amount\n1,10\n2,x\n');
    await runPipeline(spec({ input, out, sink: 'csv', amount: 'integer' }), { registry, stateDir });
    const before = await readFile(out, 'utf8');
    const noAppend = new Registry().register(
      ...builtinConnectors.map((d) =>
        d.kind === 'sink' && d.name === 'csv'
          ? {
              ...d,
              open: async (ctx: Parameters<typeof d.open>[0]) => {
                const { startAppend: _, ...w } = await d.open(ctx);
                return w;
              },
            }
          : d,
      ),
    );
    const replay = await replayQuarantine(spec({ input, out, sink: 'csv', amount: 'number' }), {
      registry: noAppend,
      stateDir,
    });
    expect(replay.status).toBe('failed');
    expect(replay.error?.message).toMatch(/cannot add rows to what it wrote/);
    expect(await readFile(out, 'utf8')).toBe(before);
    expect(await quarantine(stateDir)).toHaveLength(1);
  });

  it('refuses a step whose run did not succeed, and a run that does not exist', async () => {
    const input = sub('in.csv');
    const out = sub('out.csv');
    const stateDir = sub('state');
    await writeFile(input, 'id,amount\n1,x\n2,y\n');
    const run = await runPipeline(spec({ input, out, sink: 'csv', amount: 'integer' }), {
      registry,
      stateDir,
      maxQuarantine: 1,
    });
    expect(run.status).toBe('failed');
    const replay = await replayQuarantine(spec({ input, out, sink: 'csv', amount: 'number' }), {
      registry,
      stateDir,
    });
    expect(replay.status).toBe('failed');
    expect(replay.error?.message).toContain('did not succeed in the run');
    await expect(
      replayQuarantine(spec({ input, out, sink: 'csv', amount: 'number' }), {
        registry,
        stateDir: sub('none'),
      }),
    ).rejects.toThrow(/no run of pipeline "orders"/);
  });
});
