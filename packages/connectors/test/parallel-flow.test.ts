import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ParallelOptions } from '@sluice/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awkwardCsv, byLine, errorOf, figures, perComponent, run, tinyChunks } from './parallel-harness.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-parallel-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
let n = 0;
const sub = (name: string) => join(dir, `${n++}-${name}`);

const flow = (input: string, out: string, extra: object[] = []) => ({
  name: 'par',
  checkpointEvery: 150,
  flow: [
    { source: 'csv', with: { path: input, schema: { id: 'integer', amount: 'number', active: 'boolean' } } },
    { transform: 'filter', with: { where: 'active == true || amount > 50.0' } },
    { transform: 'map', with: { set: { total: 'amount * 2.0', country: 'country.upperAscii()' } } },
    ...extra,
    // Content verification hashes the source's rows, in the threads too: the sums must agree.
    { sink: 'ndjson', with: { path: `${out}.ndjson`, verify: 'content' } },
    { sink: 'csv', with: { path: `${out}.csv`, verify: 'content' } },
    { sink: 'json', with: { path: `${out}.json` } },
  ],
});

/** Runs the spec serially and in threads; outputs, figures and quarantine must agree. */
async function same(
  spec: (out: string) => unknown,
  chunkBytes: number,
  exts = ['ndjson', 'csv', 'json'],
  more: ParallelOptions = {},
) {
  const a = sub('serial');
  const b = sub('threads');
  const serial = await run(spec(a), `${a}-state`, false);
  const threaded = await run(spec(b), `${b}-state`, { ...tinyChunks(chunkBytes), ...more });
  expect(serial.report.status, JSON.stringify(serial.report.error)).toBe('success');
  expect(figures(threaded.report)).toEqual(figures(serial.report));
  for (const ext of exts) {
    const want = await readFile(`${a}.${ext}`);
    expect((await readFile(`${b}.${ext}`)).equals(want), `${ext} output differs`).toBe(true);
  }
  expect(byLine(threaded.quarantine)).toEqual(byLine(serial.quarantine));
  expect(perComponent(threaded.quarantine)).toEqual(perComponent(serial.quarantine));
  return { serial, threaded };
}

// The first flow starts the threads (from the sources, through tsx: seconds); later ones reuse them.
describe('a flow in worker threads', { timeout: 60_000 }, () => {
  it('writes the same bytes as the serial path, with CRLF, BOM, quoted newlines and ragged rows', async () => {
    const input = sub('in.csv');
    await writeFile(input, awkwardCsv(1500));
    for (const chunkBytes of [5, 61, 4096]) {
      const { serial } = await same((out) => flow(input, out), chunkBytes);
      expect(serial.report.steps[0]!.rowsQuarantined).toBeGreaterThan(10);
    }
  });

  it('writes the same bytes whichever thread takes which chunk: three threads, or workers only', async () => {
    const input = sub('in3.csv');
    await writeFile(input, awkwardCsv(1500));
    // Small chunks keep every worker's queue full, so the main thread takes chunks in between.
    await same((out) => flow(input, out), 97, undefined, { threads: 3 });
    await same((out) => flow(input, out), 97, undefined, { threads: 2, mainShare: false });
  });

  it('reads a CSV without a header, with LF line ends, a stray quote in the first record and latin1', async () => {
    const input = sub('nohead.csv');
    const text = awkwardCsv(600, '\n', false).split('\n').slice(1).join('\n');
    await writeFile(input, `x"y,${text}`.replace('x"y,', '0,x"y,1.5,true,fr,"first\nrecord"\n'));
    const spec = (out: string) => ({
      name: 'nohead',
      flow: [
        {
          source: 'csv',
          with: { path: input, header: false, encoding: 'latin1', schema: { col1: 'integer' } },
        },
        { transform: 'select', with: { fields: ['col1', 'col2', 'col6'] } },
        { sink: 'ndjson', with: { path: `${out}.ndjson` } },
      ],
    });
    for (const chunkBytes of [3, 50]) await same(spec, chunkBytes, ['ndjson']);
  });

  it('sets aside bad quotes the same way: text after a closing quote, a stray quote, lenient or not', async () => {
    const input = sub('quotes.csv');
    let text = 'id,name,note\n';
    for (let i = 1; i <= 900; i++) {
      if (i % 50 === 0)
        text += `${i},"Cy"d,x\n`; // text after the closing quote
      else if (i % 77 === 0)
        text += `${i},"stray,x\n`; // closed lines later, with text after it
      else if (i % 31 === 0) text += `${i},"two\nlines",x\n`;
      else text += `${i},n${i},"q""${i}"\n`;
    }
    text += '901,"never closed,x\n902,a,b\n903,c,d\n';
    await writeFile(input, text);
    for (const lenientQuotes of [false, true]) {
      const spec = (out: string) => ({
        name: 'quotes',
        flow: [
          { source: 'csv', with: { path: input, lenientQuotes } },
          { sink: 'ndjson', with: { path: `${out}.ndjson` } },
        ],
      });
      for (const chunkBytes of [7, 200]) {
        const { serial } = await same(spec, chunkBytes, ['ndjson']);
        const step = serial.report.steps[0]!;
        expect(step.rowsQuarantined).toBeGreaterThan(lenientQuotes ? 0 : 17);
        expect(step.rowsRead).toBe(step.rowsWritten + step.rowsQuarantined);
      }
    }
  });

  it('casts and validates the same way', async () => {
    const input = sub('cast.csv');
    await writeFile(input, awkwardCsv(800, '\n'));
    const spec = (out: string) => ({
      name: 'cast',
      flow: [
        { source: 'csv', with: { path: input } },
        { transform: 'cast', with: { fields: { id: 'integer', amount: 'number', active: 'boolean' } } },
        {
          transform: 'validate',
          with: { schema: { type: 'object', properties: { amount: { type: 'number', maximum: 90 } } } },
        },
        { sink: 'ndjson', with: { path: `${out}.ndjson` } },
      ],
    });
    await same(spec, 300, ['ndjson']);
  });

  it('reads NDJSON with a BOM, blank, bad and non-UTF-8 lines', async () => {
    const input = sub('in.ndjson');
    const lines: Buffer[] = [Buffer.from('\uFEFF')];
    for (let i = 1; i <= 1200; i++) {
      if (i % 101 === 0) lines.push(Buffer.from('not json\n'));
      else if (i % 103 === 0) lines.push(Buffer.from('[1,2]\n'));
      else if (i % 107 === 0) lines.push(Buffer.from([0x7b, 0xff, 0x7d, 0x0a]));
      else if (i % 109 === 0) lines.push(Buffer.from('\r\n'));
      else
        lines.push(
          Buffer.from(`${JSON.stringify({ id: i, name: `n ${i} ü`, amount: i / 4, active: i % 3 > 0 })}\n`),
        );
    }
    lines.push(Buffer.from('{"id": 0, "last": "no newline"}'));
    await writeFile(input, Buffer.concat(lines));
    const spec = (out: string) => ({
      name: 'nd',
      flow: [
        { source: 'ndjson', with: { path: input } },
        { transform: 'filter', with: { where: '!has(row.active) || active' } },
        { sink: 'ndjson', with: { path: `${out}.ndjson` } },
        { sink: 'json', with: { path: `${out}.json` } },
      ],
    });
    for (const chunkBytes of [7, 200]) await same(spec, chunkBytes, ['ndjson', 'json']);
  });

  it('stops at the same row with the same error when a transform must fail', async () => {
    const input = sub('fail.csv');
    await writeFile(input, awkwardCsv(900, '\n'));
    // One row fails: where several would, the threads report the first in chunk order, which
    // may be another than the serial path's first in batch order (see docs/parallel.md).
    const spec = (out: string) => ({
      name: 'fail',
      flow: [
        { source: 'csv', with: { path: input, schema: { id: 'integer' } } },
        { transform: 'filter', with: { where: 'id != 700 || name > 1', onError: 'fail' } },
        { sink: 'ndjson', with: { path: `${out}.ndjson` } },
      ],
    });
    const serial = await run(spec(sub('s')), sub('s-state'), false);
    const threaded = await run(spec(sub('t')), sub('t-state'), tinyChunks(100));
    expect(serial.report.status).toBe('failed');
    expect(serial.report.error?.message).toMatch(/at source line \d+\./);
    expect(threaded.report.error).toEqual(serial.report.error);
    expect(figures(threaded.report)[0]!.status).toBe('failed');
  });

  it('fails with the same message when the quarantine limit is passed', async () => {
    const input = sub('limit.csv');
    await writeFile(input, awkwardCsv(1000, '\n'));
    const spec = (out: string) => flow(input, out);
    const [s, t] = [sub('s-state'), sub('t-state')];
    const serial = await run(spec(sub('s')), s, false, { maxQuarantine: 5 });
    const threaded = await run(spec(sub('t')), t, tinyChunks(100_000), { maxQuarantine: 5 });
    expect(serial.report.error?.code).toBe('QUARANTINE_LIMIT');
    expect(errorOf(threaded, t)).toEqual(errorOf(serial, s));
  });

  it('reports the first error in chunk order when a later chunk fails too', async () => {
    // A bad record early passes the quarantine limit while it is merged; a row in a later chunk
    // makes the filter fail. The merge runs while the later chunk is worked on: its error must
    // still come first, as on the serial path.
    const input = sub('two-errors.ndjson');
    let text = '';
    for (let i = 0; i < 3000; i++)
      text += i === 1000 ? '{"i":\n' : `{"i":${i},"pad":"${'p'.repeat(i % 50)}"}\n`;
    await writeFile(input, text);
    const spec = (out: string) => ({
      name: 'two-errors',
      flow: [
        { source: 'ndjson', with: { path: input } },
        { transform: 'filter', with: { where: 'row.i < 1100 || row.i.x == 1', onError: 'fail' } },
        { sink: 'ndjson', with: { path: `${out}.ndjson` } },
      ],
    });
    const s = sub('s-state');
    const serial = await run(spec(sub('s')), s, false, { maxQuarantine: 0 });
    expect(serial.report.error?.code).toBe('QUARANTINE_LIMIT');
    for (const chunkBytes of [4096, 1000]) {
      const t = sub('t-state');
      const threaded = await run(spec(sub('t')), t, tinyChunks(chunkBytes), { maxQuarantine: 0 });
      expect(errorOf(threaded, t)).toEqual(errorOf(serial, s));
    }
  });

  it('is cancelled promptly, its threads stopped, and resumes to the same output', async () => {
    const input = sub('resume.csv');
    await writeFile(input, awkwardCsv(3000));
    const a = sub('serial');
    await run(flow(input, a), `${a}-state`, false);
    const b = sub('threads');
    const abort = new AbortController();
    let checkpoints = 0;
    const cancelled = await run(flow(input, b), `${b}-state`, tinyChunks(500), {
      signal: abort.signal,
      onEvent: (e) => {
        // Progress follows each chunk; stop after a few checkpoints' worth.
        if (e.type === 'progress' && e.rowsRead > 600 && checkpoints++ === 0) abort.abort();
      },
    });
    expect(cancelled.report.status).toBe('cancelled');
    expect(existsSync(`${b}.ndjson`)).toBe(false);
    const resumed = await run(flow(input, b), `${b}-state`, tinyChunks(700), { resume: true });
    expect(resumed.report.status).toBe('success');
    expect(resumed.report.steps[0]!.resumedFromRow).toBeGreaterThan(0);
    for (const ext of ['ndjson', 'csv', 'json']) {
      expect((await readFile(`${b}.${ext}`)).equals(await readFile(`${a}.${ext}`)), ext).toBe(true);
    }
  });
});
