// The S3-compatible server for the W2-from-S3 runner: s3rver over a data directory, in its own
// process so that its CPU and memory are apart from both the harness and the runner it serves.
// Prints {"port": N} once listening; stops when its stdin closes (the harness exits or ends it).
// Usage: node s3rver.mjs <directory> <bucket>
import S3rver from 's3rver';

const [directory, bucket] = process.argv.slice(2);
if (!directory || !bucket) throw new Error('usage: node s3rver.mjs <directory> <bucket>');
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory });
const { port } = await server.run();
await server.store.putBucket(bucket);
process.stdout.write(`${JSON.stringify({ port })}\n`);
const stop = async () => {
  // Clients keep connections alive; the server would otherwise wait for them to time out.
  server.httpServer.closeAllConnections();
  await server.close();
  process.exit(0);
};
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
