import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry, runPipeline } from '@sluice/core';
import { afterAll, expect, it } from 'vitest';
import { type Placed, textPdf } from '../../test/pdf-report.ts';
import { builtinConnectors } from '../index.ts';

const dir = mkdtempSync(join(tmpdir(), 'sluice-pdf-flow-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const line = (y: number, cells: string[]): Placed[] =>
  cells.map((text, i) => ({ text, x: [50, 150, 400][i]!, y }));

it('a run keeps what does not fit in its quarantine, with the file, the page and the line', async () => {
  writeFileSync(
    join(dir, 'ledger.pdf'),
    await textPdf([
      [
        { text: 'Ledger', x: 50, y: 790, size: 16 },
        ...line(760, ['date', 'account', 'amount']),
        ...line(746, ['2026-02-01', 'Ana', '10.00']),
        ...line(732, ['2026-02-02', 'Bruno', 'n/a']),
      ],
      [
        ...line(790, ['date', 'account', 'amount']),
        ...line(776, ['2026-02-03', 'Cy', '7.50']),
        ...line(762, ['Subtotal', '', '17.50']),
        { text: 'Page 2 of 2', x: 50, y: 40, size: 8 },
      ],
    ]),
  );
  const report = await runPipeline(
    {
      name: 'ledger',
      steps: [
        {
          id: 'load',
          flow: [
            {
              source: 'pdf',
              with: {
                path: 'ledger.pdf',
                mode: 'tables',
                header: true,
                startAfter: '^Ledger',
                stopBefore: '^Page ',
              },
            },
            { transform: 'cast', with: { fields: { amount: 'number' } } },
            { sink: 'ndjson', with: { path: 'out.ndjson' } },
          ],
        },
      ],
    },
    { registry: new Registry().register(...builtinConnectors), baseDir: dir, stateDir: join(dir, 'state') },
  );
  const step = report.steps[0]!;
  expect(step).toMatchObject({ status: 'success', rowsRead: 4, rowsWritten: 2, rowsQuarantined: 2 });
  const out = readFileSync(join(dir, 'out.ndjson'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  expect(out).toEqual([
    { date: '2026-02-01', account: 'Ana', amount: 10 },
    { date: '2026-02-03', account: 'Cy', amount: 7.5 },
  ]);
  const entries = readFileSync(join(dir, 'state', 'steps', 'load', 'quarantine.ndjson'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const file = join(dir, 'ledger.pdf');
  expect(entries).toEqual([
    expect.objectContaining({
      component: 'load.0:pdf',
      file,
      line: 3,
      raw: 'Subtotal 17.50',
      reason: expect.stringMatching(
        /^text in 2 of the table's 3 columns \(account empty\).*\(page 2, line 3\)$/,
      ),
    }),
    // A later component's entry has the row's line on its page (a row carries one number).
    expect.objectContaining({
      component: 'load.1:cast',
      file,
      line: 4,
      reason: expect.stringMatching(/"n\/a"/),
    }),
  ]);
});
