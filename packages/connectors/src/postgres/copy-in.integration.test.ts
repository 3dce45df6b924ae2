import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CopyIn, loadCopyIn } from './copy-in.ts';

const URL = process.env.SLUICE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** What the socket is asked to send: each write, and whether the socket was corked for it. */
type Write = { bytes: Buffer; corked: boolean };

describe('CopyIn', () => {
  let client: pg.Client;

  beforeEach(async () => {
    await loadCopyIn();
    client = new pg.Client({ connectionString: URL });
    await client.connect();
    await client.query('CREATE TEMP TABLE copy_in_t (id int, name text)');
  });

  afterEach(async () => {
    await client.end();
  });

  it('sends each CopyData message as header and chunk in one corked write, and the server takes every row', async () => {
    const socket = (client as unknown as { connection: { stream: import('node:net').Socket } }).connection
      .stream;
    const writes: Write[] = [];
    let corks = 0;
    const { write, cork, uncork } = socket;
    socket.cork = function (this: typeof socket) {
      corks++;
      return cork.call(this);
    };
    socket.uncork = function (this: typeof socket) {
      corks--;
      return uncork.call(this);
    };
    socket.write = function (this: typeof socket, chunk: unknown, ...rest: unknown[]) {
      writes.push({ bytes: Buffer.from(chunk as Uint8Array), corked: corks > 0 });
      return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
    } as typeof socket.write;

    const copy = new CopyIn(client, 'COPY copy_in_t (id, name) FROM STDIN', 1 << 20);
    const signal = new AbortController().signal;
    await copy.write(Buffer.from('1\tone\n2\ttwo\n'), signal);
    await copy.write(Buffer.from('3\tthree\n'), signal);
    expect(await copy.end()).toBe(3);

    const data = writes.filter((w) => w.bytes[0] === 0x64 || w.bytes.includes(0x09));
    // Two messages: a 5-byte header ('d', length) then its chunk, both while corked.
    expect(data.map((w) => [w.bytes.length, w.corked])).toEqual([
      [5, true],
      [12, true],
      [5, true],
      [8, true],
    ]);
    expect(data[0]!.bytes.readUInt32BE(1)).toBe(12 + 4);
    const rows = await client.query('SELECT id, name FROM copy_in_t ORDER BY id');
    expect(rows.rows).toEqual([
      { id: 1, name: 'one' },
      { id: 2, name: 'two' },
      { id: 3, name: 'three' },
    ]);
  });
});
