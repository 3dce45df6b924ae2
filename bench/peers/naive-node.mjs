// W1 peer: the script a Node developer would write first. udsv parses each chunk of the
// utf8-decoded file, rows are filtered and mapped one by one, and the CSV text goes to
// PostgreSQL through COPY FROM STDIN (pg-copy-streams). No worker threads, no tuning.
// Plain JavaScript, so no TypeScript loader is charged to its time or memory.
// Usage: node naive-node.mjs <input.csv> <database-url> <schema.table>

import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { inferSchema, initParser } from 'udsv';

const [input, url, table] = process.argv.slice(2);
const COLUMNS = 'id,uuid,name,email,country,amount,quantity,created_at,active,notes,total';

const quote = (s) => (/[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);

const client = new pg.Client({ connectionString: url });
await client.connect();
const copy = client.query(copyFrom(`COPY ${table} (${COLUMNS}) FROM STDIN WITH (FORMAT csv)`));
const done = new Promise((resolve, reject) => {
  copy.on('finish', resolve);
  copy.on('error', reject);
});

let parser = null;
let out = '';
const onRow = (r) => {
  if (r.active !== 'true') return;
  const total = Number(r.amount) * Number(r.quantity);
  out += `${r.id},${r.uuid},${quote(r.name)},${r.email},${r.country.toUpperCase()},${r.amount},${r.quantity},`;
  out += `${r.created_at},true,${quote(r.notes)},${total}\n`;
};

for await (const chunk of createReadStream(input, { encoding: 'utf8' })) {
  parser ??= initParser(inferSchema(chunk));
  parser.chunk(chunk, parser.stringObjs, onRow);
  if (!copy.write(out)) await once(copy, 'drain');
  out = '';
}
parser?.end();
copy.end(out);
await done;
await client.end();
