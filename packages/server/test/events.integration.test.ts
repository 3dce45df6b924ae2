import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { EventBus } from '../src/events/bus.ts';
import type { LiveMessage } from '../src/events/messages.ts';
import { pgliteNotifier, pgNotifier } from '../src/events/notifier.ts';

const URL = process.env.SLUICE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

function collect(bus: EventBus, channel: string) {
  const got: LiveMessage[] = [];
  const waiters: (() => void)[] = [];
  bus.subscribe(channel, (m) => {
    got.push(m);
    for (const w of waiters.splice(0)) w();
  });
  const until = async (n: number) => {
    while (got.length < n) await new Promise<void>((r) => waiters.push(r));
    return got;
  };
  return { got, until };
}

const log = (jobId: string, message: string) =>
  ({ type: 'log', payload: { jobId, level: 'INFO', message } }) as const;
const status = (jobId: string) => ({ type: 'status', payload: { jobId, status: 'running' } }) as const;

describe('event bus on PGlite (in-process)', () => {
  it('sends gathered log lines with a transaction that publishes, before its events, once', async () => {
    const db = new PGlite();
    const orm = drizzle(db);
    const bus = await EventBus.start(pgliteNotifier(db));
    const job = collect(bus, 'job:j1');
    bus.emit('p1', log('j1', 'first'));
    await orm.transaction(async (tx) => bus.publishIn(tx as never, 'p1', status('j1')));
    await job.until(2);
    // The gathering was taken: nothing comes again when its delay ends.
    await new Promise((r) => setTimeout(r, 200));
    expect(job.got.map((m) => m.type)).toEqual(['log', 'status']);
    // Not taken by a transaction, a line goes out on its own after the delay.
    bus.emit('p1', log('j1', 'second'));
    await job.until(3);
    expect(job.got[2]).toMatchObject({ type: 'log', payload: { message: 'second' } });
    await bus.close();
    await db.close();
  });

  it('routes job events to job, pipeline and global channels', async () => {
    const db = new PGlite();
    const bus = await EventBus.start(pgliteNotifier(db));
    const job = collect(bus, 'job:j1');
    const pipe = collect(bus, 'pipeline:p1');
    const global = collect(bus, 'global');
    const other = collect(bus, 'job:j2');
    await bus.publish('p1', log('j1', 'hello'));
    await bus.publish('p1', status('j1'));
    await job.until(2);
    await global.until(1);
    expect(job.got.map((m) => [m.type, m.channel])).toEqual([
      ['log', 'job:j1'],
      ['status', 'job:j1'],
    ]);
    expect(pipe.got.map((m) => m.type)).toEqual(['status']);
    expect(global.got[0]).toMatchObject({ type: 'status', channel: 'global', payload: { jobId: 'j1' } });
    expect(global.got[0]!.timestamp).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(other.got).toEqual([]);
    await bus.close();
    await db.close();
  });

  it('cuts a log line too long for NOTIFY and says so', async () => {
    const db = new PGlite();
    const bus = await EventBus.start(pgliteNotifier(db));
    const job = collect(bus, 'job:j1');
    await bus.publish('p1', log('j1', 'é'.repeat(10_000)));
    const [m] = await job.until(1);
    const message = (m!.payload as { message: string }).message;
    expect(message).toMatch(/… \(truncated; the full line is in the job's log\)$/);
    expect(message).not.toContain('\uFFFD');
    await bus.close();
    await db.close();
  });
});

describe('event bus on PostgreSQL (across processes)', () => {
  const pools: pg.Pool[] = [];
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.end()));
  });

  it('delivers what one process publishes to another', async () => {
    const a = new pg.Pool({ connectionString: URL, max: 2 });
    const b = new pg.Pool({ connectionString: URL, max: 2 });
    pools.push(a, b);
    const errors: Error[] = [];
    const api = await EventBus.start(pgNotifier(URL, a, (e) => errors.push(e)));
    const worker = await EventBus.start(pgNotifier(URL, b, (e) => errors.push(e)));
    const job = collect(api, 'job:w1');
    await worker.publish('p9', log('w1', 'from the worker'));
    const [m] = await job.until(1);
    expect(m).toMatchObject({ channel: 'job:w1', payload: { message: 'from the worker' } });
    expect(errors).toEqual([]);
    await api.close();
    await worker.close();
  });

  it('sends a burst of events in few statements, in order, repeats included, and waits for them on close', async () => {
    const a = new pg.Pool({ connectionString: URL, max: 4 });
    const b = new pg.Pool({ connectionString: URL, max: 2 });
    pools.push(b);
    let statements = 0;
    const counting = {
      query: (text: string, values: unknown[]) => {
        statements++;
        return a.query(text, values);
      },
    };
    const worker = await EventBus.start(pgNotifier(URL, counting as unknown as pg.Pool, () => undefined));
    const api = await EventBus.start(pgNotifier(URL, b, () => undefined));
    const job = collect(api, 'job:burst');
    const sent: string[] = [];
    for (let i = 0; i < 100; i++) {
      // The same line twice in a row: PostgreSQL would fold them if they shared a statement.
      const message = `line ${Math.floor(i / 2)}`;
      sent.push(message);
      worker.emit('p1', log('burst', message));
    }
    await worker.close(); // waits for what was emitted…
    await a.end(); // …so nothing can go out after it
    const got = await job.until(100);
    expect(got.map((m) => (m.payload as { message: string }).message)).toEqual(sent);
    expect(statements).toBeLessThan(60);
    await api.close();
  });
});
