import { createReadStream } from 'node:fs';
import { stat as statFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { checkHost, ErrorCode, SluiceError } from '@sluice/core';
import type { LocationContext } from './index.ts';
import type { S3Options } from './options.ts';
import { credentialNote, s3Connection } from './s3-client.ts';
import { isMissing, s3Error } from './s3-errors.ts';
import type { Location, LocationEntry } from './types.ts';

const S3_URL = /^s3:\/\/([^/]+)\/?(.*)$/is;

/**
 * Objects in an S3 bucket or an S3-compatible store (MinIO, Ceph, s3rver), as `s3://bucket/key`.
 * One client per location; `close` destroys it and its sockets.
 */
export function s3Location(options: S3Options | undefined, ctx: LocationContext, where: string): Location {
  const conn = s3Connection(options, where);
  const { client, endpoint, hostPort, putting } = conn;
  // The first request goes through the step's circuit breaker: it is the one that connects.
  let connected = false;
  const guarded = async <T>(request: () => Promise<T>): Promise<T> => {
    if (connected) return request();
    // The endpoint may come from a config a user typed: the network policy decides before the
    // first request (the SDK resolves the name again itself: residual risk, see net-check.ts).
    await checkHost(ctx, hostPort.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1'), `${where} s3.endpoint`);
    if (ctx.guardConnect === undefined) {
      const result = await request();
      connected = true;
      return result;
    }
    const result = await ctx.guardConnect(hostPort, request);
    connected = true;
    return result;
  };
  const fail = async (err: unknown, url: string, bucket: string): Promise<unknown> =>
    s3Error(err, where, { url, bucket, endpoint }, await credentialNote(conn, err));
  const call = async <T>(url: string, bucket: string, request: () => Promise<T>): Promise<T> => {
    // Errors are made SluiceErrors inside the guard: the breaker counts retryable CONNECTION ones.
    return guarded(async () => {
      try {
        return await request();
      } catch (err) {
        throw await fail(err, url, bucket);
      }
    });
  };
  const parse = (url: string) => parseS3Url(url, where);

  return {
    scheme: 's3',
    writable: true,
    async stat(url, signal) {
      const { bucket, key } = parse(url);
      if (key === '' || key.endsWith('/')) {
        throw new SluiceError(ErrorCode.NOT_FOUND, `${where}: ${url} names a folder, not an object`);
      }
      const head = await call(url, bucket, async () => {
        try {
          return await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), {
            abortSignal: signal,
          });
        } catch (err) {
          // A HEAD answer has no body to tell a missing key from a missing bucket: ask the bucket.
          if (!isMissing(err)) throw err;
          await client.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal: signal }).catch((e) => {
            throw isMissing(e) ? Object.assign(e, { name: 'NoSuchBucket' }) : err;
          });
          throw err;
        }
      });
      return { url, size: head.ContentLength ?? 0, modified: head.LastModified, etag: head.ETag };
    },
    async *list(prefix, signal) {
      const { bucket, key } = parse(prefix);
      let token: string | undefined;
      do {
        const page = await call(prefix, bucket, () =>
          client.send(
            new ListObjectsV2Command({ Bucket: bucket, Prefix: key || undefined, ContinuationToken: token }),
            { abortSignal: signal },
          ),
        );
        for (const obj of page.Contents ?? []) {
          // Keys ending in / are the folder markers consoles create, not files.
          if (obj.Key === undefined || obj.Key.endsWith('/')) continue;
          yield {
            url: `s3://${bucket}/${obj.Key}`,
            size: obj.Size ?? 0,
            modified: obj.LastModified,
            etag: obj.ETag,
          } satisfies LocationEntry;
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
    },
    read(url, range) {
      return (async function* () {
        const { bucket, key } = parse(url);
        const start = range.start ?? 0;
        if (range.end !== undefined && range.end <= start) return;
        const whole = start === 0 && range.end === undefined;
        const bytes = `bytes=${start}-${range.end === undefined ? '' : range.end - 1}`;
        const got = await call(url, bucket, () =>
          client
            .send(new GetObjectCommand({ Bucket: bucket, Key: key, ...(whole ? {} : { Range: bytes }) }), {
              abortSignal: range.signal,
            })
            .catch((err: { $metadata?: { httpStatusCode?: number } }) => {
              // Reading on from the very end (a resumed read that had finished) finds nothing.
              if (err.$metadata?.httpStatusCode === 416 && range.end === undefined) return undefined;
              throw err;
            }),
        );
        if (got === undefined) return;
        const body = got.Body as Readable;
        try {
          for await (const chunk of body) yield chunk as Buffer;
        } catch (err) {
          throw await fail(err, url, bucket);
        } finally {
          // A reader that stops early leaves the response unread: free its socket.
          body.destroy();
        }
      })();
    },
    async put(url, from, signal) {
      const { bucket, key } = parse(url);
      signal.throwIfAborted();
      const size = (await statFile(from)).size;
      const body = createReadStream(from);
      const upload = new Upload({
        client,
        // One PUT up to 5 MiB, a multipart upload above; CRC32 checksums, sent as headers of
        // buffered parts (a store that ignores them, as s3rver does, still gets the exact bytes).
        params: { Bucket: bucket, Key: key, Body: body, ContentLength: size, ChecksumAlgorithm: 'CRC32' },
        leavePartsOnError: false,
      });
      // An abort ends the file's stream and closes the gate (see abortGate) rather than calling
      // upload.abort(), whose done() rejects at once while parts still upload: this way done()
      // settles only after the upload has aborted its multipart upload, so nothing is left behind
      // when put returns and nothing completes later.
      const stop = () => body.destroy(signal.reason as Error);
      signal.addEventListener('abort', stop, { once: true });
      const gate = `${bucket}/${key}`;
      putting.set(gate, signal);
      try {
        await call(url, bucket, () => upload.done());
      } catch (err) {
        // After an abort, the upload's own cleanup may fail too (s3rver has no
        // AbortMultipartUpload); the abort is still what stopped the put.
        throw signal.aborted ? signal.reason : err;
      } finally {
        putting.delete(gate);
        signal.removeEventListener('abort', stop);
        body.destroy();
      }
    },
    async delete(url, signal) {
      const { bucket, key } = parse(url);
      await call(url, bucket, () =>
        client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal }),
      );
    },
    async close() {
      client.destroy();
    },
  };
}

/** The bucket and key of `s3://bucket/key` (the key may be empty or a prefix). */
export function parseS3Url(url: string, where: string): { bucket: string; key: string } {
  const m = S3_URL.exec(url);
  if (!m) {
    throw new SluiceError(
      ErrorCode.CONFIG,
      `${where}: "${url}" is not an S3 path; write s3://bucket/key, e.g. s3://my-bucket/in/orders.csv`,
    );
  }
  return { bucket: m[1]!, key: m[2]! };
}
