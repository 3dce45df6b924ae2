// W8 floor: the consumer a Node developer would write to move a queue into PostgreSQL safely. An
// amqplib consumer (prefetch 2000) gathers batches of 500 messages, COPYs each batch into the table
// (one transaction each, through pg-copy-streams) and acknowledges the batch after the COPY
// committed. No checkpoints of its own, no counts, no quarantine, no checks. Plain JavaScript.
// Usage: node amqp-floor.mjs <amqp-url> <queue> <N> <database-url> <schema.table>
import amqp from 'amqplib';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

const [url, queue, n, dbUrl, table] = process.argv.slice(2);
const N = Number(n);
const BATCH = 500;
const quote = (s) => (/[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);

const db = new pg.Client({ connectionString: dbUrl });
await db.connect();
const conn = await amqp.connect(url);
const ch = await conn.createChannel();
await ch.prefetch(2000);

let done = 0;
let pending = [];
let busy = Promise.resolve();
let finish;
const finished = new Promise((r) => {
  finish = r;
});

async function flush(batch) {
  let csv = '';
  for (const m of batch) {
    const o = JSON.parse(m.content.toString());
    csv += `${o.id},${quote(o.name)},${o.email},${o.country},${o.amount},${o.quantity}\n`;
  }
  const copy = db.query(
    copyFrom(`COPY ${table} (id, name, email, country, amount, quantity) FROM STDIN WITH (FORMAT csv)`),
  );
  await new Promise((resolve, reject) => {
    copy.on('finish', resolve);
    copy.on('error', reject);
    copy.end(csv);
  });
  ch.ack(batch.at(-1), true);
  done += batch.length;
  if (done >= N) finish();
}

await ch.consume(queue, (m) => {
  pending.push(m);
  const received = done + pending.length;
  if (pending.length >= BATCH || received >= N) {
    const batch = pending;
    pending = [];
    busy = busy.then(() => flush(batch));
  }
});
await finished;
await busy;
await ch.close();
await conn.close();
await db.end();
console.log(done);
