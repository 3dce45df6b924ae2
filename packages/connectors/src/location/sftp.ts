import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { posix } from 'node:path';
import { ErrorCode, FatalError, SluiceError } from '@sluice/core';
import type SftpClient from 'ssh2-sftp-client';
import type { LocationContext } from './index.ts';
import type { SftpOptions } from './options.ts';
import { parseSftpUrl, type SftpAddress, SftpSession } from './sftp-session.ts';
import type { Location, ReadRange } from './types.ts';

/**
 * Files on an SFTP server, for `sftp://user@host:port/absolute/path` (port 22 unless given; the
 * user from `sftp.username`, else the URL's). One SSH connection, opened on first use, serves
 * every operation until `close`. Every path a location is asked about must be on the same server.
 */
export function sftpLocation(
  options: SftpOptions | undefined,
  url: string,
  ctx: LocationContext,
  where: string,
): Location {
  const home = parseSftpUrl(url, where);
  const session = new SftpSession(home, options ?? {}, ctx, where);
  const address = (u: string): SftpAddress => {
    const a = parseSftpUrl(u, where);
    if (a.host !== home.host || a.port !== home.port) {
      throw new FatalError(
        `${where}: ${u} is on another server than ${home.base}; one location reaches one server`,
        {
          code: ErrorCode.INTERNAL,
        },
      );
    }
    return a;
  };
  const run = async <T>(u: string, doing: string, f: (c: SftpClient, path: string) => Promise<T>) => {
    const { path } = address(u);
    const client = await session.client();
    try {
      return await f(client, path);
    } catch (err) {
      throw session.failure(err, u, doing);
    }
  };

  return {
    scheme: 'sftp',
    writable: true,
    stat: (u) =>
      run(u, 'reading its attributes', async (c, path) => {
        const st = await c.stat(path);
        if (st.isDirectory) {
          throw new SluiceError(ErrorCode.NOT_FOUND, `${where}: ${u} is a directory, not a file`);
        }
        return { url: u, size: st.size, modified: new Date(st.modifyTime) };
      }),

    async *list(prefix, signal) {
      const { base, path } = address(prefix);
      const client = await session.client();
      try {
        // A prefix ending in / is a directory; otherwise it is one, or a name prefix within its parent.
        let dir = path;
        if (!path.endsWith('/')) {
          const kind = await client.exists(path).catch(() => false);
          dir = kind === 'd' ? `${path}/` : posix.dirname(path).replace(/\/?$/, '/');
        }
        for await (const e of walk(client, dir, path, signal)) {
          if (e.path.startsWith(path)) yield { url: `${base}${e.path}`, size: e.size, modified: e.modified };
        }
      } catch (err) {
        throw session.failure(err, prefix, 'listing it');
      }
    },

    read(u, range: ReadRange) {
      return (async function* () {
        const start = range.start ?? 0;
        if (range.end !== undefined && range.end <= start) return;
        const { path } = address(u);
        const client = await session.client();
        let stream: ReturnType<SftpClient['createReadStream']> | undefined;
        const abort = () => stream?.destroy(range.signal.reason);
        range.signal.addEventListener('abort', abort, { once: true });
        try {
          range.signal.throwIfAborted();
          stream = client.createReadStream(path, {
            start,
            // ssh2's end is inclusive.
            ...(range.end === undefined ? {} : { end: range.end - 1 }),
            highWaterMark: range.chunkSize ?? 1 << 20,
          });
          for await (const chunk of stream) yield chunk as Buffer;
        } catch (err) {
          if (range.signal.aborted) throw range.signal.reason;
          throw session.failure(err, u, 'reading it');
        } finally {
          range.signal.removeEventListener('abort', abort);
          if (stream !== undefined) await settle(stream);
        }
      })();
    },

    put: (u, from, signal) =>
      run(u, 'uploading it', async (c, path) => {
        signal.throwIfAborted();
        const dir = posix.dirname(path);
        if ((await c.exists(dir)) !== 'd') await c.mkdir(dir, true);
        // Uploaded beside the target under a name no other writer uses, then renamed over it: a
        // reader sees the old file or the new one, and a failed upload leaves no part behind.
        const temp = `${path}.uploading-${randomBytes(6).toString('hex')}`;
        try {
          await c.fastPut(from, temp);
          signal.throwIfAborted();
          await renameOver(c, temp, path);
        } catch (err) {
          await c.delete(temp, true).catch(() => undefined);
          throw err;
        }
      }),

    delete: (u) =>
      run(u, 'deleting it', async (c, path) => {
        await c.delete(path, true);
      }),

    close: () => session.end(),
  };
}

/**
 * Waits for a read stream to close its remote handle: a connection ended before the server
 * answers that close would fail the stream after its reader has gone, as an uncaught error.
 */
async function settle(stream: ReturnType<SftpClient['createReadStream']>): Promise<void> {
  stream.on('error', () => undefined);
  if (stream.closed) return;
  const closed = once(stream, 'close').catch(() => undefined);
  stream.destroy();
  await closed;
}

/**
 * OpenSSH's posix-rename replaces the target in one step; a server without that extension gets a
 * plain SFTP rename, which fails when the target exists, so the target goes first there.
 */
async function renameOver(c: SftpClient, from: string, to: string): Promise<void> {
  try {
    await c.posixRename(from, to);
  } catch (err) {
    if (!/not supported|extension/i.test((err as Error).message)) throw err;
    await c.delete(to, true);
    await c.rename(from, to);
  }
}

interface Found {
  path: string;
  size: number;
  modified: Date;
}

/** Files below `dir`, entering only directories that can hold paths starting with `prefix`. */
async function* walk(c: SftpClient, dir: string, prefix: string, signal: AbortSignal): AsyncGenerator<Found> {
  let entries: Awaited<ReturnType<SftpClient['list']>>;
  try {
    entries = await c.list(dir);
  } catch (err) {
    // A prefix that is not (yet) a directory lists nothing, as an S3 prefix with no keys does.
    const code = (err as { code?: unknown }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 2) return;
    throw err;
  }
  for (const e of entries) {
    signal.throwIfAborted();
    const path = `${dir}${e.name}`;
    if (e.type === 'd') {
      const sub = `${path}/`;
      if (sub.startsWith(prefix) || prefix.startsWith(sub)) yield* walk(c, sub, prefix, signal);
    } else if (e.type === '-') yield { path, size: e.size, modified: new Date(e.modifyTime) };
    else if (e.type === 'l') {
      // A link is listed as what it points to, when that is a file.
      const st = await c.stat(path).catch(() => undefined);
      if (st?.isFile) yield { path, size: st.size, modified: new Date(st.modifyTime) };
    }
  }
}
