import { Type } from '@sinclair/typebox';
import { locationProperties } from '../location/options.ts';

/** Config properties every file source has: where the files are, and which of them to read. */
export const fileSourceProperties = {
  path: Type.String({
    minLength: 1,
    description:
      "File to read: a local path (relative paths resolve against the spec file's directory), " +
      's3://bucket/key, sftp://user@host:port/dir/file or https://host/file. A glob (`*`, `?`, `[…]`, ' +
      '`{a,b}`) reads every file it matches, in name order, as one stream.',
    examples: ['data/orders.csv', 's3://landing/in/2026-*/*.csv'],
  }),
  fileField: Type.Optional(
    Type.String({ minLength: 1, description: 'Adds this field to every row: the file the row came from.' }),
  ),
  incremental: Type.Boolean({
    default: false,
    description:
      'Read only files that are new or changed (size, modification time or ETag) since the last ' +
      'successful run of this step; remembered per pipeline, as a SQL source remembers its cursor.',
  }),
  ...locationProperties,
};
