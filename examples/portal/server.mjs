// The demo portal of examples/portal-report.yaml: a small web portal like the ones the seeds'
// connectors log in to. Sign in (session cookie), choose a date range, download the transactions
// (CSV) and the positions (PDF) generated for it; one page is slow on purpose. It also receives
// the pipeline's notification (POST /hooks/notify) and lists what it received.
// Loopback only. Run on its own: node examples/portal/server.mjs [port]
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { positions, transactions } from './data.mjs';
import { positionsPdf } from './pdf.mjs';

export const DEMO_USER = { username: 'analyst', password: 'portal-demo-2026' };

const page = (title, body) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${title} · Demo portal</title>` +
  '<style>body{font:15px system-ui;margin:2rem;max-width:52rem}table{border-collapse:collapse}' +
  'td,th{border:1px solid #ccc;padding:.3rem .6rem}.error{color:#b00}</style></head>' +
  `<body><h1>${title}</h1>${body}</body></html>`;

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

function same(a, b) {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

async function body(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Starts the portal on 127.0.0.1 (port 0: any free one). Resolves with its URL, the notifications
 * it received, and close().
 */
export async function startPortal(port = 0) {
  const sessions = new Set();
  const notifications = [];
  const signedIn = (req) => {
    const sid = /(?:^|;\s*)sid=([a-f0-9]+)/.exec(req.headers.cookie ?? '')?.[1];
    return sid !== undefined && sessions.has(sid);
  };
  const range = (url) => {
    const from = url.searchParams.get('from') ?? '';
    const to = url.searchParams.get('to') ?? '';
    if (!ISO_DATE.test(from) || !ISO_DATE.test(to) || from > to) return undefined;
    return { from, to };
  };
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://portal');
    const send = (status, html, headers = {}) => {
      res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', ...headers });
      res.end(html);
    };
    try {
      if (req.method === 'POST' && url.pathname === '/hooks/notify') {
        const text = await body(req);
        notifications.push({ at: new Date().toISOString(), body: text });
        res.writeHead(204).end();
        return;
      }
      if (url.pathname === '/notifications.json') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(notifications));
        return;
      }
      if (url.pathname === '/notifications') {
        const items = notifications.map(
          (n) => `<li><time>${n.at}</time><pre>${escapeHtml(n.body)}</pre></li>`,
        );
        send(200, page('Notifications received', `<ul id="notifications">${items.join('')}</ul>`));
        return;
      }
      if (url.pathname === '/login' && req.method === 'POST') {
        const form = new URLSearchParams(await body(req));
        if (
          same(form.get('username') ?? '', DEMO_USER.username) &&
          same(form.get('password') ?? '', DEMO_USER.password)
        ) {
          const sid = randomBytes(16).toString('hex');
          sessions.add(sid);
          send(303, '', { location: '/reports', 'set-cookie': `sid=${sid}; HttpOnly; SameSite=Lax; Path=/` });
        } else {
          send(401, loginPage('Invalid username or password.'));
        }
        return;
      }
      if (url.pathname === '/login' || url.pathname === '/') {
        if (url.pathname === '/' && signedIn(req)) send(303, '', { location: '/reports' });
        else send(200, loginPage());
        return;
      }
      if (!signedIn(req)) {
        send(303, '', { location: '/login' });
        return;
      }
      if (url.pathname === '/slow') {
        // The page a per-action timeout is shown with: it answers after a minute.
        setTimeout(
          () => send(200, page('Slow report', '<p id="slow-done">Done at last.</p>')),
          60_000,
        ).unref();
        return;
      }
      if (url.pathname === '/reports') {
        send(200, reportsPage(range(url)));
        return;
      }
      const r = range(url);
      if (url.pathname === '/reports/transactions.csv' && r) {
        const rows = transactions(r.from, r.to);
        const csv = [
          'date,account,amount,currency',
          ...rows.map((t) => `${t.date},${t.account},${t.amount},${t.currency}`),
        ];
        res.writeHead(200, {
          'content-type': 'text/csv; charset=utf-8',
          'content-disposition': `attachment; filename="transactions-${r.from}-${r.to}.csv"`,
        });
        res.end(`${csv.join('\n')}\n`);
        return;
      }
      if (url.pathname === '/reports/positions.pdf' && r) {
        const pdf = await positionsPdf(r.to, positions(r.to));
        res.writeHead(200, {
          'content-type': 'application/pdf',
          'content-disposition': `attachment; filename="positions-${r.to}.pdf"`,
        });
        res.end(Buffer.from(pdf));
        return;
      }
      send(404, page('Not found', `<p>No page ${escapeHtml(url.pathname)}.</p>`));
    } catch (err) {
      send(500, page('Error', `<pre>${escapeHtml(err?.stack ?? err)}</pre>`));
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const { port: bound } = server.address();
  return {
    url: `http://127.0.0.1:${bound}`,
    notifications,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function loginPage(error) {
  return page(
    'Sign in',
    (error ? `<p class="error" role="alert">${error}</p>` : '') +
      '<form method="post" action="/login">' +
      '<label>User <input id="username" name="username" autocomplete="username"></label> ' +
      '<label>Password <input id="password" name="password" type="password" autocomplete="current-password"></label> ' +
      '<button id="sign-in" type="submit">Sign in</button></form>',
  );
}

function reportsPage(r) {
  const form =
    '<form method="get" action="/reports">' +
    `<label>From <input id="from" name="from" type="date" value="${r?.from ?? ''}"></label> ` +
    `<label>To <input id="to" name="to" type="date" value="${r?.to ?? ''}"></label> ` +
    '<button id="generate" type="submit">Generate</button></form>' +
    '<p><a href="/slow">Yearly report (slow)</a></p>';
  if (!r) return page('Reports', form);
  const q = `from=${r.from}&to=${r.to}`;
  const rows = transactions(r.from, r.to);
  const summary = rows.length === 0 ? 0 : rows.filter((t) => Number.isFinite(Number(t.amount))).length;
  return page(
    'Reports',
    `${form}<h2 id="ready">Reports for ${r.from} to ${r.to}</h2>` +
      `<table id="summary"><tr><th>Report</th><th>Rows</th></tr>` +
      `<tr><td>Transactions</td><td>${rows.length}</td></tr><tr><td>Valid amounts</td><td>${summary}</td></tr></table>` +
      `<p><a id="download-csv" href="/reports/transactions.csv?${q}" download>Transactions (CSV)</a> · ` +
      `<a id="download-pdf" href="/reports/positions.pdf?${q}" download>Positions (PDF)</a></p>`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const portal = await startPortal(Number(process.argv[2] ?? 8099));
  process.stdout.write(`demo portal at ${portal.url} (user ${DEMO_USER.username})\n`);
}
