import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { killFiveTimesThenFinish } from './conformance-cli.ts';
import { TEST_DATABASE_URL } from './pg-schema.ts';

/**
 * The chaos test, for any queue: a stream drained into PostgreSQL by `sluice run`
 * processes SIGKILLed five times at different moments and resumed each time. Delivery is at least
 * once (a kill between the table's commit and the acknowledgement redelivers those messages); the
 * upsert on the message's id makes the table hold each message exactly once.
 */

/** The message numbered `i`: its id, and text that needs quoting in any format. */
export const chaosOrder = (i: number) => ({ id: i, name: `order ${i}, "quoted"`, amount: (i * 7) % 1000 });

/** Orders 1..n. */
export const chaosOrders = (n: number) => Array.from({ length: n }, (_, i) => chaosOrder(i + 1));

/**
 * Runs `source` (a flow component, its config ending the read after some idle time) into a fresh
 * upsert table of `schema` through five SIGKILLed runs and a last one to the end, then checks the
 * table holds orders 1..n, each once with its contents. Kills land at checkpoints (right after an
 * acknowledgement) and at arbitrary times (before connecting, between a commit and its
 * acknowledgement, mid-batch) unless `kills` says otherwise.
 */
export async function chaosIntoPostgres(
  admin: { query<R>(sql: string): Promise<{ rows: R[] }> },
  schema: string,
  source: { source: string; with: Record<string, unknown> },
  n: number,
  kills: (number | { afterMs: number })[] = [3, { afterMs: 700 }, 2, { afterMs: 1200 }, 4],
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `sluice-chaos-${source.source}-`));
  await admin.query(`CREATE TABLE ${schema}.orders (id bigint PRIMARY KEY, name text, amount integer)`);
  const spec = join(dir, 'chaos.yaml');
  const sink = { url: TEST_DATABASE_URL, dbSchema: schema, table: 'orders', mode: 'upsert', key: ['id'] };
  writeFileSync(
    spec,
    JSON.stringify({
      name: `chaos-${source.source}`,
      retry: { attempts: 1 },
      flow: [
        { ...source, with: { ...source.with, meta: false } },
        { sink: 'postgres', with: sink },
      ],
    }),
  );
  await killFiveTimesThenFinish(dir, spec, kills);
  const { rows } = await admin.query<{ id: string; name: string; amount: number }>(
    `SELECT id, name, amount FROM ${schema}.orders ORDER BY id`,
  );
  expect(rows.length).toBe(n);
  const wrong = rows.filter((r, i) => {
    const want = chaosOrder(i + 1);
    return Number(r.id) !== want.id || r.name !== want.name || r.amount !== want.amount;
  });
  expect(wrong).toEqual([]);
}
