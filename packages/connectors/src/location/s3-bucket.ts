import { Readable } from 'node:stream';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ErrorCode, SluiceError } from '@sluice/core';
import type { S3Options } from './options.ts';
import { credentialNote, s3Connection } from './s3-client.ts';
import { isMissing, s3Error } from './s3-errors.ts';

/** One object as a listing shows it. */
export interface S3Object {
  key: string;
  size: number;
}

/**
 * The objects of one bucket, by key, for code that keeps its own files there (the platform's
 * artifact store) rather than reading a pipeline's `path`. Built on the same client as the s3
 * location: the SDK's credential chain and AWS_ENDPOINT_URL(_S3), path-style with an endpoint.
 * Every failure is a SluiceError naming `where`, the object and what to check.
 */
export interface S3Bucket {
  readonly bucket: string;
  /** The endpoint requests go to, for messages. */
  readonly endpoint: string;
  /** Proves the bucket exists and the credentials may use it (HeadBucket); throws a CONFIG error if not. */
  check(): Promise<void>;
  /** The object's bytes from `start`; undefined when there is no such object. */
  get(key: string, start?: number, signal?: AbortSignal): Promise<AsyncIterable<Uint8Array> | undefined>;
  /** The object's size; undefined when there is no such object. */
  size(key: string): Promise<number | undefined>;
  /** Writes the object whole; a stream goes up in parts (multipart above 5 MiB), never held whole. */
  put(key: string, body: string | Uint8Array | AsyncIterable<Uint8Array>): Promise<void>;
  /** Every object whose key starts with `prefix`, in key order, page by page. */
  list(prefix: string): AsyncIterable<S3Object>;
  /** Deletes the objects (1,000 to a request); a missing one is not an error. */
  delete(keys: readonly string[]): Promise<void>;
  /** Destroys the client and its sockets. */
  close(): void;
}

/** DeleteObjects takes at most this many keys. */
const DELETE_BATCH = 1000;

export function s3Bucket(bucket: string, options: S3Options | undefined, where: string): S3Bucket {
  const conn = s3Connection(options, where);
  const { client, endpoint, creds } = conn;
  const call = async <T>(key: string, request: () => Promise<T>): Promise<T> => {
    try {
      return await request();
    } catch (err) {
      throw s3Error(
        err,
        where,
        { url: `s3://${bucket}/${key}`, bucket, endpoint },
        await credentialNote(conn, err),
      );
    }
  };
  return {
    bucket,
    endpoint,
    async check() {
      try {
        await client.send(new HeadBucketCommand({ Bucket: bucket }));
      } catch (err) {
        // A HEAD answer has no body: its 404 can only mean the bucket.
        if (isMissing(err)) Object.assign(err as Error, { name: 'NoSuchBucket' });
        const e = s3Error(
          err,
          where,
          { url: `s3://${bucket}`, bucket, endpoint },
          await credentialNote(conn, err),
        );
        if (!(e instanceof SluiceError) || e.code === ErrorCode.CONNECTION) {
          // Said for a process starting, which will not retry: what to check, not "retries this".
          const detail = `${(err as Error).name}: ${(err as Error).message}`;
          throw new SluiceError(
            ErrorCode.CONNECTION,
            `${where}: cannot reach the S3 store at ${endpoint} (${detail}); check AWS_ENDPOINT_URL_S3 or ` +
              'AWS_ENDPOINT_URL, and that the store is running and reachable from here',
            { cause: err },
          );
        }
        throw e;
      }
    },
    async get(key, start = 0, signal) {
      const got = await call(key, () =>
        client
          .send(
            new GetObjectCommand({
              Bucket: bucket,
              Key: key,
              ...(start > 0 ? { Range: `bytes=${start}-` } : {}),
            }),
            signal ? { abortSignal: signal } : {},
          )
          .catch((err: { $metadata?: { httpStatusCode?: number } }) => {
            if (isMissing(err)) return undefined;
            // Reading on from the very end finds nothing.
            if (err.$metadata?.httpStatusCode === 416) return 'empty' as const;
            throw err;
          }),
      );
      if (got === undefined) return undefined;
      if (got === 'empty') return (async function* () {})();
      const body = got.Body as Readable;
      return (async function* () {
        try {
          for await (const chunk of body) yield chunk as Uint8Array;
        } catch (err) {
          throw s3Error(err, where, { url: `s3://${bucket}/${key}`, bucket, endpoint }, creds);
        } finally {
          // A reader that stops early leaves the response unread: free its socket.
          body.destroy();
        }
      })();
    },
    async size(key) {
      return call(key, () =>
        client.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(
          (h) => h.ContentLength ?? 0,
          (err) => {
            if (isMissing(err)) return undefined;
            throw err;
          },
        ),
      );
    },
    async put(key, body) {
      if (typeof body === 'string' || body instanceof Uint8Array) {
        await call(key, () => client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body })));
        return;
      }
      const stream = body instanceof Readable ? body : Readable.from(body);
      const upload = new Upload({
        client,
        params: { Bucket: bucket, Key: key, Body: stream },
        leavePartsOnError: false,
      });
      try {
        await call(key, () => upload.done());
      } finally {
        stream.destroy();
      }
    },
    async *list(prefix) {
      let token: string | undefined;
      do {
        const page = await call(prefix, () =>
          client.send(
            new ListObjectsV2Command({
              Bucket: bucket,
              Prefix: prefix || undefined,
              ContinuationToken: token,
            }),
          ),
        );
        for (const o of page.Contents ?? []) {
          if (o.Key !== undefined) yield { key: o.Key, size: o.Size ?? 0 };
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
    },
    async delete(keys) {
      for (let i = 0; i < keys.length; i += DELETE_BATCH) {
        const batch = keys.slice(i, i + DELETE_BATCH);
        const out = await call(batch[0]!, () =>
          client.send(
            new DeleteObjectsCommand({
              Bucket: bucket,
              Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
            }),
          ),
        );
        // The request succeeds even when some keys were refused: those come back one by one.
        const failed = out.Errors?.[0];
        if (failed) {
          throw new SluiceError(
            ErrorCode.CONNECTION,
            `${where}: could not delete s3://${bucket}/${failed.Key} (${failed.Code}: ${failed.Message}) ` +
              `and ${(out.Errors?.length ?? 1) - 1} more; check that the credentials may delete in this bucket`,
          );
        }
      }
    },
    close() {
      client.destroy();
    },
  };
}
