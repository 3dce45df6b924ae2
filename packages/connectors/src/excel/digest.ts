import { createHash } from 'node:crypto';

const MASK = (1n << 64n) - 1n;

/**
 * An order-independent checksum of rows of cell values, in the form the source reads them (dates
 * as ISO text): the sum, modulo 2^64, of the first 8 bytes of each row's SHA-256. Computed on
 * what the sink handed to the writer and on what it reads back from the written sheet, so the two
 * compare.
 */
export class RowSum {
  #sum = 0n;
  rows = 0;

  add(values: unknown[]): void {
    const h = createHash('sha256').update(JSON.stringify(values)).digest();
    this.#sum = (this.#sum + h.readBigUInt64BE(0)) & MASK;
    this.rows++;
  }

  get sum(): string {
    return this.#sum.toString(16).padStart(16, '0');
  }
}
