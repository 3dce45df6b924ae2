import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonSource, ndjsonSource } from '../../src/index.ts';
import { readSource } from '../harness.ts';
import { run, tinyChunks } from '../parallel-harness.ts';

// 1e400 became null, 1e-400 became 0 and a 30-digit id lost its last 14 digits, and the run
// reported success with nothing quarantined.
const lines = [
  '{"id":1,"amount":1e400}',
  '{"id":2,"amount":1e-400}',
  '{"id":3,"order":{"ref":123456789012345678901234567890}}',
  '{"id":4,"amount":0.1,"ratio":0.30000000000000004,"n":6.022e23}',
];
const dir = mkdtempSync(join(tmpdir(), 'sluice-reg-'));
const ndjson = join(dir, 'in.ndjson');
writeFileSync(ndjson, `${lines.join('\n')}\n`);
const json = join(dir, 'in.json');
writeFileSync(json, `[\n${lines.join(',\n')}\n]\n`);

const reasons = [
  'field amount: 1e400 is out of the range of a double; set bigNumbers: string to keep it as text',
  'field amount: 1e-400 is too close to 0 for a double (it would read as 0); set bigNumbers: string to keep it as text',
  'field order.ref: 123456789012345678901234567890 is an integer no double holds (it would read as ' +
    '1.2345678901234568e+29); set bigNumbers: string to keep it as text',
];
const exact = { id: 4, amount: 0.1, ratio: 0.30000000000000004, n: 6.022e23 };
const plain = (rows: object[]) => rows.map((r) => Object.fromEntries(Object.entries(r)));

describe('numbers a double would change', () => {
  it('are quarantined by default, with the line, the field and the literal', async () => {
    const n = await readSource(ndjsonSource, { path: ndjson });
    expect(plain(n.rows)).toEqual([exact]);
    expect(n.harness.quarantined.map((q) => [q.line, q.reason])).toEqual(
      reasons.map((r, i) => [i + 1, `line ${i + 1}, ${r}`]),
    );
    const j = await readSource(jsonSource, { path: json });
    expect(plain(j.rows)).toEqual([exact]);
    expect(j.harness.quarantined.map((q) => [q.line, q.reason])).toEqual(
      reasons.map((r, i) => [i + 2, `element ${i} (line ${i + 2}), ${r}`]),
    );
  });

  it('are kept exact, as text, with bigNumbers: string', async () => {
    const kept = [
      { id: 1, amount: '1e400' },
      { id: 2, amount: '1e-400' },
      { id: 3, order: { ref: '123456789012345678901234567890' } },
      exact,
    ];
    for (const [def, path] of [
      [ndjsonSource, ndjson],
      [jsonSource, json],
    ] as const) {
      const r = await readSource(def, { path, bigNumbers: 'string' });
      expect(plain(r.rows)).toEqual(kept);
      expect(r.harness.quarantined).toEqual([]);
    }
  });

  it('are found the same way in worker threads, and reach the sink exact', async () => {
    let body = '';
    for (let i = 0; i < 2000; i++) body += `{"i":${i},"x":0.${i}}\n`;
    body += `${lines.join('\n')}\n`;
    const path = join(dir, 'many.ndjson');
    writeFileSync(path, body);
    for (const bigNumbers of ['quarantine', 'string']) {
      const out = join(dir, `out-${bigNumbers}.ndjson`);
      const spec = {
        name: 'big',
        flow: [
          { source: 'ndjson', with: { path, bigNumbers } },
          { sink: 'ndjson', with: { path: out } },
        ],
      };
      const o = await run(spec, join(dir, `state-${bigNumbers}`), tinyChunks(4096));
      expect(o.report.status).toBe('success');
      const written = readFileSync(out, 'utf8').trim().split('\n');
      if (bigNumbers === 'quarantine') {
        expect(o.quarantine.map((q) => q.reason)).toEqual(reasons.map((r, i) => `line ${2001 + i}, ${r}`));
        expect(written.slice(-1)).toEqual([JSON.stringify(exact)]);
      } else {
        expect(o.quarantine).toEqual([]);
        expect(written.slice(-4, -1)).toEqual([
          '{"id":1,"amount":"1e400"}',
          '{"id":2,"amount":"1e-400"}',
          '{"id":3,"order":{"ref":"123456789012345678901234567890"}}',
        ]);
      }
    }
  });
});
