import { readdirSync, readlinkSync } from 'node:fs';

/**
 * How many of this process's file descriptors are open on `path`: only that file's, since others
 * of the process (a test before, still closing) come and go. Linux's /proc.
 */
export function descriptorsOn(path: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path;
    } catch {
      return false; // closed since the listing
    }
  }).length;
}
