import type { AsyncBuffer } from 'hyparquet';
import type { Location } from '../location/types.ts';

/**
 * hyparquet's view of a file: its length and ranged reads, each served by one `Location.read`,
 * so the footer and each row group's column chunks are fetched alone, whatever the store.
 */
export function locationBuffer(
  location: Location,
  url: string,
  size: number,
  signal: AbortSignal,
): AsyncBuffer {
  return {
    byteLength: size,
    async slice(start: number, end?: number): Promise<ArrayBuffer> {
      const stop = Math.min(end ?? size, size);
      const out = new Uint8Array(Math.max(0, stop - start));
      let at = 0;
      if (out.length === 0) return out.buffer;
      for await (const chunk of location.read(url, { start, end: stop, signal, chunkSize: out.length })) {
        out.set(chunk.subarray(0, out.length - at), at);
        at += chunk.length;
      }
      // A file cut short since its size was read (rewritten in place, a short HTTP range) would
      // leave zeros, which can decode as values: an error instead.
      if (at < out.length)
        throw new Error(`the file ended ${out.length - at} bytes early, at byte ${start + at} of ${size}`);
      return out.buffer;
    },
  };
}
