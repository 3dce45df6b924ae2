import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { descriptorsOn } from '../../connectors/test/open-files.ts';
import { FileStore } from '../src/storage/file-store.ts';

describe('file store', () => {
  it('makes the directories a key needs, appends and writes, and refuses a key outside it', async () => {
    const root = mkdtempSync(join(tmpdir(), 'sluice-store-'));
    const store = new FileStore(root);
    await store.append('jobs/j1/log.ndjson', 'one\n');
    await store.append('jobs/j1/log.ndjson', 'two\n');
    await store.write('jobs/j2/deep/report.json', '{}');
    expect(readFileSync(join(root, 'jobs/j1/log.ndjson'), 'utf8')).toBe('one\ntwo\n');
    expect(await store.size('jobs/j2/deep/report.json')).toBe(2);
    await store.remove('jobs/j1');
    // Its directory gone (retention), the next line makes it again.
    await store.append('jobs/j1/log.ndjson', 'three\n');
    expect(readFileSync(join(root, 'jobs/j1/log.ndjson'), 'utf8')).toBe('three\n');
    await expect(store.append('../escape.txt', 'x')).rejects.toThrow(/leaves the store/);
  });

  it('keeps lines appended at once in order, each on disk when its append returns, and lets go of the file', async () => {
    const root = mkdtempSync(join(tmpdir(), 'sluice-store-'));
    const store = new FileStore(root);
    const key = 'jobs/j3/log.ndjson';
    const lines = Array.from({ length: 200 }, (_, i) => `line ${i}\n`);
    await Promise.all(lines.map((l) => store.append(key, l)));
    expect(readFileSync(join(root, key), 'utf8')).toBe(lines.join(''));
    const fds = () => descriptorsOn(join(root, key));
    expect(fds()).toBe(1);
    await store.flush(key);
    expect(fds()).toBe(0);
    // Appending after a flush opens it again, at its end.
    await store.append(key, 'after\n');
    expect(readFileSync(join(root, key), 'utf8')).toBe(`${lines.join('')}after\n`);
    await store.close();
    expect(fds()).toBe(0);
  });
});
