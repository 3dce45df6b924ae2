// W2 floor: read the CSV file and decode it as UTF-8, nothing more. No pipeline can be faster
// than reading its input; 1 MiB chunks, as Sluice's file input reads.
// Usage: node read-floor.mjs <input.csv>
import { createReadStream } from 'node:fs';

let chars = 0;
for await (const chunk of createReadStream(process.argv[2], { encoding: 'utf8', highWaterMark: 1 << 20 })) {
  chars += chunk.length;
}
process.stdout.write(`${chars}\n`);
