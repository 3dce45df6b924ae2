import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonSource, ndjsonSource } from '../../src/index.ts';
import { readSource } from '../harness.ts';
import { run, tinyChunks } from '../parallel-harness.ts';

// A 100k-deep value in a data file failed the whole step with INTERNAL (a stack overflow in
// JSON.stringify, on the way to the checksum) instead of going to quarantine like any bad row.
const nested = (depth: number, id: number) =>
  `{"id":${id},"a":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;
const dir = mkdtempSync(join(tmpdir(), 'sluice-reg-'));

describe('values nested deeper than maxDepth', () => {
  it('go to quarantine with their line; a 999-deep row goes through to an NDJSON sink', async () => {
    let body = '';
    for (let i = 0; i < 300; i++) body += `{"id":${i},"pad":"${'x'.repeat(100)}"}\n`;
    body += `${nested(999, 1000)}\n${nested(100_000, 1001)}\n{"id":1002}\n`;
    const path = join(dir, 'in.ndjson');
    writeFileSync(path, body);
    for (const parallel of [false, tinyChunks(8192)] as const) {
      const out = join(dir, `out-${parallel ? 'threads' : 'serial'}.ndjson`);
      const spec = {
        name: 'deep',
        flow: [
          { source: 'ndjson', with: { path } },
          { transform: 'filter', with: { where: 'row.id >= 1000' } },
          { sink: 'ndjson', with: { path: out } },
        ],
      };
      const o = await run(spec, join(dir, `state-${parallel ? 't' : 's'}`), parallel);
      expect(o.report.status).toBe('success');
      expect(o.quarantine).toEqual([
        expect.objectContaining({ line: 302, reason: 'line 302 is nested deeper than maxDepth 1000' }),
      ]);
      expect(readFileSync(out, 'utf8')).toBe(`${nested(999, 1000)}\n{"id":1002}\n`);
    }
  });

  it('go to quarantine from a JSON array too, keeping only the head of the element', async () => {
    const path = join(dir, 'in.json');
    writeFileSync(path, `[{"id":1},\n${nested(100_000, 2)},\n${nested(3, 3)}]`);
    const r = await readSource(jsonSource, { path, maxDepth: 2, chunkSize: 4096 });
    expect(r.rows.map((x) => x.id)).toEqual([1]);
    expect(r.harness.quarantined.map((q) => [q.line, q.reason, q.raw?.length])).toEqual([
      [2, 'element 1 (line 2) is nested deeper than maxDepth 2', 65536],
      [3, 'element 2 (line 3) is nested deeper than maxDepth 2', nested(3, 3).length],
    ]);
  });

  it('in a JSON file that is not an array of rows fail the step with a clear error, not INTERNAL', async () => {
    const path = join(dir, 'doc.json');
    writeFileSync(path, `{"a":${'['.repeat(100_000)}`);
    await expect(readSource(jsonSource, { path })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      retryable: false,
      message: expect.stringMatching(/doc\.json.*does not hold a JSON array: it starts with "\{" on line 1/),
    });
    const cut = join(dir, 'cut.json');
    writeFileSync(cut, `[{"a":1},${'['.repeat(100_000)}`);
    await expect(readSource(jsonSource, { path: cut })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/cut\.json.*ends inside the array, after 1 element/),
    });
  });

  it('are refused by the NDJSON source on its own too', async () => {
    const path = join(dir, 'two.ndjson');
    writeFileSync(path, `${nested(5, 1)}\n${nested(4, 2)}\n`);
    const r = await readSource(ndjsonSource, { path, maxDepth: 4 });
    expect(r.rows.map((x) => x.id)).toEqual([2]);
    expect(r.harness.quarantined).toEqual([
      expect.objectContaining({ line: 1, reason: 'line 1 is nested deeper than maxDepth 4' }),
    ]);
  });
});
