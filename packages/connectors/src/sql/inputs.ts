import { createWriteStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { DuckDBConnection } from '@duckdb/node-api';
import { Type } from '@sinclair/typebox';
import {
  type ComponentContext,
  ConfigError,
  ErrorCode,
  FatalError,
  resolveDataset,
  resolveLocalPath,
  SluiceError,
} from '@sluice/core';
import { openLocation } from '../location/index.ts';
import type { LocationOptions } from '../location/options.ts';
import { plainPath, schemeOf } from '../location/url.ts';
import { quoteIdent } from '../postgres/ident.ts';

export const INPUT_FORMATS = ['csv', 'parquet', 'json', 'ndjson'] as const;
export type InputFormat = (typeof INPUT_FORMATS)[number];

export const namedInput = Type.Object(
  {
    path: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "A file read as this table: a local path (relative paths resolve against the spec file's " +
          'directory, under the same rules as file sources), or s3://, sftp://, https:// (fetched ' +
          "through the step's `s3`/`sftp`/`http` settings into the step's temporary directory first).",
        examples: ['data/airports.csv'],
      }),
    ),
    dataset: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'A dataset another step of the pipeline produced, by name (read as Parquet).',
        examples: ['airports'],
      }),
    ),
    format: Type.Optional(
      Type.Unsafe<InputFormat>({
        type: 'string',
        enum: [...INPUT_FORMATS],
        description:
          "The file's format; default from its extension (.csv/.tsv, .parquet, .json, .ndjson/.jsonl, " +
          'optionally compressed .gz/.zst). CSV and JSON column types are detected by DuckDB.',
        examples: ['csv'],
      }),
    ),
  },
  {
    additionalProperties: false,
    description: 'One more table for the query: give `path` or `dataset`.',
  },
);

export interface NamedInput {
  path?: string | undefined;
  dataset?: string | undefined;
  format?: InputFormat | undefined;
}

/** A name the query can use unquoted, not `input`. */
export const INPUT_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Problems with `inputs` that need no I/O, at paths under `with.inputs`. */
export function inputIssues(
  inputs: Record<string, NamedInput> | undefined,
): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  for (const [name, def] of Object.entries(inputs ?? {})) {
    const at = `inputs.${name}`;
    if (!INPUT_NAME.test(name))
      issues.push({
        path: at,
        message: `"${name}" is not a table name: use letters, digits and _ (not first)`,
      });
    else if (name.toLowerCase() === 'input')
      issues.push({
        path: at,
        message: '"input" is the table of the rows that reach the transform; pick another name',
      });
    if ((def.path === undefined) === (def.dataset === undefined))
      issues.push({
        path: at,
        message: 'give exactly one of `path` (a file) or `dataset` (a dataset by name)',
      });
    else if (def.path !== undefined && def.format === undefined && formatOf(def.path) === undefined)
      issues.push({
        path: `${at}.path`,
        message: `cannot tell the format of "${def.path}" from its extension; set format: csv, parquet, json or ndjson`,
      });
  }
  return issues;
}

/** The format a file's name says, looking past a compression suffix. */
function formatOf(path: string): InputFormat | undefined {
  let name = basename(path.split('?')[0]!).toLowerCase();
  const ext = extname(name);
  if (ext === '.gz' || ext === '.zst') name = name.slice(0, -ext.length);
  switch (extname(name)) {
    case '.csv':
    case '.tsv':
      return 'csv';
    case '.parquet':
      return 'parquet';
    case '.json':
      return 'json';
    case '.ndjson':
    case '.jsonl':
      return 'ndjson';
    default:
      return undefined;
  }
}

const literal = (s: string): string => `'${s.replaceAll("'", "''")}'`;

function reader(format: InputFormat, file: string): string {
  switch (format) {
    case 'csv':
      return `read_csv(${literal(file)})`;
    case 'parquet':
      return `read_parquet(${literal(file)})`;
    case 'json':
      return `read_json(${literal(file)})`;
    case 'ndjson':
      return `read_json(${literal(file)}, format = 'newline_delimited')`;
  }
}

/**
 * Makes each named input a view of its file in `conn`, and returns the files. Remote files are copied into the step's
 * temporary directory first: DuckDB's own httpfs would need an extension download, and would not
 * honour the step's credentials, circuits and path rules.
 */
export async function attachInputs(
  conn: DuckDBConnection,
  inputs: Record<string, NamedInput>,
  ctx: ComponentContext<LocationOptions> & { readonly tempDir: string },
): Promise<string[]> {
  const files: string[] = [];
  for (const [name, def] of Object.entries(inputs)) {
    const where = `step "${ctx.stepId}": with.inputs.${name}`;
    let file: string;
    let format: InputFormat;
    if (def.dataset !== undefined) {
      // The run's dataset area: the Parquet file an earlier step wrote (the plan checked it needs it).
      file = (await resolveDataset(ctx, def.dataset, `${where}.dataset`)).path;
      format = 'parquet';
    } else {
      const path = def.path!;
      format = def.format ?? formatOf(path)!;
      file =
        schemeOf(path) === 'file'
          ? await localFile(ctx, plainPath(path), `${where}.path`)
          : await download(ctx, path, name, `${where}.path`);
    }
    files.push(file);
    try {
      await conn.run(`CREATE VIEW ${quoteIdent(name)} AS SELECT * FROM ${reader(format, file)}`);
    } catch (err) {
      throw new ConfigError('invalid sql transform input', [
        {
          path: `with.inputs.${name}`,
          message: `DuckDB cannot read ${def.path ?? `dataset "${def.dataset}"`} as ${format}: ${(err as Error).message}`,
        },
      ]);
    }
  }
  return files;
}

async function localFile(ctx: ComponentContext<unknown>, path: string, where: string): Promise<string> {
  const abs = await resolveLocalPath(ctx, path, where);
  const s = await stat(abs).catch(() => undefined);
  if (s === undefined) throw new SluiceError(ErrorCode.NOT_FOUND, `${where}: ${abs} does not exist`);
  if (!s.isFile()) throw new SluiceError(ErrorCode.NOT_FOUND, `${where}: ${abs} is not a file`);
  return abs;
}

async function download(
  ctx: ComponentContext<LocationOptions> & { readonly tempDir: string },
  url: string,
  name: string,
  where: string,
): Promise<string> {
  const location = await openLocation(url, ctx.config, ctx, where);
  try {
    await location.stat(url, ctx.signal);
    await mkdir(ctx.tempDir, { recursive: true });
    // The input's name keeps files apart; the URL's extension keeps DuckDB's compression detection.
    const file = join(ctx.tempDir, `input-${name}${extname(basename(url.split('?')[0]!))}`);
    await pipeline(location.read(url, { signal: ctx.signal, chunkSize: 1 << 20 }), createWriteStream(file));
    return file;
  } catch (err) {
    if (err instanceof SluiceError) throw err;
    throw new FatalError(`${where}: could not fetch ${url}: ${(err as Error).message}`, { cause: err });
  } finally {
    await location.close();
  }
}
