import { ErrorCode, RetryableError, SluiceError } from '@sluice/core';

/** What an error message may say about the credentials in use: never the secret. */
export interface CredentialNote {
  /** The access key id the request was signed with, when known. */
  readonly accessKeyId?: string | undefined;
  /** Where the keys came from: `config s3.accessKeyId` or the SDK's default chain. */
  readonly source: string;
}

/** The parts of an AWS SDK error this module reads. */
interface SdkError {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
}

const DENIED = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidToken',
  'ExpiredToken',
  'TokenRefreshRequired',
]);
// Errors of the connection, not of the request: another attempt may get through.
const NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'ENETUNREACH',
  'EHOSTUNREACH',
]);

export function isAbort(err: unknown): boolean {
  return (err as Error | undefined)?.name === 'AbortError';
}

/** Whether the store said the object (or its bucket) does not exist. */
export function isMissing(err: unknown): boolean {
  const e = err as SdkError;
  return (
    e.$metadata?.httpStatusCode === 404 ||
    e.name === 'NoSuchKey' ||
    e.name === 'NotFound' ||
    e.name === 'NoSuchBucket'
  );
}

/** Whether the store refused the request's credentials or their rights. */
export function isDenied(err: unknown): boolean {
  const e = err as SdkError;
  return e.$metadata?.httpStatusCode === 403 || DENIED.has(e.name ?? '');
}

/**
 * Turns what the SDK threw into a SluiceError saying what failed, where and what to do. Aborts
 * pass through unchanged: they are the caller's own doing, not a store failure.
 */
export function s3Error(
  err: unknown,
  where: string,
  what: { url: string; bucket: string; endpoint: string },
  creds: CredentialNote,
): unknown {
  if (isAbort(err) || err instanceof SluiceError) return err;
  const e = err as SdkError;
  const status = e.$metadata?.httpStatusCode;
  const detail = `${e.name ?? 'Error'}: ${e.message ?? String(err)}`;
  if (e.name === 'NoSuchBucket') {
    return new SluiceError(
      ErrorCode.NOT_FOUND,
      `${where}: bucket "${what.bucket}" does not exist at ${what.endpoint}; check the bucket name in ` +
        'the path, and s3.endpoint and s3.region',
      { cause: err },
    );
  }
  if (isMissing(err)) {
    return new SluiceError(ErrorCode.NOT_FOUND, `${where}: object not found: ${what.url}`, { cause: err });
  }
  if (isDenied(err)) {
    const key = creds.accessKeyId === undefined ? '' : ` with access key id ${creds.accessKeyId}`;
    return new SluiceError(
      ErrorCode.CONFIG,
      `${where}: access denied to ${what.url} at ${what.endpoint} (${detail}), signed${key} from ` +
        `${creds.source}. Check the key pair (s3.accessKeyId, s3.secretAccessKey or the credential) and ` +
        'that its policy allows this bucket; s3rver and MinIO also deny a request signed for another region',
      { cause: err },
    );
  }
  if (e.name === 'CredentialsProviderError') {
    return new SluiceError(
      ErrorCode.CONFIG,
      `${where}: no AWS credentials for ${what.url}: set s3.accessKeyId and s3.secretAccessKey (or a ` +
        'stored credential), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment',
      { cause: err },
    );
  }
  if (status === 301 || e.name === 'PermanentRedirect' || e.name === 'AuthorizationHeaderMalformed') {
    return new SluiceError(
      ErrorCode.CONFIG,
      `${where}: ${what.url}: the bucket answers from another region or endpoint (${detail}); set s3.region ` +
        "to the bucket's region",
      { cause: err },
    );
  }
  const network =
    NETWORK.has(e.code ?? '') || e.name === 'TimeoutError' || (status === undefined && '$metadata' in e);
  if (network || (status !== undefined && (status >= 500 || status === 429))) {
    return new RetryableError(
      `${where}: cannot reach S3 at ${what.endpoint} for ${what.url} (${detail}); check s3.endpoint and ` +
        'the network, the step retries this',
      { cause: err, code: ErrorCode.CONNECTION },
    );
  }
  if (status === undefined) return err;
  return new SluiceError(ErrorCode.CONFIG, `${where}: S3 refused a request for ${what.url} (${detail})`, {
    cause: err,
  });
}
