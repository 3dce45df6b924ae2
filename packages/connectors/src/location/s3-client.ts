import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { ErrorCode, SluiceError } from '@sluice/core';
import { type S3Options, s3Endpoint } from './options.ts';
import { type CredentialNote, isDenied } from './s3-errors.ts';

/** How the client is built when the config leaves it open (the SDK's own conventions). */
const S3_DEFAULTS = {
  region: 'us-east-1',
  /** Time allowed to open a connection; a dead endpoint then fails (retryably) instead of hanging. */
  connectionTimeoutMs: 10_000,
} as const satisfies { region: string; connectionTimeoutMs: number };

/** A client for one location, and what its messages and circuit breaker need to know of it. */
export interface S3Connection {
  readonly client: S3Client;
  /** The endpoint for messages: the configured one, or AWS's for the region. */
  readonly endpoint: string;
  /** `host:port`, the key of the step's circuit breaker for this store. */
  readonly hostPort: string;
  readonly creds: CredentialNote;
  /** Puts in progress, by `bucket/key`: an aborted one's requests are stopped (see abortGate). */
  readonly putting: Map<string, AbortSignal>;
}

/** Builds the client as the AWS SDK's conventions say, with `options` first. */
export function s3Connection(options: S3Options | undefined, where: string): S3Connection {
  const o = options ?? {};
  if ((o.accessKeyId === undefined) !== (o.secretAccessKey === undefined)) {
    throw new SluiceError(
      ErrorCode.CONFIG,
      `${where}: s3.accessKeyId and s3.secretAccessKey go together; set both, or neither to use the ` +
        "SDK's default credentials (AWS_ACCESS_KEY_ID…)",
    );
  }
  if (o.sessionToken !== undefined && o.accessKeyId === undefined) {
    throw new SluiceError(
      ErrorCode.CONFIG,
      `${where}: s3.sessionToken belongs to a temporary key pair; set s3.accessKeyId and ` +
        's3.secretAccessKey with it',
    );
  }
  const region = o.region ?? process.env.AWS_REGION ?? S3_DEFAULTS.region;
  const endpoint = s3Endpoint(o);
  // Checked before the SDK sees it, which would fail on a bad URL with a less helpful message.
  const hostPort = endpointHostPort(endpoint, region, where);
  const config: S3ClientConfig = {
    region,
    // An S3-compatible store rarely has a DNS name per bucket: address it as endpoint/bucket/key.
    forcePathStyle: o.forcePathStyle ?? endpoint !== undefined,
    requestHandler: { connectionTimeout: S3_DEFAULTS.connectionTimeoutMs },
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(o.accessKeyId !== undefined && o.secretAccessKey !== undefined
      ? {
          credentials: {
            accessKeyId: o.accessKeyId,
            secretAccessKey: o.secretAccessKey,
            ...(o.sessionToken === undefined ? {} : { sessionToken: o.sessionToken }),
          },
        }
      : {}),
  };
  const client = new S3Client(config);
  const creds: CredentialNote =
    o.accessKeyId !== undefined
      ? { accessKeyId: o.accessKeyId, source: 'config s3.accessKeyId' }
      : { source: "the SDK's default chain (AWS_ACCESS_KEY_ID, AWS_PROFILE, instance role…)" };
  return {
    client,
    endpoint: endpoint ?? `https://${hostPort}`,
    hostPort,
    creds,
    putting: abortGate(client),
  };
}

const GATED = new Set([
  'PutObjectCommand',
  'CreateMultipartUploadCommand',
  'UploadPartCommand',
  'CompleteMultipartUploadCommand',
]);

/**
 * Stops the requests of an aborted put before they are sent: lib-storage gives its requests no
 * abort signal, and parts already read would otherwise go on to a CompleteMultipartUpload. The
 * upload sees the failure and aborts its multipart upload itself. Returns the map a put enters
 * its signal in, keyed `bucket/key`.
 */
function abortGate(client: S3Client): Map<string, AbortSignal> {
  const putting = new Map<string, AbortSignal>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== undefined && GATED.has(context.commandName)) {
        const { Bucket, Key } = args.input as { Bucket?: string; Key?: string };
        putting.get(`${Bucket}/${Key}`)?.throwIfAborted();
      }
      return next(args);
    },
    { step: 'initialize', name: 'sluicePutAbortGate' },
  );
  return putting;
}

/** The `host:port` of the store, the key of its circuit breaker. */
function endpointHostPort(endpoint: string | undefined, region: string, where: string): string {
  if (endpoint === undefined) return `s3.${region}.amazonaws.com:443`;
  // `minio:9000` parses as a URL of scheme "minio": only http(s) ones are endpoints.
  const u = URL.canParse(endpoint) ? new URL(endpoint) : undefined;
  if (u === undefined || (u.protocol !== 'http:' && u.protocol !== 'https:')) {
    throw new SluiceError(
      ErrorCode.CONFIG,
      `${where}: invalid s3.endpoint "${endpoint}": write a URL such as http://127.0.0.1:9000`,
    );
  }
  return `${u.hostname}:${u.port || (u.protocol === 'http:' ? '80' : '443')}`;
}

/**
 * What an error's message may say of the credentials: on a denial, also the key the SDK chain
 * chose (never its secret). Only then: resolving the chain again after it failed may probe the
 * instance metadata endpoint, which takes seconds.
 */
export async function credentialNote(conn: S3Connection, err: unknown): Promise<CredentialNote> {
  if (conn.creds.accessKeyId !== undefined || !isDenied(err)) return conn.creds;
  return {
    ...conn.creds,
    accessKeyId: await conn.client.config
      .credentials()
      .then((c) => c.accessKeyId)
      .catch(() => undefined),
  };
}
