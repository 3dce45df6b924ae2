// W7 floor: a plain Node script that fetches the same pages as the http source (1,000 records
// each, page after page until an empty one) and writes their records as NDJSON: fetch, JSON.parse,
// one JSON.stringify per record, a write stream. No retries, checkpoints, counts or checks.
// Prints the number of records written.
// Usage: node http-floor.mjs <url of /orders> <output.ndjson>
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';

const [url, output] = process.argv.slice(2);
const out = createWriteStream(output);
let records = 0;
for (let page = 1; ; page++) {
  const res = await fetch(`${url}?page=${page}&per_page=1000`);
  if (!res.ok) throw new Error(`page ${page}: HTTP ${res.status}`);
  const items = await res.json();
  if (items.length === 0) break;
  let text = '';
  for (const item of items) text += `${JSON.stringify(item)}\n`;
  records += items.length;
  if (!out.write(text)) await once(out, 'drain');
}
out.end();
await once(out, 'finish');
process.stdout.write(`${records}\n`);
