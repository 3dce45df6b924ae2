import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Row, type SinkDefinition, SluiceError, SOURCE_LINE } from '@sluice/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvSink } from '../src/csv/sink.ts';
import { jsonSink } from '../src/json/sink.ts';
import { ndjsonSink } from '../src/ndjson/sink.ts';
import { sinkConformance } from './conformance.ts';
import { unreachableS3 } from './conformance-checks.ts';
import { openSink } from './harness.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-fsink-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
let files = 0;
const fresh = (ext: string) => join(dir, `run${files++}`, `out.${ext}`);

const sample: Row[] = [
  { id: 1, name: 'Ana', note: 'a, "quoted" note' },
  { id: 2, name: 'Bruno', note: 'two\nlines' },
  { id: 3, name: 'Cé 🚚', note: '' },
  { id: 4, name: 'Dora', note: 'tab\there' },
  { id: 5, name: 'Eli', note: 'x' },
];

const ndjsonLines = async (path: string) =>
  (await readFile(path, 'utf8'))
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Row);

sinkConformance('ndjson', {
  def: ndjsonSink,
  setup: async () => ({ path: fresh('ndjson') }),
  readBack: async (c) => (existsSync(c.path as string) ? await ndjsonLines(c.path as string) : []),
  badConfig: { path: '' },
  badPath: 'with.path',
  resumable: true,
  secret: unreachableS3('out.ndjson'),
  sample,
});

sinkConformance('json', {
  def: jsonSink,
  setup: async () => ({ path: fresh('json') }),
  readBack: async (c) => JSON.parse(await readFile(c.path as string, 'utf8')) as Row[],
  badConfig: { path: 'x.json', pretty: true },
  badPath: 'with.pretty',
  resumable: true,
  secret: unreachableS3('out.json'),
  sample,
});

sinkConformance('csv', {
  def: csvSink,
  setup: async () => ({ path: fresh('csv'), columns: ['id', 'name', 'note'] }),
  // Numbers come back as text; the sample's ids are compared as strings.
  readBack: async (c) => {
    const text = await readFile(c.path as string, 'utf8');
    return parseCsv(text)
      .slice(1)
      .map(([id, name, note]) => ({ id: Number(id), name, note }));
  },
  badConfig: { path: 'x.csv', delimiter: ';;' },
  badPath: 'with.delimiter',
  resumable: true,
  secret: unreachableS3('out.csv', { columns: ['id', 'name', 'note'] }),
  sample,
});

/** A strict reader of what the csv sink writes, to check its output independently of the csv source. */
function parseCsv(text: string, d = ','): string[][] {
  const records: string[][] = [];
  let fields: string[] = [];
  let i = 0;
  while (i < text.length) {
    let value = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q === -1) throw new Error('unclosed quote');
        value += text.slice(i, q);
        if (text[q + 1] === '"') {
          value += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
    } else {
      let j = i;
      while (j < text.length && text[j] !== d && text[j] !== '\n' && text[j] !== '\r') j++;
      value = text.slice(i, j);
      i = j;
    }
    fields.push(value);
    if (text[i] === d) i++;
    else {
      if (text[i] === '\r') i++;
      if (text[i] === '\n') i++;
      records.push(fields);
      fields = [];
    }
  }
  return records;
}

const many: Row[] = Array.from({ length: 2500 }, (_, i) => ({
  id: i,
  text: i % 3 === 0 ? `line ${i}\r\nwith "quotes", commas` : `é${i}🚚`,
  value: i % 5 === 0 ? null : i / 7,
  flag: i % 2 === 0,
}));

async function cleanRun(def: SinkDefinition, config: Record<string, unknown>, rows: Row[]): Promise<Buffer> {
  const { writer } = await openSink(def, config);
  await writer.start(undefined);
  for (let i = 0; i < rows.length; i += 300) await writer.write(rows.slice(i, i + 300));
  await writer.close();
  return await readFile(config.path as string);
}

describe.each([
  ['ndjson', ndjsonSink, {}],
  ['json', jsonSink, {}],
  ['csv', csvSink, {}],
  ['csv without header, ; and CRLF', csvSink, { header: false, delimiter: ';', newline: '\r\n' }],
] as const)('%s sink', (_name, def, extra) => {
  it.each([0, 1, 1200])(
    'a run that crashed after %i committed rows resumes to the same bytes',
    async (cut) => {
      const expected = await cleanRun(def, { ...extra, path: fresh('clean') }, many);
      const config = { ...extra, path: fresh('crash') };
      const a = await openSink(def, config);
      await a.writer.start(undefined);
      // A checkpoint at 0 rows still holds whatever `start` wrote (the json sink's `[`).
      if (cut > 0) await a.writer.write(many.slice(0, cut));
      const state = await a.writer.commit({ seq: 1, position: cut });
      await a.writer.write(many.slice(cut, cut + 700));
      await a.writer.commit({ seq: 2, position: cut + 700 });
      await a.writer.write(many.slice(cut + 700, cut + 900));
      await a.writer.abort(new Error('crash'));
      expect(existsSync(config.path)).toBe(false);

      const b = await openSink(def, config);
      await b.writer.start(JSON.parse(JSON.stringify(state)));
      for (let i = cut; i < many.length; i += 450)
        await b.writer.write(many.slice(i, Math.min(i + 450, many.length)));
      const result = await b.writer.close();
      expect(result.rowsWritten).toBe(many.length - cut);
      expect(result.location).toBe(config.path);
      expect(result.bytes).toBe(expected.length);
      expect((await readFile(config.path)).equals(expected)).toBe(true);
    },
  );

  it('with overwrite false fails at start and leaves the existing file alone', async () => {
    const path = fresh('exists');
    await cleanRun(def, { ...extra, path }, sample);
    const before = await readFile(path);
    const { writer } = await openSink(def, { ...extra, path, overwrite: false });
    await expect(writer.start(undefined)).rejects.toThrow(/already exists and config\.overwrite is false/);
    expect((await readFile(path)).equals(before)).toBe(true);
  });

  it('refuses to write uncompressed text under a .gz name', async () => {
    await expect(openSink(def, { ...extra, path: fresh('gz.gz'), compression: 'none' })).rejects.toThrow(
      /names a gzip file, but compression: none would write uncompressed text into it/,
    );
  });
});

describe('ndjson sink', () => {
  it('writes one object per line; Dates as ISO strings; the source line symbol is not data', async () => {
    const path = fresh('ndjson');
    const row: Row = { at: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)), nested: { a: [1, null] }, s: 'é\n"' };
    row[SOURCE_LINE] = 7;
    await cleanRun(ndjsonSink, { path }, [row]);
    expect(await readFile(path, 'utf8')).toBe(
      '{"at":"2024-01-02T03:04:05.000Z","nested":{"a":[1,null]},"s":"é\\n\\""}\n',
    );
  });

  it('names the row when a value has no JSON form', async () => {
    const { writer } = await openSink(ndjsonSink, { path: fresh('ndjson') });
    await writer.start(undefined);
    await writer.write([{ id: 1 }]);
    const err = await writer.write([{ id: 2, big: 10n }]).catch((e: Error) => e);
    expect(err).toBeInstanceOf(SluiceError);
    expect((err as Error).message).toMatch(/row 2 of the output cannot be written as JSON.*BigInt/);
    await writer.abort(err);
  });
});

describe('json sink', () => {
  it('writes a valid JSON array, empty or not', async () => {
    const empty = fresh('json');
    await cleanRun(jsonSink, { path: empty }, []);
    expect(await readFile(empty, 'utf8')).toBe('[\n]\n');
    expect(JSON.parse(await readFile(empty, 'utf8'))).toEqual([]);
    const full = fresh('json');
    await cleanRun(jsonSink, { path: full }, many);
    expect(JSON.parse(await readFile(full, 'utf8'))).toEqual(many);
  });
});

describe('csv sink', () => {
  it('quotes fields holding the delimiter, quotes, CR or LF, and only those', async () => {
    const path = fresh('csv');
    const rows: Row[] = [
      { a: 'plain', b: 'has,comma', c: 'say "hi"' },
      { a: 'cr\r', b: 'lf\n', c: 'crlf\r\n' },
      { a: ' spaced ', b: '🚚é', c: 'semi;colon' },
    ];
    await cleanRun(csvSink, { path }, rows);
    expect(await readFile(path, 'utf8')).toBe(
      'a,b,c\nplain,"has,comma","say ""hi"""\n"cr\r","lf\n","crlf\r\n"\n spaced ,🚚é,semi;colon\n',
    );
    expect(parseCsv(await readFile(path, 'utf8')).slice(1)).toEqual(rows.map((r) => Object.values(r)));
  });

  it('quotes a byte order mark, which a reader would strip at the start of the file', async () => {
    const path = fresh('csv');
    await cleanRun(csvSink, { path }, [{ '\uFEFFid': '\uFEFF' }]);
    expect(await readFile(path, 'utf8')).toBe('"\uFEFFid"\n"\uFEFF"\n');
  });

  it('quotes by the configured delimiter', async () => {
    const path = fresh('csv');
    await cleanRun(csvSink, { path, delimiter: '\t', header: false }, [{ a: 'x\ty', b: 'p,q' }]);
    expect(await readFile(path, 'utf8')).toBe('"x\ty"\tp,q\n');
  });

  it('writes null as an empty field and "" quoted; Dates, numbers, booleans and objects as text', async () => {
    const path = fresh('csv');
    await cleanRun(csvSink, { path }, [
      { s: '', n: null, u: undefined, d: new Date(Date.UTC(2024, 1, 3)), x: 1.5, b: false, o: { k: 'v,w' } },
    ]);
    expect(await readFile(path, 'utf8')).toBe(
      's,n,u,d,x,b,o\n"",,,2024-02-03T00:00:00.000Z,1.5,false,"{""k"":""v,w""}"\n',
    );
  });

  it('never writes an empty line for a one-column record', async () => {
    const path = fresh('csv');
    await cleanRun(csvSink, { path }, [{ v: null }, { v: '' }, { v: 'x' }]);
    expect(await readFile(path, 'utf8')).toBe('v\n""\n""\nx\n');
  });

  it('writes the configured columns in order: missing fields empty, others left out', async () => {
    const path = fresh('csv');
    await cleanRun(csvSink, { path, columns: ['b', 'a'] }, [{ a: 1, b: 2, c: 3 }, { a: 4 }]);
    expect(await readFile(path, 'utf8')).toBe('b,a\n2,1\n,4\n');
  });

  it('writes the header of configured columns even with no rows', async () => {
    const path = fresh('csv');
    await cleanRun(csvSink, { path, columns: ['id', 'the name'] }, []);
    expect(await readFile(path, 'utf8')).toBe('id,the name\n');
  });

  it("keeps the first run's columns after a resume, whatever the next rows hold", async () => {
    const path = fresh('csv');
    const a = await openSink(csvSink, { path });
    await a.writer.start(undefined);
    await a.writer.write([{ x: 1, y: 2 }]);
    const state = await a.writer.commit({ seq: 1, position: 1 });
    await a.writer.abort(new Error('crash'));
    const b = await openSink(csvSink, { path });
    await b.writer.start(state ?? undefined);
    await b.writer.write([{ y: 4, x: 3, z: 5 }]);
    await b.writer.close();
    expect(await readFile(path, 'utf8')).toBe('x,y\n1,2\n3,4\n');
  });

  it('refuses to resume when config.columns changed since the checkpoint', async () => {
    const path = fresh('csv');
    const a = await openSink(csvSink, { path, columns: ['x'] });
    await a.writer.start(undefined);
    const state = await a.writer.commit({ seq: 1, position: 0 });
    await a.writer.abort(new Error('crash'));
    const b = await openSink(csvSink, { path, columns: ['y'] });
    await expect(b.writer.start(state ?? undefined)).rejects.toThrow(/config\.columns changed/);
  });

  it('rejects a quote or line break as delimiter', async () => {
    await expect(openSink(csvSink, { path: fresh('csv'), delimiter: '"' })).rejects.toThrow(/delimiter/);
  });

  it('a resume checks the partial file still matches the checkpoint', async () => {
    const path = fresh('csv');
    const a = await openSink(csvSink, { path });
    await a.writer.start(undefined);
    await a.writer.write([{ x: 1 }]);
    const state = await a.writer.commit({ seq: 1, position: 1 });
    await a.writer.abort(new Error('crash'));
    await writeFile(`${path}.partial`, '');
    const b = await openSink(csvSink, { path });
    const err = await b.writer.start(state ?? undefined).catch((e: SluiceError) => e);
    expect((err as SluiceError).code).toBe('CHECKPOINT_INVALID');
  });
});
