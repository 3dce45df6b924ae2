import { describe, expect, it } from 'vitest';
import { RecordDigest, type RecordSyntax } from './record-digest.ts';

const enc = new TextEncoder();

function digest(text: string, syntax: RecordSyntax, hash: boolean, cuts: number[] = []): RecordDigest {
  const bytes = enc.encode(text);
  const d = new RecordDigest(syntax, hash);
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    d.feed(bytes, from, cut);
    from = cut;
  }
  d.end();
  return d;
}

describe('RecordDigest', () => {
  const csv = 'id,note\n1,"two\nlines"\n2,"a ""quoted"" word"\n3,plain\n';

  it('counts CSV records, not lines, with or without hashing, wherever the bytes are cut', () => {
    for (const hash of [false, true]) {
      expect(digest(csv, 'csv', hash).records).toBe(4);
      for (let cut = 1; cut < csv.length; cut++) expect(digest(csv, 'csv', hash, [cut]).records).toBe(4);
    }
    expect(digest(csv, 'lines', false).records).toBe(5);
  });

  it('sums record hashes: any order and any cutting agree; a changed, lost or doubled record does not', () => {
    const base = digest('a\nb\nc\n', 'lines', true).sum;
    expect(digest('c\na\nb\n', 'lines', true, [1, 3]).sum).toBe(base);
    expect(digest('a\nb\nC\n', 'lines', true).sum).not.toBe(base);
    expect(digest('a\nb\n', 'lines', true).sum).not.toBe(base);
    expect(digest('a\nb\nc\nc\n', 'lines', true).sum).not.toBe(base);
    // Two records swapping a byte keep the same bytes overall; the per-record hash tells them apart.
    expect(digest('ab\nc\n', 'lines', true).sum).not.toBe(digest('a\nbc\n', 'lines', true).sum);
  });

  it('counts a last record without its terminator', () => {
    expect(digest('a\nb', 'lines', false).records).toBe(2);
    expect(digest('a\nb', 'lines', true).records).toBe(2);
    expect(digest('', 'lines', true).records).toBe(0);
  });

  it('continues from a saved state as if never interrupted', () => {
    const whole = digest(csv, 'csv', true);
    const bytes = enc.encode(csv);
    const first = new RecordDigest('csv', true);
    first.feed(bytes, 0, 15);
    const second = new RecordDigest('csv', true, JSON.parse(JSON.stringify(first.state())));
    second.feed(bytes, 15);
    second.end();
    expect(second.sum).toBe(whole.sum);
    expect(second.records).toBe(4);
  });
});
