import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, Socket } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Sshd {
  port: number;
  user: string;
  /** The server's host key as `ssh-keygen -lf` prints it (SHA256:…). */
  hostKeyFingerprint: string;
  /** An OpenSSH private key the server accepts for `user`. */
  privateKey: string;
  /** A temporary directory (absolute path) for the tests' files, removed by `close`. */
  root: string;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const answers = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = new Socket();
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
    s.connect(port, '127.0.0.1');
  });

/**
 * Debian's OpenSSH server on 127.0.0.1 and a free port, with its own host key and one authorised
 * key, for the user running the tests (root in CI, hence `PermitRootLogin prohibit-password`).
 * Only key authentication is offered: a password would need a system account's password.
 */
export async function startSshd(): Promise<Sshd> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-sshd-'));
  const root = join(dir, 'files');
  await mkdir(root);
  // sshd refuses to start without its privilege-separation directory.
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  const hostKey = join(dir, 'host_ed25519');
  const userKey = join(dir, 'user_ed25519');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', userKey]);
  const printed = (await run('ssh-keygen', ['-lf', `${hostKey}.pub`])).stdout;
  const hostKeyFingerprint = /SHA256:[A-Za-z0-9+/]+/.exec(printed)![0];
  await writeFile(join(dir, 'authorized_keys'), await readFile(`${userKey}.pub`));
  const config = join(dir, 'sshd_config');
  await writeFile(
    config,
    [
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'UsePAM no',
      'StrictModes no',
      `PidFile ${join(dir, 'sshd.pid')}`,
      'Subsystem sftp internal-sftp',
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const proc: ChildProcess = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config, '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  proc.stderr!.on('data', (d: Buffer) => {
    log += d.toString();
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  while (!(await answers(port))) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill();
      await rm(dir, { recursive: true, force: true });
      throw new Error(`sshd did not start on 127.0.0.1:${port}:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    user: userInfo().username,
    hostKeyFingerprint,
    privateKey: await readFile(userKey, 'utf8'),
    root,
    async close() {
      proc.kill();
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
