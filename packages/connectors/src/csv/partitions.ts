import type { PartitionedRead } from '@sluice/core';
import { compressedRefusal, planByteParts, wholeFilePart } from '../shared/byte-parts.ts';
import { fileSetRefusal, listFiles, planFileParts } from '../shared/file-parts.ts';
import { oneFile } from '../shared/file-set.ts';
import { csvChunks } from './chunks.ts';
import type { CsvSourceConfig } from './config.ts';
import { compressed } from './setup.ts';

/**
 * How a partitioned step cuts CSV input: one plain file into byte ranges that end where records do
 * (found as the parallel path finds chunks: its first-record read and CsvCutter), a glob (or a
 * read with fileField) into groups of files (see file-parts.ts).
 */
export const csvPartitions: PartitionedRead<CsvSourceConfig> = {
  check(cfg) {
    const refused = fileSetRefusal(cfg);
    if (refused !== undefined || !oneFile(cfg)) return refused;
    if (compressed(cfg)) return compressedRefusal(cfg.path);
    // The cutter compares bytes: beyond ASCII a delimiter or quote is several bytes in UTF-8.
    for (const key of ['delimiter', 'quote'] as const)
      if (cfg[key].charCodeAt(0) > 0x7f)
        return `${key} "${cfg[key]}" is not ASCII, which cutting the file into byte ranges needs`;
    return undefined;
  },

  async plan(ctx, n) {
    if (!oneFile(ctx.config)) return planFileParts(ctx, n);
    const split = await csvChunks.split(ctx, 0);
    if (split !== undefined) return planByteParts(ctx, split, n);
    // No record to read, or records that end in CR alone (the cutter follows LF): one part.
    const [file] = await listFiles(ctx);
    return wholeFilePart(file!.size);
  },
};
