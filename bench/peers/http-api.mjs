// The API of W7: `GET /orders?page=N&per_page=M` answers page N (from 1) of <rows> generated
// orders as a JSON array; a page past the end is `[]`. In its own process so its CPU and memory
// are apart from the runners it serves. Records are made from their index alone (no PRNG state),
// so any page can be asked for in any order and is always the same bytes; pages are cached, so
// every runner after the first is served without rendering.
// Prints {"port": N} once listening; stops when its stdin closes.
// Usage: node http-api.mjs <rows>
import { createServer } from 'node:http';

const rows = Number(process.argv[2]);
if (!(rows >= 0)) throw new Error('usage: node http-api.mjs <rows>');
const COUNTRIES = ['de', 'fr', 'us', 'jp', 'br', 'in', 'gb', 'es', 'it', 'nl'];
const order = (i) => ({
  id: i,
  name: `Customer ${i} é`,
  email: `c${i}@example.com`,
  country: COUNTRIES[i % COUNTRIES.length],
  amount: ((i * 7919) % 100000) / 100,
  quantity: (i % 9) + 1,
  updated_at: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
  active: i % 2 === 0,
  notes: i % 17 === 0 ? `fragile, "handle with care" 🚚 #${i}` : `order ${i}`,
});

const cache = new Map();
function page(n, size) {
  const key = `${n}/${size}`;
  let body = cache.get(key);
  if (body === undefined) {
    const from = (n - 1) * size + 1;
    const out = [];
    for (let i = from; i < from + size && i <= rows; i++) out.push(order(i));
    body = Buffer.from(JSON.stringify(out));
    cache.set(key, body);
  }
  return body;
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname !== '/orders') return void res.writeHead(404).end();
  const body = page(
    Number(url.searchParams.get('page') ?? 1),
    Number(url.searchParams.get('per_page') ?? 1000),
  );
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
const stop = () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
};
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
