import type { FileHandle } from 'node:fs/promises';
import { ErrorCode, SluiceError } from '@sluice/core';
import type { FileMetaData } from 'hyparquet';

/** The file's metadata, from its footer (the last 8 bytes give its length). */
export async function readFooter(
  handle: FileHandle,
  size: number,
  where: string,
): Promise<FileMetaData & { metadata_length: number }> {
  const tail = Buffer.alloc(Math.min(size, 8));
  await handle.read(tail, 0, tail.length, size - tail.length);
  const length = tail.length === 8 && tail.toString('latin1', 4) === 'PAR1' ? tail.readUInt32LE(0) : -1;
  if (length < 0 || length + 12 > size) {
    throw new SluiceError(
      ErrorCode.CONFIG,
      `${where}: not a complete Parquet file (no footer); restore it or write a new one.`,
    );
  }
  const footer = Buffer.alloc(length + 8);
  await handle.read(footer, 0, footer.length, size - footer.length);
  const { parquetMetadata } = await import('hyparquet');
  const meta = parquetMetadata(
    footer.buffer.slice(footer.byteOffset, footer.byteOffset + footer.length) as ArrayBuffer,
    { geoparquet: false },
  );
  return meta;
}
