import { Type } from '@sinclair/typebox';

/**
 * What a stored credential holds for the postgres source and sink: the connection url, which
 * carries the password. Its fields fill in the step's config, so `url` is the config's own
 * option; host/user/password fields would be refused there as unknown options.
 */
export const PgCredential = Type.Object(
  {
    url: Type.String({
      minLength: 1,
      writeOnly: true,
      description:
        'PostgreSQL connection url with the password, e.g. postgres://user:password@host:5432/database',
      examples: ['postgres://etl:secret@db.internal:5432/warehouse'],
    }),
  },
  { additionalProperties: false },
);
