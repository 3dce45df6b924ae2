import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';

export async function concatFiles(files: string[], out: string): Promise<void> {
  const w = createWriteStream(out);
  for (const f of files) await pipeline(createReadStream(f), w, { end: false });
  await new Promise<void>((res, rej) => w.end((err?: Error | null) => (err ? rej(err) : res())));
}
