import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PDFDocument, StandardFonts } from 'pdf-lib';

/**
 * A small reporting portal on 127.0.0.1, as the browser task meets them in the wild: a login form
 * that sets a session cookie, a date-range form, a table of the orders in the range, a CSV and a
 * PDF report for it as attachments, a page that is slow to answer and a download that trickles.
 * Tests start one each; the portal example reuses it.
 */
export interface PortalOptions {
  username?: string;
  password?: string;
  /** How long /slow takes to answer. @defaultValue 5000 */
  slowMs?: number;
}

export interface Portal {
  url: string;
  /** Every request's method and path (with its query), in order. */
  requests: string[];
  close(): Promise<void>;
}

export interface OrderRow {
  date: string;
  region: string;
  orders: number;
  amount: string;
}

const REGIONS = ['north', 'south'] as const;

/** The orders of each day from `from` to `to` (YYYY-MM-DD, inclusive): what every report shows. */
export function reportRows(from: string, to: string): OrderRow[] {
  const rows: OrderRow[] = [];
  const end = Date.parse(`${to}T00:00:00Z`);
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= end && rows.length < 2000; t += 86_400_000) {
    const date = new Date(t).toISOString().slice(0, 10);
    const day = new Date(t).getUTCDate();
    REGIONS.forEach((region, i) => {
      const orders = ((day * 7 + i * 3) % 11) + 1;
      rows.push({ date, region, orders, amount: (orders * 12.5 + i).toFixed(2) });
    });
  }
  return rows;
}

export function reportCsv(from: string, to: string): string {
  const lines = reportRows(from, to).map((r) => `${r.date},${r.region},${r.orders},${r.amount}`);
  return `date,region,orders,amount\n${lines.join('\n')}\n`;
}

/** The same report as a PDF: a title and one text line per row, as a reporting tool prints it. */
export async function reportPdf(from: string, to: string): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  let page = doc.addPage([595, 842]);
  let y = 800;
  page.drawText(`Orders from ${from} to ${to}`, { x: 50, y, size: 14, font });
  y -= 30;
  for (const r of reportRows(from, to)) {
    if (y < 50) {
      page = doc.addPage([595, 842]);
      y = 800;
    }
    for (const [x, text] of [
      [50, r.date],
      [160, r.region],
      [260, String(r.orders)],
      [340, r.amount],
    ] as const)
      page.drawText(text, { x, y, size: 10, font });
    y -= 14;
  }
  return await doc.save();
}

const page = (title: string, body: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body>${body}</body></html>`;

const LOGIN = (error = '') =>
  page(
    'Sign in',
    `<h1>Sign in</h1>${error ? `<p class="error">${error}</p>` : ''}
<form method="post" action="/login">
  <label>User <input id="username" name="username"></label>
  <label>Password <input id="password" name="password" type="password"></label>
  <button id="login" type="submit">Sign in</button>
</form>`,
  );

const REPORTS = page(
  'Reports',
  `<h1>Reports</h1><p id="welcome">Welcome</p>
<form method="get" action="/reports/view">
  <label>From <input id="from" name="from" type="date"></label>
  <label>To <input id="to" name="to" type="date"></label>
  <label>Region <select id="region" name="region"><option value="all">All</option><option value="north">North</option><option value="south">South</option></select></label>
  <label><input id="totals" name="totals" type="checkbox" value="1"> Totals</label>
  <button id="show" type="submit">Show</button>
</form>
<a id="slow" href="/slow">Slow page</a>`,
);

const escapeHtml = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

function reportView(q: URLSearchParams): string {
  const from = q.get('from') ?? '';
  const to = q.get('to') ?? '';
  const region = q.get('region') ?? 'all';
  const rows = reportRows(from, to).filter((r) => region === 'all' || r.region === region);
  const range = `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
  const cells = rows
    .map((r) => `<tr><td>${r.date}</td><td>${r.region}</td><td>${r.orders}</td><td>${r.amount}</td></tr>`)
    .join('');
  const total = q.get('totals') ? `<p id="total">${rows.reduce((n, r) => n + r.orders, 0)} orders</p>` : '';
  return page(
    'Report',
    `<h1>Orders ${escapeHtml(from)} to ${escapeHtml(to)}</h1>${total}
<table id="orders"><thead><tr><th>Date</th><th>Region</th><th>Orders</th><th>Amount</th></tr></thead><tbody>${cells}</tbody></table>
<a id="csv" href="/reports/orders.csv?${range}">CSV</a>
<a id="pdf" href="/reports/orders.pdf?${range}">PDF</a>
<a id="trickle" href="/reports/trickle.csv">Large CSV</a>`,
  );
}

async function form(req: IncomingMessage): Promise<URLSearchParams> {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

function attachment(res: ServerResponse, name: string, type: string, body: string | Uint8Array) {
  res.writeHead(200, { 'Content-Type': type, 'Content-Disposition': `attachment; filename="${name}"` });
  res.end(body);
}

export async function startPortal(opts: PortalOptions = {}): Promise<Portal> {
  const username = opts.username ?? 'alice';
  const password = opts.password ?? 'correct horse battery';
  const sessions = new Set<string>();
  const requests: string[] = [];
  const open = new Set<ServerResponse>();

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://portal');
    requests.push(`${req.method} ${url.pathname}${url.search}`);
    const session = /(?:^|;\s*)session=([a-f0-9]+)/.exec(req.headers.cookie ?? '')?.[1];
    const html = (status: number, body: string) => {
      res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(body);
    };
    if (url.pathname === '/' || url.pathname === '/login') {
      if (req.method !== 'POST') return html(200, LOGIN());
      const f = await form(req);
      if (f.get('username') !== username || f.get('password') !== password)
        return html(401, LOGIN('Invalid user name or password'));
      const id = randomBytes(16).toString('hex');
      sessions.add(id);
      res.writeHead(303, { Location: '/reports', 'Set-Cookie': `session=${id}; HttpOnly; Path=/` });
      return res.end();
    }
    if (url.pathname === '/slow') {
      await new Promise((done) => setTimeout(done, opts.slowMs ?? 5000));
      return html(200, page('Slow', '<p id="done">Finally</p>'));
    }
    if (url.pathname === '/hog') {
      // A page that keeps what it allocates (64 MB every 50 ms, every byte touched) and never stops.
      const grow =
        'const kept = []; setInterval(() => { const b = new Uint8Array(64 << 20); b.fill(7); kept.push(b); }, 50);';
      return html(200, page('Hog', `<p id="hog">Growing</p><script>${grow}</script>`));
    }
    if (session === undefined || !sessions.has(session)) {
      res.writeHead(303, { Location: '/login' });
      return res.end();
    }
    const from = url.searchParams.get('from') ?? '';
    const to = url.searchParams.get('to') ?? '';
    switch (url.pathname) {
      case '/reports':
        return html(200, REPORTS);
      case '/reports/view':
        return html(200, reportView(url.searchParams));
      case '/reports/orders.csv':
        return attachment(res, `orders-${from}-${to}.csv`, 'text/csv', reportCsv(from, to));
      case '/reports/orders.pdf':
        return attachment(res, `orders-${from}-${to}.pdf`, 'application/pdf', await reportPdf(from, to));
      case '/reports/trickle.csv': {
        // A download that never ends: a line every 100 ms, until the client goes away.
        res.writeHead(200, {
          'Content-Type': 'text/csv',
          'Content-Disposition': 'attachment; filename="big.csv"',
        });
        res.write('n\n');
        let n = 0;
        const timer = setInterval(() => res.write(`${n++}\n`), 100);
        res.on('close', () => clearInterval(timer));
        return;
      }
      default:
        return html(404, page('Not found', '<p>Not found</p>'));
    }
  };

  const server: Server = createServer((req, res) => {
    open.add(res);
    res.on('close', () => open.delete(res));
    handle(req, res).catch((err: Error) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(err.message));
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: async () => {
      for (const res of open) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}
