// W2-from-S3 floor: one GetObject of the whole CSV from the S3-compatible server, decoded as
// UTF-8, nothing more: what the server and the SDK allow before any parsing.
// Usage: node s3-get-floor.mjs <bucket> <key>  (endpoint and keys from AWS_* variables)
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';

const [Bucket, Key] = process.argv.slice(2);
const client = new S3Client({ forcePathStyle: true });
const got = await client.send(new GetObjectCommand({ Bucket, Key }));
const decoder = new TextDecoder();
let chars = 0;
for await (const chunk of got.Body) chars += decoder.decode(chunk, { stream: true }).length;
chars += decoder.decode().length;
client.destroy();
process.stdout.write(`${chars}\n`);
