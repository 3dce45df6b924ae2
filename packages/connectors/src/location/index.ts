import type { NetContext, PathContext } from '@sluice/core';
import { ErrorCode, FatalError } from '@sluice/core';
import { localLocation } from './local.ts';
import { type LocationOptions, s3Endpoint } from './options.ts';
import type { Location } from './types.ts';
import { schemeOf } from './url.ts';

/** What opening a location needs of the component that opens it. */
export interface LocationContext extends PathContext, Pick<NetContext, 'network'> {
  /** The step's circuit breaker for an endpoint (`host:port`), when the host runs circuits. */
  guardConnect?<T>(endpoint: string, connect: () => Promise<T>): Promise<T>;
}

/**
 * The location that holds `path`. Remote stores are imported when first used: a run that reads
 * local files never loads an SDK.
 */
export async function openLocation(
  path: string,
  options: LocationOptions,
  ctx: LocationContext,
  where: string,
): Promise<Location> {
  const scheme = schemeOf(path);
  refuseUserInfo(path, scheme, where);
  switch (scheme) {
    case 'file':
      return localLocation(ctx, where);
    case 's3':
      return (await import('./s3.ts')).s3Location(options.s3, ctx, where);
    case 'sftp':
      return (await import('./sftp.ts')).sftpLocation(options.sftp, path, ctx, where);
    case 'http':
    case 'https':
      return (await import('./http.ts')).httpLocation(options.http, ctx, where);
    default:
      throw new FatalError(
        `${where}: "${scheme}://" is not a location Sluice reads; use a local path, s3://bucket/key, ` +
          'sftp://user@host/path or https://host/path',
        { code: ErrorCode.CONFIG },
      );
  }
}

/**
 * The host of the server that holds `path`: an s3:// path's endpoint (undefined for AWS itself),
 * an sftp:// or http(s):// URL's host; undefined for a local path or one that is not a URL.
 */
export function locationHost(path: string, options: LocationOptions): string | undefined {
  const scheme = schemeOf(path);
  const url =
    scheme === 's3'
      ? s3Endpoint(options.s3)
      : scheme === 'sftp' || scheme === 'http' || scheme === 'https'
        ? path
        : undefined;
  if (url === undefined) return undefined;
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}

const CREDENTIALS_GO = {
  s3: 's3.accessKeyId and s3.secretAccessKey (or a stored credential)',
  http: 'http.bearerToken, or an Authorization header in http.headers (or a stored credential)',
} as const;

/**
 * `s3://key:secret@bucket/…` or `https://user:password@host/…`: nothing reads credentials from
 * there (fetch refuses such a URL), and the path is shown in logs, errors and the run report, so
 * the secret would be too. Refused before anything shows it, without repeating it.
 */
function refuseUserInfo(path: string, scheme: string, where: string): void {
  const kind = scheme === 's3' ? 's3' : scheme === 'http' || scheme === 'https' ? 'http' : undefined;
  if (kind === undefined) return;
  let url: URL;
  try {
    url = new URL(path);
  } catch {
    return; // the location reports a malformed URL itself
  }
  if (url.username === '' && url.password === '') return;
  throw new FatalError(
    `${where}: ${scheme}://…@${url.host}${url.pathname}: the path carries credentials (user:password@), ` +
      `which would show wherever the path is shown; remove them from the path and give them as ${CREDENTIALS_GO[kind]}`,
    { code: ErrorCode.CONFIG },
  );
}
