import { createInterface } from 'node:readline';
import type { Platform } from '../platform.ts';
import { type LogLine, logKey } from '../worker/step-recorder.ts';

const LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'];

export interface LogQuery {
  limit: number;
  offset: number;
  /** The lowest level shown. */
  level?: string;
  stepId?: string;
  search?: string;
}

/** Reads a job's log file line by line (never whole into memory), filtering and paging. */
export async function readLog(p: Platform, jobId: string, q: LogQuery) {
  const items: LogLine[] = [];
  let total = 0;
  if ((await p.store.size(logKey(jobId))) === undefined)
    return { items, total, limit: q.limit, offset: q.offset };
  const min = q.level ? LEVELS.indexOf(q.level) : 0;
  const needle = q.search?.toLowerCase();
  const lines = createInterface({ input: p.store.read(logKey(jobId)), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const text of lines) {
    if (!text) continue;
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      continue; // a line cut by a crash mid-write
    }
    if (LEVELS.indexOf(line.level) < min) continue;
    if (q.stepId !== undefined && line.stepId !== q.stepId) continue;
    if (needle && !line.message.toLowerCase().includes(needle)) continue;
    if (total >= q.offset && items.length < q.limit) items.push(line);
    total++;
  }
  return { items, total, limit: q.limit, offset: q.offset };
}
