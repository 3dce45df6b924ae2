import { closeSync, openSync, readSync, rmSync } from 'node:fs';

/** Lines in a file, counting a last line without a trailing newline; NDJSON has one record per line. */
export function countLines(path: string): number {
  const fd = openSync(path, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  let lines = 0;
  let last = 0x0a;
  try {
    for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) {
      for (let i = buf.indexOf(0x0a); i !== -1 && i < n; i = buf.indexOf(0x0a, i + 1)) lines++;
      last = buf[n - 1]!;
    }
  } finally {
    closeSync(fd);
  }
  return last === 0x0a ? lines : lines + 1;
}

export function removeFile(path: string): void {
  rmSync(path, { force: true });
}
