import { setTimeout as sleep } from 'node:timers/promises';
import { checkUrl, ErrorCode, FatalError, RetryableError, SluiceError } from '@sluice/core';
import { HTTP_DEFAULTS, type Opened, request, shown, statusFailure } from './http-request.ts';
import type { LocationContext } from './index.ts';
import type { HttpOptions } from './options.ts';
import type { Location, LocationEntry, ReadRange } from './types.ts';

/** Re-requests after a body breaks mid-way, and the wait before each (doubled every time). */
const RESUME = { tries: 3, firstWaitMs: 500 } as const;

/**
 * Files behind http:// and https:// URLs, read-only. A read resumes where a broken download
 * stopped when the server takes byte ranges; `list` is impossible (HTTP has no directory listing
 * to rely on), so a glob over HTTP is refused.
 */
export function httpLocation(
  options: HttpOptions | undefined,
  ctx: LocationContext,
  where: string,
): Location {
  const timeoutMs = options?.timeoutMs ?? HTTP_DEFAULTS.timeoutMs;
  const headers = (extra: Record<string, string> = {}): Record<string, string> => ({
    ...options?.headers,
    ...(options?.bearerToken === undefined ? {} : { Authorization: `Bearer ${options.bearerToken}` }),
    ...extra,
  });
  const redirects = (to: string) => checkUrl(ctx, to, `${where} (a redirect)`);
  const guarded = <T>(url: string, f: () => Promise<T>): Promise<T> => {
    const u = new URL(url);
    const endpoint = `${u.hostname}:${u.port === '' ? (u.protocol === 'https:' ? 443 : 80) : u.port}`;
    // The host and what it resolves to are checked before fetch connects, and again for every
    // redirect (`redirects` below). fetch resolves the name again (undici is not importable here
    // to give it our lookup), so a DNS answer that changes in between is not checked: residual
    // risk, see net-check.ts.
    const checked = () => checkUrl(ctx, url, where).then(f);
    return ctx.guardConnect ? ctx.guardConnect(endpoint, checked) : checked();
  };
  const get = (url: string, signal: AbortSignal, extra?: Record<string, string>) =>
    request(url, { method: 'GET', headers: headers(extra), redirects }, timeoutMs, signal, where);
  const readOnly = () =>
    Promise.reject(new FatalError(`${where}: http locations are read-only`, { code: ErrorCode.CONFIG }));

  return {
    scheme: 'https',
    writable: false,
    stat: (url, signal) =>
      guarded(url, async () => {
        const head = await request(
          url,
          { method: 'HEAD', headers: headers(), redirects },
          timeoutMs,
          signal,
          where,
        );
        head.cancel();
        const res = head.response;
        // Some servers refuse HEAD (405, 501, or 403 for a link presigned for GET only) or answer
        // it without a length; one byte of a GET tells both. A missing file or a failing server
        // would answer the GET the same way.
        if (res.ok && res.headers.get('content-length') !== null) return entry(url, res);
        if (res.status === 404 || res.status === 410 || res.status >= 500)
          throw statusFailure(res, url, where);
        const probe = await get(url, signal, { Range: 'bytes=0-0' });
        probe.cancel();
        if (!probe.response.ok) throw statusFailure(probe.response, url, where);
        return entry(url, probe.response);
      }),

    // biome-ignore lint/correctness/useYield: refusing is the whole of it
    async *list() {
      throw new FatalError(
        `${where}: globs need a store that lists files (local, s3, sftp); name each https file`,
        { code: ErrorCode.CONFIG },
      );
    },

    read(url, range: ReadRange) {
      return (async function* () {
        const end = range.end;
        let pos = range.start ?? 0;
        if (end !== undefined && end <= pos) return;
        let etag: string | null | undefined;
        for (let attempt = 0; ; attempt++) {
          const ranged = pos > 0 || end !== undefined;
          const send = () =>
            get(
              url,
              range.signal,
              ranged ? { Range: `bytes=${pos}-${end === undefined ? '' : end - 1}` } : {},
            );
          // Only the first request goes through the circuit: a resume is part of a read that reached the server.
          const opened: Opened = attempt === 0 ? await guarded(url, send) : await send();
          const res = opened.response;
          if (res.status === 416 && pos > 0) {
            opened.cancel();
            return;
          }
          if (!res.ok) {
            opened.cancel();
            throw statusFailure(res, url, where);
          }
          const tag = res.headers.get('etag');
          if (etag !== undefined && etag !== null && tag !== null && tag !== etag) {
            opened.cancel();
            throw new RetryableError(
              `${where}: ${shown(url)} changed while it was being read; read it again`,
            );
          }
          etag ??= tag;
          // A server that ignores Range sends the whole file: skip what was asked not to be read.
          let skip = res.status === 206 ? rangeStart(res, pos, url, where) : pos;
          const resumable = /\bbytes\b/i.test(res.headers.get('accept-ranges') ?? '');
          try {
            for await (const chunk of opened.chunks()) {
              let bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
              if (skip > 0) {
                const dropped = Math.min(skip, bytes.length);
                skip -= dropped;
                bytes = bytes.subarray(dropped);
              }
              if (end !== undefined && pos + bytes.length > end) bytes = bytes.subarray(0, end - pos);
              if (bytes.length > 0) {
                pos += bytes.length;
                yield bytes;
              }
              if (end !== undefined && pos >= end) return;
            }
            return;
          } catch (err) {
            if (range.signal.aborted || !(err instanceof RetryableError)) throw err;
            if (!resumable) {
              throw new RetryableError(
                `${where}: ${shown(url)}: the download broke at byte ${pos} and the server does not take byte ` +
                  `ranges to resume it (${err.message})`,
                { cause: err },
              );
            }
            if (attempt >= RESUME.tries) throw err;
            await sleep(RESUME.firstWaitMs * 2 ** attempt, undefined, { signal: range.signal });
          } finally {
            opened.cancel();
          }
        }
      })();
    },

    put: readOnly,
    delete: readOnly,
    async close() {},
  };
}

/** What a HEAD or a one-byte GET says of the file. */
function entry(url: string, res: Response): LocationEntry {
  const total = /\/(\d+)\s*$/.exec(res.headers.get('content-range') ?? '')?.[1];
  const length = res.status === 206 ? total : res.headers.get('content-length');
  const modified = res.headers.get('last-modified');
  return {
    url,
    // A server that names no length (a generated, chunked response) gives 0: progress is then unknown.
    size: length == null ? 0 : Number(length),
    modified: modified === null ? undefined : new Date(modified),
    etag: res.headers.get('etag') ?? undefined,
  };
}

/** Where a 206 answer starts; a server that sent another range than asked cannot be trusted to resume. */
function rangeStart(res: Response, asked: number, url: string, where: string): number {
  const from = /bytes\s+(\d+)-/i.exec(res.headers.get('content-range') ?? '')?.[1];
  if (from !== undefined && Number(from) === asked) return 0;
  throw new SluiceError(
    ErrorCode.INTEGRITY,
    `${where}: ${shown(url)}: asked for bytes from ${asked}, the server sent ${res.headers.get('content-range') ?? 'no Content-Range'}`,
  );
}
