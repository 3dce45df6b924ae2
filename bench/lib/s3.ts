/**
 * The S3-compatible server of the W2-from-S3 workload: s3rver (the server the connector tests
 * use) in a child process over bench/data/s3rver, holding the bench CSV in the bucket `bench`.
 * Its CPU and memory are its own, counted for no runner.
 */
import { createReadStream } from 'node:fs';
import { basename, join } from 'node:path';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { DataSet } from '../generate.ts';
import { startChildServer } from './child-server.ts';

export const S3_BUCKET = 'bench';

export interface BenchS3 {
  /** The object's key: the CSV's file name. */
  key: string;
  /** AWS_* variables that point a runner (the CLI, the SDK) at the server. */
  env: NodeJS.ProcessEnv;
  close(): Promise<void>;
}

export async function startS3(benchDir: string, dataDir: string, data: DataSet): Promise<BenchS3> {
  const server = await startChildServer(join(benchDir, 'peers', 's3rver.mjs'), [
    join(dataDir, 's3rver'),
    S3_BUCKET,
  ]);
  const port = server.port;
  const endpoint = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env,
    AWS_ENDPOINT_URL_S3: endpoint,
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_REGION: 'us-east-1',
  };
  const key = basename(data.csvPath);
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  try {
    // The object stays in bench/data/s3rver between runs; uploaded again only when it differs.
    const size = await client
      .send(new HeadObjectCommand({ Bucket: S3_BUCKET, Key: key }))
      .then((h) => h.ContentLength)
      .catch(() => undefined);
    if (size !== data.bytes) {
      const params = { Bucket: S3_BUCKET, Key: key, Body: createReadStream(data.csvPath) };
      await new Upload({ client, params, partSize: 16 << 20 }).done();
    }
  } catch (err) {
    server.child.kill();
    throw err;
  } finally {
    client.destroy();
  }
  return { key, env, close: server.close };
}
