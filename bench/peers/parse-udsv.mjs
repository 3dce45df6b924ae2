// Parse-only peer: udsv parses the utf8-decoded file chunk by chunk into one object of strings per
// record. Node's default 64 KiB reads, udsv's best here: 128 KiB reads (Sluice's read size) measured
// 3x slower (user time 2x, system time 6x), each decoded chunk being a string too big for V8's
// regular heap pages. Nothing is done with the rows but counting them and the characters of
// `notes`, which every parse-only runner prints, so the harness can check they read the same
// records (quoted fields, embedded newlines included).
// Usage: node parse-udsv.mjs <input.csv>
import { createReadStream } from 'node:fs';
import { inferSchema, initParser } from 'udsv';

let rows = 0;
let notes = 0;
const onRow = (r) => {
  rows++;
  notes += r.notes.length;
};
let parser = null;
for await (const chunk of createReadStream(process.argv[2], { encoding: 'utf8' })) {
  parser ??= initParser(inferSchema(chunk));
  parser.chunk(chunk, parser.stringObjs, onRow);
}
parser?.end();
process.stdout.write(`${rows} ${notes}\n`);
