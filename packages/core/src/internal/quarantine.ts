import { copyFile, type FileHandle, mkdir, open, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { QuarantineEntry } from '../connector.ts';
import { ErrorCode, SluiceError } from '../errors.ts';
import type { RunReport, StepReport } from '../report.ts';
import { concatFiles } from './concat.ts';

export interface QuarantineRecord extends QuarantineEntry {
  step: string;
  component: string;
  file?: string;
  time: string;
}

/**
 * One step's quarantine file (NDJSON). Entries are buffered and written with the step's
 * checkpoints, so the file's length is part of a checkpoint and a resumed run truncates it back:
 * a row quarantined before a crash is not recorded twice.
 */
export class QuarantineFile {
  readonly path: string;
  #fh: FileHandle | undefined;
  #buffer: string[] = [];
  #bytes = 0;
  #rows = 0;

  constructor(path: string) {
    this.path = path;
  }

  get rows(): number {
    return this.#rows;
  }

  async open(resume: { bytes: number; rows: number } | undefined): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    if (resume) {
      const size = await stat(this.path).then(
        (s) => s.size,
        () => -1,
      );
      if (size < resume.bytes) {
        throw new SluiceError(
          ErrorCode.CHECKPOINT,
          `quarantine file ${this.path} is shorter than its checkpoint; rerun without --resume`,
        );
      }
      this.#fh = await open(this.path, 'r+');
      await this.#fh.truncate(resume.bytes);
      this.#bytes = resume.bytes;
      this.#rows = resume.rows;
    } else {
      this.#fh = await open(this.path, 'w');
    }
  }

  add(record: QuarantineRecord): void {
    const { row, ...rest } = record;
    // The row may hold BigInt or cycles from a misbehaving connector; never let that lose the entry.
    let line: string;
    try {
      line = JSON.stringify(row === undefined ? rest : { ...rest, row });
    } catch {
      line = JSON.stringify({ ...rest, row: String(row) });
    }
    this.#buffer.push(line, '\n');
    this.#rows++;
  }

  /** Writes buffered entries; returns the state to keep in a checkpoint. */
  async flush(): Promise<{ bytes: number; rows: number }> {
    if (this.#buffer.length > 0 && this.#fh) {
      const data = Buffer.from(this.#buffer.join(''));
      this.#buffer = [];
      await this.#fh.write(data, 0, data.length, this.#bytes);
      // The checkpoint about to record this length must not outlive the entries after a power cut.
      await this.#fh.sync();
      this.#bytes += data.length;
    }
    return { bytes: this.#bytes, rows: this.#rows };
  }

  async close(): Promise<void> {
    await this.flush();
    await this.#fh?.close();
    this.#fh = undefined;
  }
}

/** Gathers the steps' quarantine files into the run's one `quarantine.ndjson`. */
export async function collectQuarantine(
  stateDir: string,
  steps: StepReport[],
): Promise<RunReport['quarantine']> {
  const rows = steps.reduce((a, s) => a + s.rowsQuarantined, 0);
  const files: string[] = [];
  for (const s of steps) {
    const f = join(stateDir, 'steps', s.id, 'quarantine.ndjson');
    if (s.rowsQuarantined > 0 && (await stat(f).catch(() => null))) files.push(f);
  }
  if (files.length === 0) return { rows, path: null };
  const out = join(stateDir, 'quarantine.ndjson');
  await mkdir(stateDir, { recursive: true });
  if (files.length === 1) await copyFile(files[0]!, out);
  else await concatFiles(files, out);
  return { rows, path: out };
}
