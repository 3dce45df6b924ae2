import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ErrorCode, parseSpecText, SluiceError } from '@sluice/core';

/** Reads a spec file; relative paths inside it resolve against its directory. */
export async function loadSpec(path: string): Promise<{ doc: unknown; baseDir: string; file: string }> {
  const file = resolve(path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw new SluiceError(ErrorCode.NOT_FOUND, `cannot read spec ${file}: ${why}`, { cause: err });
  }
  return { doc: parseSpecText(text, path), baseDir: dirname(file), file };
}
