import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type JetStreamManager, type JsMsg, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { atFileEnd } from './file-end.ts';

/** The NATS server with JetStream the tests use (`.ci/run` requires it). */
export const NATS_URL = process.env.SLUICE_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

let admin: NatsConnection | undefined;
let manager: JetStreamManager | undefined;
const made: string[] = [];

async function jsm(): Promise<JetStreamManager> {
  if (admin === undefined) {
    admin = await connect({ servers: new URL(NATS_URL).host });
    atFileEnd(cleanUp);
  }
  manager ??= await jetstreamManager(admin);
  return manager;
}

/**
 * A stream of its own for one test, listening on `<prefix>.>`, deleted when the file's tests end.
 * Returns its name and the subject prefix.
 */
export async function freshStream(
  tag = 's',
  duplicateWindowMs = 120_000,
): Promise<{ stream: string; prefix: string }> {
  const id = randomUUID().slice(0, 8);
  const stream = `sluice-test-${tag}-${id}`;
  const prefix = `sluice-test.${tag}.${id}`;
  made.push(stream);
  await (await jsm()).streams.add({
    name: stream,
    subjects: [`${prefix}.>`],
    duplicate_window: duplicateWindowMs * 1_000_000,
  });
  return { stream, prefix };
}

/** Publishes each body (objects as JSON) to `subject`, each stored; with `Nats-Msg-Id` m-1, m-2… unless `ids` is false. */
export async function publish(subject: string, bodies: (object | string)[], ids = true): Promise<void> {
  await jsm();
  const js = jetstream(admin!);
  for (const [i, b] of bodies.entries()) {
    const data = typeof b === 'string' ? b : JSON.stringify(b);
    if (!ids) await js.publish(subject, data);
    else {
      const h = headers();
      h.set('X-Test', 'yes');
      await js.publish(subject, data, { msgID: `m-${i + 1}`, headers: h });
    }
  }
}

/** The consumer's counts: messages not yet delivered (`waiting`) and delivered but unacknowledged. */
export async function consumerState(
  stream: string,
  consumer: string,
): Promise<{ waiting: number; unacknowledged: number; redelivered: number }> {
  const i = await (await jsm()).consumers.info(stream, consumer);
  return { waiting: i.num_pending, unacknowledged: i.num_ack_pending, redelivered: i.num_redelivered };
}

/** Every message stored in `stream`, in order: its body as text, its subject and its Nats-Msg-Id. */
export async function streamMessages(
  stream: string,
): Promise<{ body: string; subject: string; id: string | undefined }[]> {
  const m = await jsm();
  const { state } = await m.streams.info(stream);
  const out: { body: string; subject: string; id: string | undefined }[] = [];
  for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
    const sm = await m.streams.getMessage(stream, { seq }).catch(() => null);
    if (sm)
      out.push({ body: sm.string(), subject: sm.subject, id: sm.header.get('Nats-Msg-Id') || undefined });
  }
  return out;
}

/**
 * Takes up to `n` messages through the durable `consumer` (made by a source run) and leaves them
 * unacknowledged, as a process killed before its checkpoint would: returns them, to be nak'd or let be.
 */
export async function takeUnacked(stream: string, consumer: string, n: number): Promise<JsMsg[]> {
  await jsm();
  const c = await jetstream(admin!).consumers.get(stream, consumer);
  const batch = await c.fetch({ max_messages: n, expires: 2000 });
  const out: JsMsg[] = [];
  for await (const m of batch) out.push(m);
  return out;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * A second nats-server on a free loopback port that wants user `etl` with `password`, in a
 * temporary directory; `stop()` ends it and removes the directory.
 */
export async function serverWithLogin(password: string): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-nats-auth-'));
  const port = await freePort();
  const conf = join(dir, 'nats.conf');
  writeFileSync(
    conf,
    `listen: 127.0.0.1:${port}\njetstream { store_dir: "${join(dir, 'js')}" }\n` +
      `authorization { users: [ { user: etl, password: "${password}" } ] }\n`,
  );
  const proc = spawn('nats-server', ['-c', conf], { stdio: 'ignore' });
  const url = `nats://127.0.0.1:${port}`;
  // Ready once it accepts a login.
  for (let i = 0; ; i++) {
    try {
      const nc = await connect({ servers: `127.0.0.1:${port}`, user: 'etl', pass: password, timeout: 500 });
      await nc.close();
      break;
    } catch (err) {
      if (i > 50) {
        proc.kill();
        throw err;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    async stop() {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill();
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Deletes the file's streams and closes the connection (the next file opens its own). */
async function cleanUp(): Promise<void> {
  if (admin === undefined) return;
  const [closing, jsm_] = [admin, manager];
  admin = undefined;
  manager = undefined;
  for (const s of made.splice(0)) await jsm_?.streams.delete(s).catch(() => undefined);
  await closing.close();
}
