import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, type DatasetMeta, planPipeline, runPipeline } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { createRegistry } from '../registry.ts';

const registry = createRegistry();
const tmp = () => mkdtempSync(join(tmpdir(), 'sluice-dataset-'));

/** extract writes `orders`; load reads it into an NDJSON file. */
function twoSteps(extra: object[] = []) {
  return {
    name: 'handoff',
    retry: { attempts: 1 },
    steps: [
      {
        id: 'extract',
        flow: [
          { source: 'ndjson', with: { path: 'in.ndjson' } },
          { transform: 'filter', with: { where: 'row.qty > 0' } },
          { sink: 'dataset', with: { name: 'orders', schema: { day: 'date' } } },
        ],
      },
      {
        id: 'load',
        needs: ['extract'],
        flow: [
          { source: 'dataset', with: { name: 'orders', batchSize: 2 } },
          { sink: 'ndjson', with: { path: 'out.ndjson' } },
        ],
      },
      ...extra,
    ],
  };
}

function input(dir: string): void {
  const rows = [
    { id: 1, qty: 2, day: '2026-01-02', note: 'a' },
    { id: 2, qty: 0, day: '2026-01-03', note: 'b' },
    { id: 3, qty: 5, day: '2026-01-04', note: null },
    { id: 4, qty: 1, day: '2026-01-05', note: 'd' },
  ];
  writeFileSync(join(dir, 'in.ndjson'), rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
}

const issuesOf = (doc: unknown) => {
  try {
    planPipeline(doc, { registry });
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  return [];
};

describe('datasets between steps', () => {
  it('hands a flow’s rows to a later step, typed, with rows and checksum recorded and checked', async () => {
    const dir = tmp();
    input(dir);
    const stateDir = join(dir, 'state');
    const report = await runPipeline(twoSteps(), { registry, baseDir: dir, stateDir, parallel: false });
    expect(report.status, JSON.stringify(report.error ?? report.steps.map((s) => s.error))).toBe('success');
    const [extract, load] = report.steps;
    expect(extract).toMatchObject({ rowsRead: 4, rowsWritten: 3, rowsFiltered: 1 });
    expect(load).toMatchObject({ rowsRead: 3, rowsWritten: 3 });
    // Balanced across the steps: the rows the reader read are the rows the writer wrote.
    expect(report.integrity).toMatchObject({
      ok: true,
      datasets: [
        { name: 'orders', writer: 'extract', rowsWritten: 3, readers: [{ step: 'load', rowsRead: 3 }] },
      ],
    });
    const meta = JSON.parse(readFileSync(join(stateDir, 'datasets', 'orders.json'), 'utf8')) as DatasetMeta;
    expect(meta).toMatchObject({ name: 'orders', rows: 3, writtenBy: 'extract' });
    expect(meta.checksum).toMatch(/^[0-9a-f]{16}$/);
    expect(meta.columns).toEqual([
      { name: 'day', type: 'date' },
      { name: 'id', type: 'integer' },
      { name: 'qty', type: 'integer' },
      { name: 'note', type: 'string' },
    ]);
    const out = readFileSync(join(dir, 'out.ndjson'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(out).toEqual([
      { day: '2026-01-02', id: 1, qty: 2, note: 'a' },
      { day: '2026-01-04', id: 3, qty: 5, note: null },
      { day: '2026-01-05', id: 4, qty: 1, note: 'd' },
    ]);
  });

  it('fails the reader with INTEGRITY, naming the dataset, when its file is not what was recorded', async () => {
    const dir = tmp();
    input(dir);
    const stateDir = join(dir, 'state');
    await runPipeline(twoSteps(), { registry, baseDir: dir, stateDir, parallel: false });
    // The same size, another checksum: the record says what the writer's rows were.
    const metaFile = join(stateDir, 'datasets', 'orders.json');
    const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as DatasetMeta;
    writeFileSync(metaFile, JSON.stringify({ ...meta, checksum: '0123456789abcdef' }));
    const report = await runPipeline(twoSteps(), {
      registry,
      baseDir: dir,
      stateDir,
      parallel: false,
      steps: ['load'],
    });
    expect(report.steps[0]!.error).toMatchObject({ code: 'INTEGRITY_FAILED' });
    expect(report.steps[0]!.error!.message).toMatch(/dataset "orders" is not what step "extract" wrote/);
  });

  it('fails the reader before any row goes on when the file does not hold the rows recorded', async () => {
    const dir = tmp();
    input(dir);
    const stateDir = join(dir, 'state');
    await runPipeline(twoSteps(), { registry, baseDir: dir, stateDir, parallel: false });
    const metaFile = join(stateDir, 'datasets', 'orders.json');
    const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as DatasetMeta;
    writeFileSync(metaFile, JSON.stringify({ ...meta, rows: 4 }));
    const report = await runPipeline(twoSteps(), {
      registry,
      baseDir: dir,
      stateDir,
      parallel: false,
      steps: ['load'],
    });
    expect(report.steps[0]).toMatchObject({ rowsRead: 0, rowsWritten: 0 });
    expect(report.steps[0]!.error!.message).toMatch(/dataset "orders" .* holds 3 rows, 4 were recorded/);
  });

  it('is a table a sql transform of a later step joins, and a sql input must wait for its writer', async () => {
    const dir = tmp();
    input(dir);
    writeFileSync(join(dir, 'notes.ndjson'), '{"note":"a","label":"first"}\n{"note":"d","label":"last"}\n');
    const doc = twoSteps([
      {
        id: 'report',
        needs: ['extract'],
        flow: [
          { source: 'ndjson', with: { path: 'notes.ndjson' } },
          {
            transform: 'sql',
            with: {
              query: 'SELECT i.label, o.qty FROM input i JOIN orders o USING (note) ORDER BY o.qty',
              inputs: { orders: { dataset: 'orders' } },
            },
          },
          { sink: 'ndjson', with: { path: 'report.ndjson' } },
        ],
      },
    ]);
    const report = await runPipeline(doc, {
      registry,
      baseDir: dir,
      stateDir: join(dir, 'state'),
      parallel: false,
    });
    expect(report.status, JSON.stringify(report.steps.map((s) => s.error))).toBe('success');
    expect(readFileSync(join(dir, 'report.ndjson'), 'utf8')).toBe(
      '{"label":"last","qty":1}\n{"label":"first","qty":2}\n',
    );
    delete (doc.steps[2] as { needs?: string[] }).needs;
    expect(issuesOf(doc)).toEqual([
      {
        path: 'steps[2].flow[1].with.inputs.orders.dataset',
        message:
          'step "report" reads dataset "orders", which step "extract" writes, but does not wait for it: add needs: [extract]',
      },
    ]);
  });

  it('is a table a lookup of a later step enriches rows from', async () => {
    const dir = tmp();
    input(dir);
    writeFileSync(join(dir, 'refs.ndjson'), '{"order":3}\n{"order":9}\n');
    const doc = twoSteps([
      {
        id: 'enrich',
        needs: ['extract'],
        flow: [
          { source: 'ndjson', with: { path: 'refs.ndjson' } },
          {
            transform: 'lookup',
            with: {
              from: 'dataset',
              dataset: 'orders',
              key: { order: 'id' },
              fields: { qty: 'qty' },
              onMiss: 'keep',
            },
          },
          { sink: 'ndjson', with: { path: 'enriched.ndjson' } },
        ],
      },
    ]);
    const report = await runPipeline(doc, {
      registry,
      baseDir: dir,
      stateDir: join(dir, 'state'),
      parallel: false,
    });
    expect(report.status, JSON.stringify(report.steps.map((s) => s.error))).toBe('success');
    expect(readFileSync(join(dir, 'enriched.ndjson'), 'utf8')).toBe(
      '{"order":3,"qty":5}\n{"order":9,"qty":null}\n',
    );
    delete (doc.steps[2] as { needs?: string[] }).needs;
    expect(issuesOf(doc)[0]?.path).toBe('steps[2].flow[1].with.dataset');
  });

  it('refuses a read whose writer the step does not need, at the path of the name', () => {
    const doc = twoSteps();
    delete (doc.steps[1] as { needs?: string[] }).needs;
    expect(issuesOf(doc)).toEqual([
      {
        path: 'steps[1].flow[0].with.name',
        message:
          'step "load" reads dataset "orders", which step "extract" writes, but does not wait for it: add needs: [extract]',
      },
    ]);
  });

  it('accepts a writer needed through another step', () => {
    const doc = twoSteps([
      {
        id: 'report',
        needs: ['load'],
        flow: [
          { source: 'dataset', with: { name: 'orders' } },
          { sink: 'ndjson', with: { path: 'report.ndjson' } },
        ],
      },
    ]);
    expect(issuesOf(doc)).toEqual([]);
  });

  it('refuses a dataset no step writes, and one written by two steps', () => {
    const doc = twoSteps([
      {
        id: 'again',
        flow: [
          { source: 'ndjson', with: { path: 'in.ndjson' } },
          { sink: 'dataset', with: { name: 'orders' } },
        ],
      },
      {
        id: 'typo',
        needs: ['extract'],
        flow: [
          { source: 'dataset', with: { name: 'order' } },
          { sink: 'ndjson', with: { path: 'x.ndjson' } },
        ],
      },
    ]);
    const issues = issuesOf(doc);
    expect(issues.map((i) => i.path)).toEqual(['steps[2].flow[1].with.name', 'steps[3].flow[0].with.name']);
    expect(issues[0]!.message).toMatch(/dataset "orders" is written by step "extract" already/);
    expect(issues[1]!.message).toMatch(/no step writes dataset "order" \(datasets written: orders\)/);
  });

  it('refuses verify: content, which a dataset cannot prove, at its path', () => {
    const doc = twoSteps();
    const extract = doc.steps[0] as { flow: { with: Record<string, unknown> }[] };
    extract.flow[2]!.with.verify = 'content';
    expect(issuesOf(doc).map((i) => i.path)).toEqual(['steps[0].flow[2].with.verify']);
  });

  it('refuses a name that would leave the dataset area, at its path', () => {
    const doc = twoSteps();
    const extract = doc.steps[0] as { flow: { with: { name: string } }[] };
    extract.flow[2]!.with.name = '../x';
    expect(issuesOf(doc).map((i) => i.path)).toContain('steps[0].flow[2].with.name');
  });
});

describe("another pipeline's dataset", () => {
  /** A pipeline that only reads `orders` of pipeline `handoff` (the one above) into report.ndjson. */
  const reader = (pipeline = 'handoff') => ({
    name: 'report',
    retry: { attempts: 1 },
    steps: [
      {
        id: 'report',
        flow: [
          { source: 'dataset', with: { name: 'orders', pipeline } },
          { sink: 'ndjson', with: { path: 'report.ndjson' } },
        ],
      },
    ],
  });

  it("reads the writing pipeline's last run from its state directory, checked as any dataset", async () => {
    const dir = tmp();
    input(dir);
    const runs = join(dir, '.sluice', 'runs');
    const first = await runPipeline(twoSteps(), {
      registry,
      baseDir: dir,
      stateDir: join(runs, 'handoff'),
      parallel: false,
    });
    expect(first.status).toBe('success');
    // No step of this pipeline writes `orders`: it is not a hand-off within the run, so planning allows it.
    expect(issuesOf(reader())).toEqual([]);
    const report = await runPipeline(reader(), { registry, baseDir: dir, stateDir: join(runs, 'report') });
    expect(report.status, JSON.stringify(report.error ?? report.steps.map((s) => s.error))).toBe('success');
    expect(report.steps[0]).toMatchObject({ rowsRead: 3, rowsWritten: 3 });
    const ids = readFileSync(join(dir, 'report.ndjson'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { id: number }).id)
      .sort();
    expect(ids).toEqual([1, 3, 4]);

    // A file cut since its writer recorded it fails the read, naming the dataset.
    const file = join(runs, 'handoff', 'datasets', 'orders.parquet');
    writeFileSync(file, readFileSync(file).subarray(0, 100));
    const cut = await runPipeline(reader(), { registry, baseDir: dir, stateDir: join(runs, 'report') });
    expect(cut.status).toBe('failed');
    expect(cut.steps[0]?.error?.code).toBe('INTEGRITY_FAILED');
  });

  it('says which pipeline has not written the dataset yet, and refuses a name that leaves the runs', async () => {
    const dir = tmp();
    const runs = join(dir, '.sluice', 'runs');
    const report = await runPipeline(reader('nightly'), {
      registry,
      baseDir: dir,
      stateDir: join(runs, 'report'),
    });
    expect(report.steps[0]?.error?.message).toMatch(
      /pipeline "nightly" has no dataset "orders" yet \(looked in .*runs\/nightly\/datasets\): run "nightly" first/,
    );
    expect(issuesOf(reader('../etc')).map((i) => i.path)).toContain('steps[0].flow[0].with.pipeline');
  });
});
