import type { PathContext } from '@sluice/core';
import { ErrorCode, FatalError } from '@sluice/core';
import { localLocation } from './local.ts';
import type { LocationOptions } from './options.ts';
import type { Location } from './types.ts';
import { schemeOf } from './url.ts';

/** What opening a location needs of the component that opens it. */
export interface LocationContext extends PathContext {
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
