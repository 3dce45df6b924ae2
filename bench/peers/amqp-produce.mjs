// W8 soak producer: publishes generated orders (as amqp-publish.mjs makes them) to the queue at
// `rate` messages a second for `seconds`, persistent and confirmed, then prints how many it sent.
// Usage: node amqp-produce.mjs <amqp-url> <queue> <rate> <seconds>
import { setTimeout as sleep } from 'node:timers/promises';
import amqp from 'amqplib';

const [url, queue, rate, seconds] = process.argv.slice(2).map((v, i) => (i < 2 ? v : Number(v)));
const COUNTRIES = ['br', 'pt', 'de', 'us', 'jp', 'in', 'fr', 'mx'];
const conn = await amqp.connect(url);
const ch = await conn.createConfirmChannel();
await ch.assertQueue(queue, { durable: true });
const t0 = performance.now();
let sent = 0;
// Tenths of a second: each tick publishes what the rate owes by then.
while (performance.now() - t0 < seconds * 1000) {
  const owed = Math.floor(((performance.now() - t0) / 1000) * rate);
  while (sent < owed) {
    sent++;
    const order = {
      id: sent,
      name: `Customer ${sent}`,
      email: `c${sent}@example.com`,
      country: COUNTRIES[sent % 8],
      amount: ((sent * 37) % 100000) / 100,
      quantity: (sent % 9) + 1,
    };
    if (!ch.sendToQueue(queue, Buffer.from(JSON.stringify(order)), { persistent: true }))
      await new Promise((r) => ch.once('drain', r));
  }
  await ch.waitForConfirms();
  await sleep(100);
}
await ch.waitForConfirms();
await conn.close();
console.log(sent);
