import { Type } from '@sinclair/typebox';

/**
 * What a stored credential holds for the mysql source and sink: the connection url, which carries
 * the password. Its fields fill in the step's config, so `url` is the config's own option.
 */
export const MyCredential = Type.Object(
  {
    url: Type.String({
      minLength: 1,
      writeOnly: true,
      description:
        'MySQL or MariaDB connection url with the password, e.g. mysql://user:password@host:3306/database',
      examples: ['mysql://etl:secret@db.internal:3306/warehouse'],
    }),
  },
  { additionalProperties: false },
);
