import { gzipSync } from 'node:zlib';
import { ErrorCode, FatalError } from '@sluice/core';
import { decompress as fzstd } from 'fzstd';
import { describe, expect, it } from 'vitest';
import { type Codec, codecOf, compressFrame, decompress, decompressSmall } from './compression.ts';
import { ZstdFrames } from './zstd-frames.ts';

async function* pieces(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

async function text(data: Buffer, codec: Codec, size = 7): Promise<string> {
  const out: Buffer[] = [];
  for await (const c of decompress(pieces(data, size), codec, 'f', false)) out.push(c);
  return Buffer.concat(out).toString();
}

const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as FatalError,
  );

describe('codecOf', () => {
  it('takes the configured codec, or the one the name ends with', () => {
    expect(codecOf('a.csv.gz')).toBe('gzip');
    expect(codecOf('s3://b/a.ndjson.ZST')).toBe('zstd');
    expect(codecOf('https://h/a.json.zstd?sig=1')).toBe('zstd');
    expect(codecOf('a.csv')).toBeUndefined();
    expect(codecOf('a.csv.gz', 'none')).toBeUndefined();
    expect(codecOf('a.bin', 'zstd')).toBe('zstd');
  });
});

describe.each(['gzip', 'zstd'] as const)('%s', (codec) => {
  const a = 'id,name\n'.repeat(500);
  const b = '1,Cé 🚚\n'.repeat(3);

  it('reads concatenated members or frames as one text, in pieces cut anywhere', async () => {
    const file = Buffer.concat([
      await compressFrame(codec, Buffer.from(a)),
      await compressFrame(codec, Buffer.from(b)),
    ]);
    expect(await text(file, codec)).toBe(a + b);
    expect(await text(file, codec, 1 << 20)).toBe(a + b);
    // Decoded by another reader than ours too: the file is valid as a whole.
    const other = codec === 'gzip' ? (await import('node:zlib')).gunzipSync(file) : Buffer.from(fzstd(file));
    expect(other.toString()).toBe(a + b);
  });

  it('names a file cut short', async () => {
    const file = await compressFrame(codec, Buffer.from(a + b));
    const err = await failure(text(file.subarray(0, file.length - 5), codec));
    expect(err).toBeInstanceOf(FatalError);
    expect(err?.code).toBe(ErrorCode.CONFIG);
    expect(err?.message).toMatch(new RegExp(`^f: the ${codec} data ends too soon .*cut short`));
  });

  it('names a file that is not of the codec', async () => {
    const err = await failure(text(Buffer.from('id,name\n1,a\n'.repeat(10)), codec));
    expect(err?.message).toMatch(new RegExp(`^f: not a ${codec} file .*remove the \\.(gz|zst) suffix`));
  });

  it('decodes a small whole input', async () => {
    expect((await decompressSmall(codec, await compressFrame(codec, Buffer.from('\n]\n')))).toString()).toBe(
      '\n]\n',
    );
  });
});

describe('gzip', () => {
  it('names corrupt data', async () => {
    const file = gzipSync('x'.repeat(1000) + 'y'.repeat(1000));
    file[12] ^= 0xff;
    const err = await failure(text(file, 'gzip'));
    expect(err?.message).toMatch(/^f: the gzip data is corrupt/);
  });
});

describe('ZstdFrames', () => {
  const frames = async () => {
    const a = await compressFrame('zstd', Buffer.from('id,name\n'.repeat(5000)));
    const b = await compressFrame('zstd', Buffer.from('x'));
    // A skippable frame (magic 0x184D2A50, 3 bytes of content) between them, as some writers add.
    const skippable = Buffer.from([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
    return Buffer.concat([a, skippable, b]);
  };

  it('ends complete only between frames, whatever the pieces', async () => {
    const data = await frames();
    for (const size of [1, 5, 1 << 20]) {
      const f = new ZstdFrames();
      for (let i = 0; i < data.length; i += size) f.feed(data.subarray(i, i + size));
      expect(f.complete).toBe(true);
      expect(f.bad).toBeUndefined();
    }
    for (const cut of [1, 4, 9, data.length - 12, data.length - 1]) {
      const f = new ZstdFrames();
      f.feed(data.subarray(0, cut));
      expect(f.complete).toBe(false);
    }
  });

  it('says when the data is not zstd', () => {
    const f = new ZstdFrames();
    f.feed(Buffer.from('id,name\n'));
    expect(f.bad).toMatch(/no zstd frame starts here \(magic bytes 69 64 2c 6e\)/);
  });
});
