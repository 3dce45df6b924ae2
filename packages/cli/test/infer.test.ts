import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { sluice } from './helpers.ts';

function workspace(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-infer-'));
  let csv = 'id,zip,price,day,note\n';
  for (let i = 1; i <= 30; i++)
    csv += `${i},${String(i).padStart(5, '0')},${i % 2 ? i + 0.25 : i},2024-01-${String(i).padStart(2, '0')},n${i}\n`;
  csv += 'x31,00031,1,2024-02-01,late\n';
  writeFileSync(join(dir, 'orders.csv'), csv);
  writeFileSync(
    join(dir, 'events.ndjson'),
    '{"id":1,"at":"2024-01-01 10:00","tags":["a"],"who":{"name":"Ada"}}\n{"id":2,"at":"2024-01-02T11:00:00Z","tags":[],"who":null}\n',
  );
  writeFileSync(
    join(dir, 'spec.yaml'),
    `name: infer
steps:
  - id: orders
    flow:
      - source: csv
        with: { path: orders.csv, infer: true, inferRows: 30, schema: { note: string } }
      - sink: ndjson
        with: { path: orders.ndjson }
  - id: events
    flow:
      - source: ndjson
        with: { path: events.ndjson }
      - transform: flatten
        with: { separator: _ }
      - sink: ndjson
        with: { path: events.out.ndjson }
`,
  );
  return dir;
}

describe('sluice infer', () => {
  it("prints each file source's types as YAML to paste into schema:", async () => {
    const dir = workspace();
    const r = await sluice(['infer', join(dir, 'spec.yaml')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [orders, events] = r.stdout.split('\n\n');
    expect(orders).toContain(
      '# step orders, csv source orders.csv: types of the first 30 rows (declared: note)',
    );
    expect(parse(orders!)).toEqual({
      schema: { note: 'string', id: 'integer', zip: 'string', price: 'number', day: 'date' },
    });
    expect(parse(events!)).toEqual({ schema: { id: 'integer', at: 'timestamp' } });
    expect(events).toContain('#   tags: objects or arrays');
    expect(events).toContain('#   who: objects or arrays');
  });

  it('takes --step and --json, and names an unknown step', async () => {
    const dir = workspace();
    const r = await sluice(['infer', join(dir, 'spec.yaml'), '--step', 'events', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([
      {
        step: 'events',
        source: 'ndjson',
        path: 'events.ndjson',
        schema: { id: 'integer', at: 'timestamp' },
        declared: [],
        undecided: {
          tags: 'objects or arrays: flatten or unnest them, or cast them to string',
          who: 'objects or arrays: flatten or unnest them, or cast them to string',
        },
        rows: 2,
      },
    ]);
    const bad = await sluice(['infer', join(dir, 'spec.yaml'), '--step', 'nope']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('no step "nope" in pipeline "infer" (its steps: orders, events)');
  });

  it('a run casts by the inferred types and quarantines the row that does not fit', async () => {
    const dir = workspace();
    const r = await sluice(['run', join(dir, 'spec.yaml'), '--json', '--state-dir', join(dir, 'state')]);
    const report = JSON.parse(r.stdout);
    expect(report.status).toBe('success');
    expect(report.steps[0].rowsQuarantined).toBe(1);
    const first = JSON.parse(readFileSync(join(dir, 'orders.ndjson'), 'utf8').split('\n')[0]!);
    expect(first).toEqual({ id: 1, zip: '00001', price: 1.25, day: '2024-01-01', note: 'n1' });
    const q = JSON.parse(readFileSync(join(dir, 'state', 'quarantine.ndjson'), 'utf8').split('\n')[0]!);
    expect(q.reason).toMatch(/^field "id": cannot cast "x31" to integer.*inferred from the first 30 rows/);
    const events = readFileSync(join(dir, 'events.out.ndjson'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events[0]).toEqual({ id: 1, at: '2024-01-01 10:00', tags: ['a'], who_name: 'Ada' });
  });

  it('validate refuses a date pattern or locale the cast cannot use, at its path', async () => {
    const dir = workspace();
    writeFileSync(
      join(dir, 'bad.yaml'),
      `name: bad
flow:
  - source: csv
    with: { path: orders.csv }
  - transform: cast
    with: { fields: { day: { type: date, format: ["yyyy-MM-dd", "d MMMM yyyy"], locale: xx } } }
  - sink: ndjson
    with: { path: out.ndjson }
`,
    );
    const r = await sluice(['validate', join(dir, 'bad.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('flow[1].with.fields.day.locale: step "main": unknown locale "xx"');
  });
});
