import { type Static, Type } from '@sinclair/typebox';

/**
 * How a file connector reaches a remote `path`: one group per kind of store. Each group may come
 * from the step's `with:` or from a stored credential (objects merge one level deep, so a config
 * can name the bucket's region while the credential holds the keys). Secrets are `writeOnly`:
 * the UI masks them and the API never returns them.
 */
export const s3Options = Type.Object(
  {
    region: Type.Optional(
      Type.String({ minLength: 1, description: 'Region; default AWS_REGION, else us-east-1.' }),
    ),
    endpoint: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'Endpoint of an S3-compatible store (MinIO, Ceph…), e.g. http://127.0.0.1:9000; default ' +
          'AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, else AWS itself.',
      }),
    ),
    forcePathStyle: Type.Optional(
      Type.Boolean({
        description:
          'Address buckets as endpoint/bucket/key. Default: true when an endpoint is set, else false.',
      }),
    ),
    accessKeyId: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'Access key id; default the SDK chain (AWS_ACCESS_KEY_ID…).',
      }),
    ),
    secretAccessKey: Type.Optional(
      Type.String({ minLength: 1, writeOnly: true, description: 'Secret access key.' }),
    ),
    sessionToken: Type.Optional(
      Type.String({ minLength: 1, writeOnly: true, description: 'Session token.' }),
    ),
  },
  { additionalProperties: false, description: 'S3 and S3-compatible object storage, for s3:// paths.' },
);

export const sftpOptions = Type.Object(
  {
    username: Type.Optional(
      Type.String({ minLength: 1, description: 'User; default the one in the URL (sftp://user@host/…).' }),
    ),
    password: Type.Optional(Type.String({ minLength: 1, writeOnly: true, description: 'Password.' })),
    privateKey: Type.Optional(
      Type.String({ minLength: 1, writeOnly: true, description: 'Private key (PEM or OpenSSH format).' }),
    ),
    passphrase: Type.Optional(
      Type.String({ minLength: 1, writeOnly: true, description: "The private key's passphrase." }),
    ),
    hostKey: Type.Optional(
      Type.String({
        pattern: '^SHA256:[A-Za-z0-9+/]{43}=?$',
        description:
          "The server's host key fingerprint as `ssh-keygen -lf` prints it (SHA256:…); the connection " +
          'is refused when the server shows another. Without it any host key is accepted.',
      }),
    ),
  },
  { additionalProperties: false, description: 'SFTP servers, for sftp:// paths.' },
);

export const httpOptions = Type.Object(
  {
    headers: Type.Optional(
      Type.Record(Type.String({ minLength: 1 }), Type.String(), {
        description: 'Request headers, e.g. {"Accept": "text/csv"}.',
      }),
    ),
    bearerToken: Type.Optional(
      Type.String({ minLength: 1, writeOnly: true, description: 'Sent as `Authorization: Bearer <token>`.' }),
    ),
    timeoutMs: Type.Integer({
      minimum: 100,
      default: 30_000,
      description: 'Time allowed for a response to start, and between two chunks of its body.',
    }),
  },
  {
    additionalProperties: false,
    description: 'HTTP(S) downloads, for http:// and https:// paths (read-only).',
  },
);

/** The config groups every file connector takes beside `path`. */
export const locationProperties = {
  s3: Type.Optional(s3Options),
  sftp: Type.Optional(sftpOptions),
  http: Type.Optional(httpOptions),
};

/** What a stored credential may hold for a file connector: the same groups. */
export const fileCredential = Type.Object(locationProperties, { additionalProperties: false });

export type S3Options = Static<typeof s3Options>;
export type SftpOptions = Static<typeof sftpOptions>;
export type HttpOptions = Static<typeof httpOptions>;
export interface LocationOptions {
  readonly s3?: S3Options | undefined;
  readonly sftp?: SftpOptions | undefined;
  readonly http?: HttpOptions | undefined;
}

/** The S3-compatible endpoint a config points at (its own, else the SDK's variables); undefined for AWS. */
export function s3Endpoint(o: S3Options | undefined): string | undefined {
  return o?.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
}
