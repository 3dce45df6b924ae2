import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { localLocation } from '../location/local.ts';
import { locationBuffer } from './async-buffer.ts';

describe('locationBuffer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-async-buffer-'));
  const path = join(dir, 'f.bin');
  writeFileSync(path, Buffer.from(Array.from({ length: 100 }, (_, i) => i)));
  const location = localLocation({ baseDir: dir, stepId: 'test' }, 'test');

  it('reads a range of the file', async () => {
    const file = locationBuffer(location, path, 100, new AbortController().signal);
    expect([...new Uint8Array(await file.slice(10, 14))]).toEqual([10, 11, 12, 13]);
    expect(new Uint8Array(await file.slice(98)).length).toBe(2);
  });

  it('fails on a file shorter than its size said, instead of handing over zeros', async () => {
    const file = locationBuffer(location, path, 200, new AbortController().signal);
    await expect(file.slice(50, 150)).rejects.toThrow(/ended 50 bytes early, at byte 100 of 200/);
  });
});
