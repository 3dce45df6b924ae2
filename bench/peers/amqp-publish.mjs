// W8 set-up (not timed): empties the queue, then publishes N generated orders to it as persistent
// JSON messages on a confirm channel. Every message is made from its index alone, so every run
// publishes the same bytes.
// Usage: node amqp-publish.mjs <amqp-url> <queue> <N>
import amqp from 'amqplib';

const [url, queue, n] = process.argv.slice(2);
const N = Number(n);
const COUNTRIES = ['br', 'pt', 'de', 'us', 'jp', 'in', 'fr', 'mx'];

const conn = await amqp.connect(url);
const ch = await conn.createConfirmChannel();
await ch.assertQueue(queue, { durable: true });
await ch.purgeQueue(queue);
for (let i = 1; i <= N; i++) {
  const order = {
    id: i,
    name: `Customer ${i}`,
    email: `c${i}@example.com`,
    country: COUNTRIES[i % COUNTRIES.length],
    amount: ((i * 37) % 100000) / 100,
    quantity: (i % 9) + 1,
  };
  if (!ch.sendToQueue(queue, Buffer.from(JSON.stringify(order)), { persistent: true }))
    await new Promise((r) => ch.once('drain', r));
  if (i % 5000 === 0) await ch.waitForConfirms();
}
await ch.waitForConfirms();
await conn.close();
console.log(N);
