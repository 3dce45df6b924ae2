/**
 * W8: a RabbitMQ queue → PostgreSQL, the messages published beforehand (not timed). Sluice's
 * rabbitmq source and postgres sink, which acknowledge after each checkpoint commits, against the
 * floor: a plain amqplib consumer COPYing batches of 500 and acknowledging after each commit.
 * Target: Sluice's sustained rows/s ≥ 0.7× the floor's. Needs RabbitMQ at BENCH_AMQP_URL.
 */
import { join } from 'node:path';
import { assertOk, measure } from './measure.ts';
import { DATABASE_URL, SCHEMA, sql } from './pg.ts';
import { type BenchContext, expectEqual, NODE, type Runner, sample, sluiceRunner } from './runners.ts';

export const AMQP_URL = process.env.BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const QUEUE = 'bench-w8';
/** Messages per repetition: W8 measures a sustained rate, which does not need the whole data set. */
export const w8Messages = (ctx: BenchContext): number => Math.min(ctx.data.rows, 200_000);

function recreate(table: string): void {
  sql(`SET client_min_messages = warning; CREATE SCHEMA IF NOT EXISTS ${SCHEMA};
    DROP TABLE IF EXISTS ${SCHEMA}.${table};
    CREATE TABLE ${SCHEMA}.${table} (id bigint, name text, email text, country text, amount numeric(12,2), quantity integer)`);
}

async function fill(ctx: BenchContext): Promise<void> {
  const m = await measure(NODE, [
    join(ctx.benchDir, 'peers', 'amqp-publish.mjs'),
    AMQP_URL,
    QUEUE,
    String(w8Messages(ctx)),
  ]);
  assertOk('amqp publish', m);
}

function check(ctx: BenchContext, table: string): void {
  const [rows, distinct] = sql(`SELECT count(*), count(DISTINCT id) FROM ${SCHEMA}.${table}`)
    .split('|')
    .map(Number);
  expectEqual(`SELECT count(*) FROM ${SCHEMA}.${table}`, rows!, w8Messages(ctx));
  expectEqual(`SELECT count(DISTINCT id) FROM ${SCHEMA}.${table}`, distinct!, w8Messages(ctx));
}

export function amqpRunners(ctx: BenchContext, only: ReadonlySet<string>): Runner[] {
  const n = w8Messages(ctx);
  const sluice = sluiceRunner(ctx, {
    id: 'sluice',
    workload: 'w8',
    spec: 'w8',
    label:
      '`sluice run w8.yaml --json` (rabbitmq source, prefetch 2000, batches of 500 → postgres sink, `verify: count`)',
    env: { BENCH_AMQP_URL: AMQP_URL },
    args: ['--param', `messages=${n}`],
    rowsRead: n,
    rowsWritten: n,
    prepare: () => recreate('w8_sluice'),
    check: () => check(ctx, 'w8_sluice'),
  });
  let floorCount = 0;
  const floor: Runner = {
    id: 'floor',
    workload: 'w8',
    label: 'Node: amqplib consumer (prefetch 2000), COPY per 500 messages, ack after each commit',
    prepare: () => recreate('w8_floor'),
    async run() {
      const m = assertOk(
        'amqp floor',
        await measure(NODE, [
          join(ctx.benchDir, 'peers', 'amqp-floor.mjs'),
          AMQP_URL,
          QUEUE,
          String(n),
          DATABASE_URL,
          `${SCHEMA}.w8_floor`,
        ]),
      );
      floorCount = Number(m.stdout.trim());
      return sample(m);
    },
    verify() {
      expectEqual('messages the floor wrote', floorCount, n);
      check(ctx, 'w8_floor');
    },
  };
  // The queue is filled before each repetition, outside the timing.
  return [sluice, floor]
    .filter((r) => only.has(r.id))
    .map((r) => ({
      ...r,
      prepare: async () => {
        await r.prepare();
        await fill(ctx);
      },
    }));
}
