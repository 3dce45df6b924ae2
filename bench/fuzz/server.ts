/**
 * A real `sluice serve` as a child process for the campaign: a crash is the process exiting, seen
 * here, and the server is started again on the same data directory so the campaign goes on.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export interface LiveServer {
  url: string;
  /** Whether the process has exited since it started, and how. */
  exited(): { code: number | null; signal: string | null } | null;
  stop(): Promise<void>;
}

export interface ServerOptions {
  root: string;
  dataDir: string;
  filesDir: string;
  adminPassword: string;
  masterKey: string;
  /** The server's stdout and stderr are appended here. */
  logFile: string;
}

const freePort = () =>
  new Promise<number>((done, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => done(port));
    });
  });

export async function startServer(o: ServerOptions): Promise<LiveServer> {
  mkdirSync(o.dataDir, { recursive: true });
  mkdirSync(o.filesDir, { recursive: true });
  const port = await freePort();
  const log = createWriteStream(o.logFile, { flags: 'a' });
  const child: ChildProcess = spawn(
    process.execPath,
    [
      join(o.root, 'packages/cli/bin/sluice.js'),
      'serve',
      '--data-dir',
      o.dataDir,
      '--files-dir',
      o.filesDir,
      '--port',
      String(port),
      '--rate-limit',
      '1000000000',
    ],
    {
      env: {
        ...process.env,
        NO_COLOR: '1',
        SLUICE_ADMIN_PASSWORD: o.adminPassword,
        SLUICE_MASTER_KEY: o.masterKey,
        SLUICE_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let exit: { code: number | null; signal: string | null } | null = null;
  child.on('exit', (code, signal) => {
    exit = { code, signal };
  });
  child.stderr!.pipe(log);
  await new Promise<void>((done, fail) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += String(d);
      log.write(d);
      if (out.includes('Ctrl-C')) done();
    });
    child.once('exit', (code) => fail(new Error(`sluice serve exited with ${code} on start: ${out}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    exited: () => exit,
    stop: () =>
      new Promise((done) => {
        if (exit) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  };
}
