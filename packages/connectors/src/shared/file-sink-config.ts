import { Type } from '@sinclair/typebox';
import { type Issue, verifyProperty } from '@sluice/core';
import { locationProperties } from '../location/options.ts';
import { type Compression, compressionProperty, suffixCodec } from './compression.ts';

/** Config properties every file sink has. */
export const fileSinkProperties = {
  path: Type.String({
    minLength: 1,
    description:
      "File to write: a local path (relative paths resolve against the spec file's directory; missing " +
      'directories are created), s3://bucket/key or sftp://user@host:port/dir/file. Rows go to ' +
      '`<path>.partial` (for a remote path, a staging file on this machine), which becomes `path` only ' +
      'when the step succeeds: renamed locally, uploaded in one atomic put to a remote store.',
  }),
  overwrite: Type.Boolean({
    default: true,
    description: 'Replace the file if it exists. When false, the step fails before writing anything.',
  }),
  verify: verifyProperty,
  ...locationProperties,
};

/** Config properties of the sinks that write text (csv, ndjson, json), which may be compressed. */
export const textSinkProperties = { ...fileSinkProperties, compression: compressionProperty(false) };

/**
 * The `check` of a sink whose config holds `fileSinkProperties` and writes a binary format
 * (Parquet, Excel): those compress inside the file, so a .gz or .zst name would mislead readers.
 */
export function fileOutputIssues(cfg: { path: string }): Issue[] {
  const codec = suffixCodec(cfg.path);
  if (codec === undefined) return [];
  return [
    {
      path: 'path',
      message:
        `${cfg.path} names a ${codec} file, but this sink writes a binary format that compresses inside ` +
        'the file (Parquet: config.compression; an .xlsx is a zip already). Drop the suffix.',
    },
  ];
}

/** The `check` of a sink whose config holds `textSinkProperties`: the name and the codec agree. */
export function textOutputIssues(cfg: { path: string; compression: Compression }): Issue[] {
  const named = suffixCodec(cfg.path);
  if (cfg.compression === 'auto' || named === undefined || named === cfg.compression) return [];
  const wrote = cfg.compression === 'none' ? 'uncompressed text' : `${cfg.compression} data`;
  return [
    {
      path: 'compression',
      message:
        `${cfg.path} names a ${named} file, but compression: ${cfg.compression} would write ${wrote} into it, ` +
        'which readers would refuse. Set compression: auto (by the name), or change the suffix.',
    },
  ];
}
