import { snappyUncompress } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import { writeCompressors } from './file-writer.ts';

describe('parquet write compressors', () => {
  it('compress snappy natively, in raw blocks that hyparquet reads back', async () => {
    const { SNAPPY } = await writeCompressors();
    // The native package ships a binary for linux-x64, where the tests run.
    expect(SNAPPY).toBeTypeOf('function');
    const text = new TextEncoder().encode('sluice '.repeat(10_000) + 'ünïcødé 🚚');
    const page = new Uint8Array(text.length + 3);
    page.set(text, 3); // a view at an offset, as hyparquet-writer hands pages over
    const input = page.subarray(3);
    const packed = SNAPPY!(input);
    expect(packed.length).toBeLessThan(input.length / 10);
    const out = new Uint8Array(input.length);
    snappyUncompress(packed, out);
    expect(Buffer.from(out).equals(Buffer.from(input))).toBe(true);
  });
});
