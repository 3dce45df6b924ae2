import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { sluice } from './helpers.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'sluice-cli-'));

function writeSpec(dir: string, body: string): string {
  const path = join(dir, 'spec.yaml');
  writeFileSync(path, body);
  return path;
}

describe('sluice validate', () => {
  it('accepts the example pipeline', async () => {
    const r = await sluice(['validate', 'examples/orders.yaml']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('pipeline "orders-example" is valid (2 step(s): load-orders, count-lines)');
  });

  it('lists every problem with its step id and JSON path, and suggests connector names', async () => {
    const dir = tmp();
    const spec = writeSpec(
      dir,
      `name: bad
steps:
  - id: a
    needs: [b]
    flow:
      - source: csvv
        with: { path: x.csv }
      - transform: filter
        with: { wher: "x > 1" }
      - sink: ndjson
        with: { path: out.ndjson }
  - id: b
    needs: [a]
    task: shell
    with: { command: [true] }
`,
    );
    const r = await sluice(['validate', spec]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('steps: cycle in needs: a → b → a');
    const r2 = await sluice(['validate', spec, '--json']);
    const out = JSON.parse(r2.stdout) as {
      valid: boolean;
      error: { issues: { path: string; message: string }[] };
    };
    expect(out.valid).toBe(false);
    // The unknown source is reported beside the cycle, not hidden by it (issue 15).
    expect(out.error.issues).toEqual([
      { path: 'steps', message: 'cycle in needs: a → b → a' },
      {
        path: 'steps[0].flow[0].source',
        message: expect.stringMatching(/^step "a": unknown source "csvv"\. Did you mean "csv"\?/),
      },
    ]);
    writeFileSync(
      spec,
      `name: bad\nflow:\n  - source: csvv\n    with: { path: x.csv }\n  - transform: filter\n    with: { wher: "x" }\n  - sink: ndjson\n    with: { path: o }\n`,
    );
    const r3 = await sluice(['validate', spec]);
    expect(r3.code).toBe(2);
    expect(r3.stderr).toMatch(/unknown source "csvv"\. Did you mean "csv"\?/);
    expect(r3.stderr).toContain('flow[1].with: step "main": missing required property "where"');
    expect(r3.stderr).toContain('flow[1].with: step "main": unknown property "wher"');
  });

  it('refuses what run would refuse: a cast format it cannot read (regression)', async () => {
    const spec = writeSpec(
      tmp(),
      `name: cast
flow:
  - source: csv
    with: { path: in.csv }
  - transform: cast
    with: { fields: { d: { type: date, format: "MMM DD YYYY" } } }
  - sink: ndjson
    with: { path: out.ndjson }
`,
    );
    const r = await sluice(['validate', spec]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'flow[1].with.fields.d.format: step "main": invalid date format "MMM DD YYYY"',
    );
  });

  it('reports a missing spec file clearly', async () => {
    const r = await sluice(['validate', 'nope/missing.yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot read spec .*nope\/missing\.yaml: file not found/);
  });
});

describe('sluice connectors', () => {
  it('lists connectors and shows one with schema and example', async () => {
    const list = await sluice(['connectors', '--json']);
    const names = (JSON.parse(list.stdout) as { name: string; kind: string }[]).map(
      (c) => `${c.kind}:${c.name}`,
    );
    expect(names).toEqual(expect.arrayContaining(['source:csv', 'transform:filter', 'sink:postgres']));
    const one = await sluice(['connectors', 'filter']);
    expect(one.stdout).toContain('transform filter');
    expect(one.stdout).toContain('"where"');
    const unknown = await sluice(['connectors', 'filtr']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Did you mean "filter"');
    const far = await sluice(['connectors', 'teradata']);
    expect(far.code).toBe(2);
    expect(far.stderr).toContain('unknown connector "teradata". Run `sluice connectors` for the list.');
  });

  it("runs a connector's connection check with --check, naming what it found or what is wrong", async () => {
    const file = join(tmp(), 'check.csv');
    writeFileSync(file, 'id\n1\n');
    const found = await sluice(['connectors', 'csv', '--check', '--with', JSON.stringify({ path: file })]);
    expect(found.code, found.stderr).toBe(0);
    expect(found.stdout).toContain(`ok source csv: found ${file} (5 B)`);
    const withFile = join(tmp(), 'with.json');
    writeFileSync(withFile, JSON.stringify({ path: `${file}.missing` }));
    const missing = await sluice(['connectors', 'csv', '--check', '--with', `@${withFile}`, '--json']);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout)).toMatchObject({
      ok: false,
      message: expect.stringMatching(/file not found/),
    });
    const noPath = await sluice(['connectors', 'csv', '--check']);
    expect(noPath.stderr).toContain('--with.path: is required');
    const shell = await sluice(['connectors', 'shell', '--check']);
    expect(shell.stderr).toContain('connector "shell" has no connection check');
    const pw = 'not-my-real-password';
    const refused = await sluice([
      'connectors',
      'postgres',
      '--check',
      '--with',
      JSON.stringify({ url: `postgres://u:${pw}@127.0.0.1:1/x` }),
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('cannot connect to PostgreSQL at 127.0.0.1:1');
    expect(refused.stderr).not.toContain(pw);
  });
});

describe('sluice run', () => {
  it('prints exactly one JSON report with --json and exits 0', async () => {
    const state = tmp();
    const r = await sluice([
      'run',
      'examples/orders.yaml',
      '--json',
      '--state-dir',
      state,
      '--param',
      'minAmount=20',
    ]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ status: 'success', integrity: { ok: true }, params: { minAmount: 20 } });
    expect(report.steps[0]).toMatchObject({ id: 'load-orders', rowsRead: 12, rowsQuarantined: 2 });
    expect(report.steps[0].rowsWritten + report.steps[0].rowsFiltered + 2).toBe(12);
    expect(report.quarantine.rows).toBe(2);
    expect(report.steps[1]).toMatchObject({ id: 'count-lines', status: 'success' });
  });

  it('says in the summary what each sink verified', async () => {
    const r = await sluice(['run', 'examples/orders.yaml', '--state-dir', tmp()]);
    expect(r.code).toBe(0);
    // The example's sink reads its file back (verify: content): the summary says so, with the checksum found.
    expect(r.stdout).toContain('integrity ok (content read back)');
    expect(r.stdout).toMatch(/load-orders\.3:ndjson → \S+orders\.ndjson.*content [0-9a-f]{16}/);
  });

  it('fails with a non-zero exit and a JSON error when the spec is invalid', async () => {
    const dir = tmp();
    const spec = writeSpec(
      dir,
      'name: x\nflow:\n  - source: csv\n    with: {}\n  - sink: ndjson\n    with: { path: o.ndjson }\n',
    );
    const r = await sluice(['run', spec, '--json']);
    expect(r.code).toBe(2);
    const report = JSON.parse(r.stdout);
    expect(report.status).toBe('failed');
    expect(report.error.issues).toContainEqual({
      path: 'flow[0].with',
      message: 'step "main": missing required property "path"',
    });
  });

  it('turns too many quarantined rows into a failed run with --max-quarantine', async () => {
    const r = await sluice([
      'run',
      'examples/orders.yaml',
      '--json',
      '--max-quarantine',
      '1',
      '--state-dir',
      tmp(),
    ]);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report.error.code).toBe('QUARANTINE_LIMIT');
    expect(report.steps[1].status).toBe('skipped');
  });

  it('reads a .csv.zst and writes a .ndjson.gz, by their names alone', async () => {
    const dir = tmp();
    const { init, compress } = await import('@bokuweb/zstd-wasm');
    await init();
    const csv = `id,name\n${Array.from({ length: 300 }, (_, i) => `${i},n${i}`).join('\n')}\n`;
    writeFileSync(join(dir, 'in.csv.zst'), compress(Buffer.from(csv), 3));
    const spec = writeSpec(
      dir,
      'name: zst\nflow:\n  - source: csv\n    with: { path: in.csv.zst, batchSize: 64 }\n' +
        '  - sink: ndjson\n    with: { path: out.ndjson.gz, verify: content }\n',
    );
    const r = await sluice(['run', spec, '--json', '--state-dir', tmp()]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ status: 'success', integrity: { ok: true } });
    expect(report.steps[0]).toMatchObject({ rowsRead: 300, rowsWritten: 300 });
    const rows = gunzipSync(readFileSync(join(dir, 'out.ndjson.gz')))
      .toString()
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows).toHaveLength(300);
    expect(rows[299]).toEqual({ id: '299', name: 'n299' });
  });

  it('reports a missing input file with its path', async () => {
    const dir = tmp();
    const spec = writeSpec(
      dir,
      'name: x\nflow:\n  - source: csv\n    with: { path: nope.csv }\n  - sink: ndjson\n    with: { path: o.ndjson }\n',
    );
    const r = await sluice(['run', spec, '--state-dir', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`file not found: ${join(dir, 'nope.csv')}`);
    // Issue 14: a failed run never reads "integrity ok".
    expect(r.stdout).toContain('integrity not proven: main did not finish');
    expect(r.stdout).not.toContain('integrity ok');
  });
});
