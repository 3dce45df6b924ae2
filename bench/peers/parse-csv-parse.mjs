// Parse-only peer: the csv-parse package (its streaming API, records as objects keyed by the
// header, as `columns: true` gives them), fed Node's default 64 KiB reads. Prints the record count and the
// characters of `notes`, as every parse-only runner does.
// Usage: node parse-csv-parse.mjs <input.csv>
import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';

let rows = 0;
let notes = 0;
const parser = parse({ columns: true });
parser.on('readable', () => {
  for (let r = parser.read(); r !== null; r = parser.read()) {
    rows++;
    notes += r.notes.length;
  }
});
const done = new Promise((resolve, reject) => {
  parser.on('end', resolve);
  parser.on('error', reject);
});
createReadStream(process.argv[2]).pipe(parser);
await done;
process.stdout.write(`${rows} ${notes}\n`);
