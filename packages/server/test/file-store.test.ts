import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
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
});
