import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  type Json,
  type QuarantineEntry,
  Registry,
  type Row,
  SOURCE_LINE,
  type SourceBatch,
} from '@sluice/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { descriptorsOn } from '../../test/open-files.ts';
import { compressFrame } from '../shared/compression.ts';
import type { CsvSourceConfig } from './config.ts';
import { csvSource } from './source.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-csv-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const registry = new Registry().register(csvSource);
let files = 0;

async function file(content: string | Buffer, name = `f${files++}.csv`): Promise<string> {
  await writeFile(join(dir, name), content);
  return name;
}

interface Run {
  batches: SourceBatch[];
  rows: Row[];
  quarantined: QuarantineEntry[];
  origins: string[];
}

function context(config: Record<string, unknown>, opts: { resumeFrom?: Json; signal?: AbortSignal } = {}) {
  const quarantined: QuarantineEntry[] = [];
  const origins: string[] = [];
  const warnings: string[] = [];
  const state = new Map<string, Json>();
  const ctx = {
    config: registry.validate<CsvSourceConfig>(csvSource, config, 'steps[0].with'),
    signal: opts.signal ?? new AbortController().signal,
    stepId: 'load',
    componentId: 'load.0:csv',
    baseDir: dir,
    params: {},
    log: { debug() {}, info() {}, warn: (m: string) => warnings.push(m), error() {} },
    quarantine: (e: QuarantineEntry) => quarantined.push(e),
    resumeFrom: opts.resumeFrom,
    state: { get: (k: string) => state.get(k), set: (k: string, v: Json) => state.set(k, v) },
    setOrigin: (o: string) => origins.push(o),
  };
  return { ctx, quarantined, origins, warnings };
}

async function read(config: Record<string, unknown>, opts: { resumeFrom?: Json } = {}): Promise<Run> {
  const { ctx, quarantined, origins } = context(config, opts);
  const batches: SourceBatch[] = [];
  for await (const b of csvSource.read(ctx)) batches.push(b);
  return { batches, rows: batches.flatMap((b) => b.rows), quarantined, origins };
}

// Spreading would copy SOURCE_LINE too; compare the data fields alone.
const plain = (rows: Row[]) => rows.map((r) => Object.fromEntries(Object.entries(r)));
const linesOf = (rows: Row[]) => rows.map((r) => r[SOURCE_LINE]);

describe('csv source', () => {
  it('reads rows named by the header, with their source lines, positions and progress', async () => {
    const text = 'id,name,note\n1,Ann,"a, b"\n2,Bob,"say ""hi"""\n3,Cy,"two\nlines"\n4,Di,\n';
    const path = await file(text);
    const run = await read({ path, batchSize: 2 });
    expect(plain(run.rows)).toEqual([
      { id: '1', name: 'Ann', note: 'a, b' },
      { id: '2', name: 'Bob', note: 'say "hi"' },
      { id: '3', name: 'Cy', note: 'two\nlines' },
      { id: '4', name: 'Di', note: '' },
    ]);
    expect(linesOf(run.rows)).toEqual([2, 3, 4, 6]);
    expect(run.origins).toEqual([join(dir, path)]);
    const size = Buffer.byteLength(text);
    expect(run.batches.at(-1)!.position).toEqual({ offset: size, line: 7, columns: ['id', 'name', 'note'] });
    expect(run.batches.at(-1)!.progress).toEqual({ done: size, total: size });
    expect(run.batches[0]!.position).toMatchObject({ offset: text.indexOf('3,Cy'), line: 4 });
  });

  it.each([
    ['CRLF', '\r\n'],
    ['CR only', '\r'],
  ])('reads %s files', async (_name, nl) => {
    const path = await file(['a,b', '1,"x', 'y"', '2,z', ''].join(nl));
    const run = await read({ path });
    expect(plain(run.rows)).toEqual([
      { a: '1', b: `x${nl}y` },
      { a: '2', b: 'z' },
    ]);
    expect(linesOf(run.rows)).toEqual([2, 4]);
  });

  it('strips a BOM, and honours delimiter, quote and Latin-1 settings', async () => {
    const bom = await file(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('id,name\n1,x\n')]));
    expect(Object.keys((await read({ path: bom })).rows[0]!)).toEqual(['id', 'name']);
    const custom = await file("a|b\n'x|y'|'it''s'\n");
    expect(plain((await read({ path: custom, delimiter: '|', quote: "'" })).rows)).toEqual([
      { a: 'x|y', b: "it's" },
    ]);
    const latin1 = await file(Buffer.from([0x6e, 0x0a, 0x63, 0x61, 0x66, 0xe9, 0x0a]));
    expect(plain((await read({ path: latin1, encoding: 'latin1' })).rows)).toEqual([{ n: 'café' }]);
    await expect(read({ path: latin1 })).rejects.toThrow(/not valid UTF-8.*encoding: latin1/);
  });

  it('names columns col1..colN, or from `columns`, when there is no header', async () => {
    const path = await file('1,2,3\n4,5,6\n');
    expect(plain((await read({ path, header: false })).rows)).toEqual([
      { col1: '1', col2: '2', col3: '3' },
      { col1: '4', col2: '5', col3: '6' },
    ]);
    const named = await read({ path, header: false, columns: ['a', 'b', 'c'] });
    expect(plain(named.rows)[1]).toEqual({ a: '4', b: '5', c: '6' });
    expect(linesOf(named.rows)).toEqual([1, 2]);
    const renamed = await read({ path, columns: ['x', 'y', 'z'] });
    expect(plain(renamed.rows)).toEqual([{ x: '4', y: '5', z: '6' }]);
    await expect(read({ path, columns: ['x', 'y'] })).rejects.toThrow(/lists 2 names but the header/);
  });

  it('makes repeated, blank and __proto__ header names safe keys', async () => {
    const path = await file('a,a,,__proto__\n1,2,3,4\n');
    const [row] = (await read({ path })).rows;
    expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
    expect(plain([row!])).toEqual([{ a: '1', a_2: '2', col3: '3', ['__proto__']: '4' }]);
  });

  it('reads gzip files, by name or when told', async () => {
    const text = 'id,v\n1,é\n2,"x\ny"\n';
    const gz = await file(gzipSync(text), 'data.csv.gz');
    const run = await read({ path: gz });
    expect(plain(run.rows)).toEqual([
      { id: '1', v: 'é' },
      { id: '2', v: 'x\ny' },
    ]);
    expect(run.batches.at(-1)!.position).toMatchObject({ offset: Buffer.byteLength(text) });
    const unnamed = await file(gzipSync(text), 'data.bin');
    expect((await read({ path: unnamed, compression: 'gzip' })).rows).toHaveLength(2);
  });

  it('reads zstd files, by name or when told', async () => {
    const text = 'id,v\n1,é\n2,"x\ny"\n';
    const zst = await compressFrame('zstd', Buffer.from(text));
    for (const name of ['data.csv.zst', 'data.csv.zstd']) {
      const run = await read({ path: await file(zst, name) });
      expect(plain(run.rows)).toEqual([
        { id: '1', v: 'é' },
        { id: '2', v: 'x\ny' },
      ]);
      expect(run.batches.at(-1)!.position).toMatchObject({ offset: Buffer.byteLength(text) });
    }
    const unnamed = await file(zst, 'zstd-data.bin');
    expect((await read({ path: unnamed, compression: 'zstd' })).rows).toHaveLength(2);
  });

  it('decodes multi-byte characters split across every chunk boundary', async () => {
    const text = 'name,note\n"Zoë, 🎉",a€b\n日本,"x""y\nz"\nplain,𝄞\n';
    const path = await file(text);
    const expected = [
      { name: 'Zoë, 🎉', note: 'a€b' },
      { name: '日本', note: 'x"y\nz' },
      { name: 'plain', note: '𝄞' },
    ];
    for (const chunkSize of [1, 2, 3, 5, 7]) {
      const run = await read({ path, chunkSize });
      expect(plain(run.rows)).toEqual(expected);
      expect(linesOf(run.rows)).toEqual([2, 3, 5]);
    }
  });

  it('quarantines ragged rows with their line, offset and text, and goes on', async () => {
    const text = 'a,b,c\n1,2,3\n4,5\n"6\n7",8,9,10\n11,12,13\n';
    const path = await file(text);
    const run = await read({ path });
    expect(plain(run.rows)).toEqual([
      { a: '1', b: '2', c: '3' },
      { a: '11', b: '12', c: '13' },
    ]);
    expect(linesOf(run.rows)).toEqual([2, 6]);
    expect(run.quarantined).toEqual([
      { reason: 'expected 3 fields but found 2', line: 3, offset: text.indexOf('4,5'), raw: '4,5' },
      { reason: 'expected 3 fields but found 4', line: 4, offset: text.indexOf('"6'), raw: '"6\n7",8,9,10' },
    ]);
  });

  it('reports a quote never closed with the line it opened on, and reads the lines after it', async () => {
    const path = await file('a,b\n1,2\n3,"open\n4,5\n');
    const run = await read({ path });
    expect(plain(run.rows)).toEqual([
      { a: '1', b: '2' },
      { a: '4', b: '5' },
    ]);
    expect(run.quarantined).toEqual([
      {
        reason: expect.stringMatching(/^the quote opening field 2 at line 3 is not closed on that line/),
        line: 3,
        offset: 8,
        raw: '3,"open',
      },
    ]);
  });

  it('stops on a header it cannot read rather than take the next line as the header', async () => {
    const path = await file('id,"na"me,n\n1,a,2\n');
    await expect(read({ path })).rejects.toThrow(
      /the header \(line 1\) cannot be read: field 2 has text after its closing quote/,
    );
    expect(plain((await read({ path, header: false })).rows)).toEqual([{ col1: '1', col2: 'a', col3: '2' }]);
  });

  it('casts typed columns, reads empty unquoted values as null and quarantines failed casts', async () => {
    const path = await file(
      'id,amount,ok,day,at,label\n' +
        '1,2.50,true,2024-02-29,2024-03-01T10:00:00Z,x\n' +
        '2,,no,,2024-03-01 10:00:00+02:00,\n' +
        '3,-1e3,0,2024-01-31,2024-03-01,""\n' +
        '4,12abc,true,2024-01-01,2024-03-01,y\n' +
        '5,1,maybe,2024-01-01,2024-03-01,y\n' +
        '6,1,yes,2023-02-29,2024-03-01,y\n' +
        '"",1,yes,2024-01-01,2024-03-01,NULL\n' +
        'NULL,1,yes,2024-01-01,2024-03-01,NULL\n',
    );
    const schema = {
      id: 'integer',
      amount: 'number',
      ok: 'boolean',
      day: 'date',
      at: 'timestamp',
      label: 'string',
    };
    const run = await read({ path, schema, nullValues: ['NULL'] });
    expect(plain(run.rows)).toEqual([
      { id: 1, amount: 2.5, ok: true, day: '2024-02-29', at: '2024-03-01T10:00:00.000Z', label: 'x' },
      { id: 2, amount: null, ok: false, day: null, at: '2024-03-01T08:00:00.000Z', label: '' },
      { id: 3, amount: -1000, ok: false, day: '2024-01-31', at: '2024-03-01T00:00:00.000Z', label: '' },
      { id: null, amount: 1, ok: true, day: '2024-01-01', at: '2024-03-01T00:00:00.000Z', label: null },
    ]);
    expect(linesOf(run.rows)).toEqual([2, 3, 4, 9]);
    expect(run.quarantined.map((q) => [q.line, q.reason])).toEqual([
      [5, expect.stringMatching(/^field "amount": cannot cast "12abc" to number: /)],
      [6, expect.stringMatching(/^field "ok": cannot cast "maybe" to boolean: /)],
      [7, expect.stringMatching(/^field "day": cannot cast "2023-02-29" to date: /)],
      [8, expect.stringMatching(/^field "id": cannot cast "" to integer: /)],
    ]);
    expect(run.quarantined[0]!.raw).toBe('4,12abc,true,2024-01-01,2024-03-01,y');
  });

  it('reads nullValues as null only when unquoted, typed or not', async () => {
    const path = await file('a,b\nNA,"NA"\n"NA",NA\nx,y\n');
    expect(plain((await read({ path, nullValues: ['NA'] })).rows)).toEqual([
      { a: null, b: 'NA' },
      { a: 'NA', b: null },
      { a: 'x', b: 'y' },
    ]);
  });

  it('refuses a schema naming a column the file lacks', async () => {
    const path = await file('a,b\n1,2\n');
    await expect(read({ path, schema: { c: 'integer' } })).rejects.toThrow(
      /config.schema names "c".*columns are: a, b/,
    );
    await expect(read({ path, delimiter: '"' })).rejects.toThrow(/with.quote: must differ from delimiter/);
  });

  it('resumes from any saved position with exactly the remaining rows', async () => {
    const lines = ['id,v'];
    for (let i = 1; i <= 50; i++) lines.push(i % 7 === 0 ? `${i},"multi\nline ü"` : `${i},v${i}é`);
    const text = `${lines.join('\n')}\n`;
    const zst = await compressFrame('zstd', Buffer.from(text));
    for (const name of ['resume.csv', 'resume.csv.gz', 'resume.csv.zst']) {
      const path = await file(
        name.endsWith('.gz') ? gzipSync(text) : name.endsWith('.zst') ? zst : text,
        name,
      );
      const full = await read({ path, batchSize: 6, chunkSize: 16 });
      expect(full.rows).toHaveLength(50);
      for (const [k, batch] of full.batches.entries()) {
        const rest = await read({ path, batchSize: 6, chunkSize: 16 }, { resumeFrom: batch.position });
        const expected = full.batches.slice(k + 1).flatMap((b) => b.rows);
        expect(plain(rest.rows)).toEqual(plain(expected));
        expect(linesOf(rest.rows)).toEqual(linesOf(expected));
      }
    }
    const path = await file(text);
    await expect(read({ path }, { resumeFrom: { offset: 3 } })).rejects.toThrow(/cannot resume from/);
  });

  it('stops when aborted, before or between batches', async () => {
    const path = await file(`id\n${Array.from({ length: 1000 }, (_, i) => i).join('\n')}\n`);
    const before = new AbortController();
    before.abort();
    const pending = context({ path }, { signal: before.signal });
    await expect(async () => {
      for await (const _ of csvSource.read(pending.ctx));
    }).rejects.toThrow(/abort/i);

    const between = new AbortController();
    const running = context({ path, batchSize: 10, chunkSize: 64 }, { signal: between.signal });
    let batches = 0;
    await expect(async () => {
      for await (const _ of csvSource.read(running.ctx)) {
        batches++;
        between.abort();
      }
    }).rejects.toThrow(/abort/i);
    expect(batches).toBe(1);
  });

  it('closes the file when the reader stops early', async () => {
    const path = await file(`id\n${Array.from({ length: 1000 }, (_, i) => i).join('\n')}\n`);
    const openOnFile = () => descriptorsOn(join(dir, path));
    for await (const _ of csvSource.read(context({ path, batchSize: 10, chunkSize: 64 }).ctx)) {
      expect(openOnFile()).toBe(1); // the check sees the file while it is read
      break;
    }
    // A resumed read that fails during setup (its schema names a column the file lacks).
    const resumeFrom = { offset: 3, line: 2, columns: ['id'] };
    await expect(read({ path, schema: { nope: 'integer' } }, { resumeFrom })).rejects.toThrow(/"nope"/);
    await new Promise((r) => setTimeout(r, 50));
    expect(openOnFile()).toBe(0);
  });

  it('yields no rows for a file with only a header, or nothing at all', async () => {
    const run = await read({ path: await file('a,b\n') });
    expect(run.rows).toEqual([]);
    expect(run.batches.at(-1)!.position).toEqual({ offset: 4, line: 2, columns: ['a', 'b'] });
    const empty = await read({ path: await file('\n\n') });
    expect(empty.rows).toEqual([]);
    expect(empty.batches.every((b) => b.position === undefined)).toBe(true);
  });
});

describe('csv source: line ends and encodings a review found wrong', () => {
  it('finds CR line ends past a quote inside a field (an ordinary character there)', async () => {
    const r = await read({ path: await file('size",name\r1,a\r2,b\r') });
    expect(plain(r.rows)).toEqual([
      { 'size"': '1', name: 'a' },
      { 'size"': '2', name: 'b' },
    ]);
    const n = await read({ path: await file('5" tv,1\r6,2\r'), header: false });
    expect(plain(n.rows)).toEqual([
      { col1: '5" tv', col2: '1' },
      { col1: '6', col2: '2' },
    ]);
  });

  it('reads encoding: latin1 as Windows-1252 (€ and curly quotes in 0x80–0x9F)', async () => {
    const bytes = Buffer.concat([Buffer.from('t\n'), Buffer.from([0x80, 0x93, 0x68, 0x94, 0xe9, 0x0a])]);
    const r = await read({ path: await file(bytes), encoding: 'latin1' });
    expect(plain(r.rows)).toEqual([{ t: '€“h”é' }]);
  });
});
