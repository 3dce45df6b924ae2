import type { S3Object } from '@sluice/connectors';

// How S3Store names the objects appended text goes to. A key's segments live under `<key>.seg/`:
// `<n>-<writer>` holds one upload, numbered in the order of the text; `<last>-<writer>-from-<first>`
// is a compaction of segments first…last into one object, which makes them redundant (they are
// deleted after it is written, and ignored by readers until then).

export const SEGMENTS = '.seg/';
const NAME = /\.seg\/(\d+)-([0-9a-z]+)(?:-from-(\d+))?$/;

/** A segment object with the numbers it covers (one, unless it is a compaction). */
export interface Segment extends S3Object {
  first: number;
  last: number;
  compacted: boolean;
}

export const segmentName = (key: string, n: number, writer: string, from?: number) =>
  `${key}${SEGMENTS}${pad(n)}-${writer}${from === undefined ? '' : `-from-${pad(from)}`}`;

const pad = (n: number) => String(n).padStart(8, '0');

export function parseSegment(o: S3Object): Segment | undefined {
  const m = NAME.exec(o.key);
  if (!m) return undefined;
  const last = Number(m[1]);
  return { ...o, last, first: m[3] === undefined ? last : Number(m[3]), compacted: m[3] !== undefined };
}

/**
 * The segments that make a value, in order: those no compaction covers (two compactions of the same
 * numbers keep the first by name), by number, then by name for two writers that took one number.
 */
export function liveSegments(all: Segment[]): Segment[] {
  const compactions = all.filter((s) => s.compacted);
  const covered = (s: Segment) =>
    compactions.some(
      (c) =>
        c !== s &&
        c.first <= s.first &&
        s.last <= c.last &&
        (c.last - c.first > s.last - s.first || c.key < s.key),
    );
  return all.filter((s) => !covered(s)).sort((a, b) => a.last - b.last || (a.key < b.key ? -1 : 1));
}
