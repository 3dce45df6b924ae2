import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { byLine, figures, run, tinyChunks } from './parallel-harness.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-reshape-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

// flatten, unnest, rename and a date-fns cast are row-local: in worker threads they must give the
// serial path's bytes, counts and quarantine, unnest's fan-out included.
describe('reshaping transforms in worker threads', { timeout: 60_000 }, () => {
  it('write what the serial path writes', async () => {
    const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun'];
    let text = '';
    for (let i = 1; i <= 1500; i++) {
      const items = Array.from({ length: i % 4 }, (_, k) => ({ sku: `s${k}`, qty: k + i }));
      const row = {
        id: i,
        customer: { name: `c${i}`, address: { city: i % 3 ? 'Paris' : 'Lyon' } },
        items: i % 97 === 0 ? 'broken' : items,
        sold: i % 101 === 0 ? 'someday' : `${months[i % 6]} ${(i % 28) + 1} 2020`,
      };
      text += `${JSON.stringify(row)}\n`;
    }
    const input = join(dir, 'in.ndjson');
    await writeFile(input, text);
    const spec = (out: string) => ({
      name: 'reshape',
      flow: [
        { source: 'ndjson', with: { path: input } },
        { transform: 'flatten', with: { separator: '_' } },
        { transform: 'unnest', with: { field: 'items', prefix: 'item_', index: 'n' } },
        { transform: 'rename', with: { fields: { customer_address_city: 'city' } } },
        { transform: 'cast', with: { fields: { sold: { type: 'date', format: 'MMM d yyyy' } } } },
        { sink: 'ndjson', with: { path: out } },
      ],
    });
    const a = join(dir, 'serial.ndjson');
    const b = join(dir, 'threads.ndjson');
    const serial = await run(spec(a), `${a}-state`, false);
    const threaded = await run(spec(b), `${b}-state`, tinyChunks(2048));
    expect(serial.report.status, JSON.stringify(serial.report.error)).toBe('success');
    expect(figures(threaded.report)).toEqual(figures(serial.report));
    expect(await readFile(b, 'utf8')).toBe(await readFile(a, 'utf8'));
    expect(byLine(threaded.quarantine)).toEqual(byLine(serial.quarantine));
    const lines = (await readFile(a, 'utf8')).trim().split('\n');
    expect(JSON.parse(lines[0]!)).toEqual({
      id: 1,
      customer_name: 'c1',
      city: 'Paris',
      sold: '2020-02-02',
      item_sku: 's0',
      item_qty: 1,
      n: 0,
    });
    expect(serial.quarantine.length).toBeGreaterThan(20);
  });
});
