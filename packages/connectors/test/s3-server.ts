import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';

/** A running in-process S3 (s3rver) for tests, over its own temporary directory. */
export interface S3Server {
  /** Its base URL, http://127.0.0.1:<port>, for `s3.endpoint`. */
  readonly endpoint: string;
  /** Every request it has received, as `METHOD /path?query` (then ` Range: bytes=…` when it asked for one), oldest first. */
  readonly requests: string[];
  /** Creates an empty bucket. */
  bucket(name: string): Promise<void>;
  /** Deletes a bucket with everything in it, as an outage of the store would look to a client. */
  removeBucket(name: string): Promise<void>;
  /** Stops the server and removes its files. */
  close(): Promise<void>;
}

/** The access key pair s3rver accepts (it checks request signatures against it). */
export const S3RVER_KEYS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export async function startS3(): Promise<S3Server> {
  const directory = await mkdtemp(join(tmpdir(), 'sluice-s3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory });
  const { port } = await server.run();
  const requests: string[] = [];
  server.httpServer.on('request', (req: IncomingMessage) =>
    requests.push(`${req.method} ${req.url}${req.headers.range ? ` Range: ${req.headers.range}` : ''}`),
  );
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    bucket: async (name) => {
      await server.store.putBucket(name);
    },
    removeBucket: async (name) => {
      await server.store.deleteBucket(name);
    },
    close: async () => {
      // Clients keep connections alive; the server would otherwise wait for them to time out.
      server.httpServer.closeAllConnections();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** The AWS_* variables that point the SDK's default chain at the server, as an operator sets them. */
export function awsEnv(s3: S3Server): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    AWS_ACCESS_KEY_ID: S3RVER_KEYS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_KEYS.secretAccessKey,
    AWS_REGION: 'us-east-1',
  };
}
