import type { RunEvent } from '@sluice/core';
import pc from 'picocolors';
import { duration, int } from './format.ts';

interface Line {
  rows: number;
  done?: number;
  total?: number;
  started: number;
  status: string;
}

/**
 * Live progress on a terminal: one line per running step with rows, rows/s and, when the source
 * knows its size, an ETA. Redraws at most every 100 ms so that drawing never slows the run.
 */
export class ProgressDisplay {
  readonly #lines = new Map<string, Line>();
  readonly #out: NodeJS.WriteStream;
  #drawn = 0;
  #last = 0;

  constructor(out: NodeJS.WriteStream) {
    this.#out = out;
  }

  onEvent(e: RunEvent): void {
    if (e.type === 'step') {
      const l = this.#lines.get(e.stepId) ?? { rows: 0, started: Date.now(), status: e.status };
      l.status = e.status;
      this.#lines.set(e.stepId, l);
      this.#draw(true);
    } else if (e.type === 'progress') {
      const l = this.#lines.get(e.stepId);
      if (!l) return;
      l.rows = e.rowsRead;
      l.done = e.done;
      l.total = e.total;
      this.#draw(false);
    }
  }

  /** Writes a log line above the progress lines. */
  print(text: string): void {
    this.#clear();
    this.#out.write(`${text}\n`);
    this.#draw(true);
  }

  finish(): void {
    this.#draw(true);
    this.#drawn = 0;
  }

  #clear(): void {
    if (this.#drawn > 0) this.#out.write(`\x1b[${this.#drawn}A\x1b[0J`);
    this.#drawn = 0;
  }

  #draw(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.#last < 100) return;
    this.#last = now;
    this.#clear();
    const lines = [...this.#lines].map(([id, l]) => {
      const secs = (now - l.started) / 1000;
      const speed = secs > 0 ? l.rows / secs : 0;
      let eta = '';
      if (l.status === 'running' && l.total && l.done && l.done > 0) {
        const left = ((l.total - l.done) / l.done) * (now - l.started);
        eta = `  ${Math.round((100 * l.done) / l.total)}%  ETA ${duration(left)}`;
      }
      const mark =
        l.status === 'running' ? pc.cyan('▸') : l.status === 'success' ? pc.green('✓') : pc.red('✗');
      return `${mark} ${id}  ${int(l.rows)} rows  ${int(speed)} rows/s${eta}  ${pc.dim(l.status)}`;
    });
    if (lines.length > 0) this.#out.write(`${lines.join('\n')}\n`);
    this.#drawn = lines.length;
  }
}
