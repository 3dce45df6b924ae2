// The demo portal's figures: the same dates always give the same rows, so a test can check them.

const ACCOUNTS = ['ACC-001', 'ACC-002', 'ACC-003', 'ACC-004', 'ACC-005'];
const FUNDS = ['Atlas Income', 'Boreal Credit', 'Cedro Equity', 'Delta Multi', 'Estrela FIDC'];
const DAY_MS = 86_400_000;

/** A small deterministic number from a text (FNV-1a), to vary rows by day and account. */
function hash(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

function* days(from, to) {
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += DAY_MS)
    yield new Date(t).toISOString().slice(0, 10);
}

/**
 * Two to four transactions per day. Every seventh one carries an amount the portal could not
 * compute ("n/a"), as real reports sometimes do: the pipeline quarantines it.
 */
export function transactions(from, to) {
  const rows = [];
  let n = 0;
  for (const date of days(from, to)) {
    const count = 2 + (hash(date) % 3);
    for (let i = 0; i < count; i++) {
      n++;
      const h = hash(`${date}#${i}`);
      const cents = (h % 2_000_000) - 500_000;
      rows.push({
        date,
        account: ACCOUNTS[h % ACCOUNTS.length],
        amount: n % 7 === 0 ? 'n/a' : (cents / 100).toFixed(2),
        currency: 'BRL',
      });
    }
  }
  return rows;
}

/** Each account's position in its fund at the end of `asOf`. */
export function positions(asOf) {
  return ACCOUNTS.map((account, i) => {
    const h = hash(`${asOf}/${account}`);
    const quantity = 100 + (h % 9_900);
    const price = (1000 + (h % 90_000)) / 100;
    return {
      account,
      fund: FUNDS[i],
      quantity,
      price: price.toFixed(2),
      value: (quantity * price).toFixed(2),
    };
  });
}
