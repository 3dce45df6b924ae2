import { ErrorCode, FatalError } from '@sluice/core';
import {
  createUser,
  findUser,
  listUsers,
  loadMasterKey,
  migrate,
  openDatabase,
  ROLES,
  type Role,
  rotateMasterKey,
  SYSTEM,
  type UserChange,
  updateUser,
} from '@sluice/server';
import pc from 'picocolors';
import { type DbFlags, databaseOptions, dataDir as dataDirOf } from '../platform-location.ts';
import { printError } from '../render/errors.ts';

async function withDatabase<T>(
  f: DbFlags,
  use: (db: Awaited<ReturnType<typeof openDatabase>>) => Promise<T>,
) {
  const database = await openDatabase(databaseOptions(f));
  try {
    await migrate(database);
    return await use(database);
  } finally {
    await database.close();
  }
}

function role(value: string): Role {
  if (!(ROLES as readonly string[]).includes(value))
    throw new FatalError(`unknown role "${value}": use ${ROLES.join(', ')}`, { code: ErrorCode.CONFIG });
  return value as Role;
}

/** The password from SLUICE_PASSWORD or the first line of stdin: never a command-line argument (ps shows those). */
async function readPassword(): Promise<string> {
  if (process.env.SLUICE_PASSWORD) return process.env.SLUICE_PASSWORD;
  if (process.stdin.isTTY)
    throw new FatalError('give the password on stdin (echo … | sluice users …) or in SLUICE_PASSWORD', {
      code: ErrorCode.CONFIG,
    });
  let text = '';
  for await (const chunk of process.stdin) text += String(chunk);
  const line = text.split(/\r?\n/)[0] ?? '';
  if (!line) throw new FatalError('no password on stdin', { code: ErrorCode.CONFIG });
  return line;
}

const CLI_ACTOR = { ...SYSTEM, username: 'sluice-cli' };

/** `sluice users <action> [username] [value]`. */
export async function usersCommand(
  action: string,
  username: string | undefined,
  value: string | undefined,
  f: DbFlags,
) {
  try {
    await withDatabase(f, async (database) => {
      const p = { database };
      if (action === 'list') {
        const { items } = await listUsers(p, { limit: 500, offset: 0 });
        for (const u of items)
          process.stdout.write(
            `${u.username}\t${u.role}\t${u.active ? 'active' : 'disabled'}${u.totpEnabled ? '\ttotp' : ''}\n`,
          );
        return;
      }
      if (!username)
        throw new FatalError(`sluice users ${action} needs a username`, { code: ErrorCode.CONFIG });
      if (action === 'create') {
        const u = await createUser(
          p,
          { username, password: await readPassword(), role: role(value ?? 'viewer') },
          CLI_ACTOR,
        );
        process.stdout.write(`${pc.green('✓')} created ${u.username} (${u.role})\n`);
        return;
      }
      const u = await findUser(p, username);
      if (!u)
        throw new FatalError(`no user named "${username}"; sluice users list shows them`, {
          code: ErrorCode.NOT_FOUND,
        });
      const changes: Record<string, () => Promise<UserChange>> = {
        'set-password': async () => ({ password: await readPassword() }),
        'set-role': async () => ({ role: role(value ?? '') }),
        disable: async () => ({ active: false }),
        enable: async () => ({ active: true }),
        'reset-totp': async () => ({ totp: false }),
      };
      const change = changes[action];
      if (!change)
        throw new FatalError(
          `unknown action "${action}": use list, create, ${Object.keys(changes).join(', ')}`,
          {
            code: ErrorCode.CONFIG,
          },
        );
      const v = await updateUser(p, u.id, await change(), CLI_ACTOR);
      process.stdout.write(
        `${pc.green('✓')} ${v.username}: ${v.role}, ${v.active ? 'active' : 'disabled'}\n`,
      );
    });
    return 0;
  } catch (err) {
    printError(err);
    return 1;
  }
}

/** `sluice keys rotate`: every secret re-encrypted under a new master key, in one transaction. */
export async function keysRotateCommand(f: DbFlags) {
  try {
    const dataDir = dataDirOf(f);
    const oldKey = await loadMasterKey(dataDir);
    const r = await withDatabase(f, (database) =>
      rotateMasterKey(database, {
        oldKey,
        dataDir,
        keyFromFile: process.env.SLUICE_MASTER_KEY === undefined,
        ...(process.env.SLUICE_NEW_MASTER_KEY ? { newKey: process.env.SLUICE_NEW_MASTER_KEY } : {}),
      }),
    );
    process.stdout.write(
      `${pc.green('✓')} re-encrypted ${r.credentials} credentials, ${r.totpSecrets} TOTP secrets, ${r.webhookSecrets} webhook secrets, ${r.jobPlans} job plans\n` +
        (r.keyFile
          ? `  the new key is in ${r.keyFile}\n`
          : process.env.SLUICE_NEW_MASTER_KEY
            ? '  set SLUICE_MASTER_KEY to the value of SLUICE_NEW_MASTER_KEY on every server and worker, then restart them\n'
            : `  the new master key (shown once; set SLUICE_MASTER_KEY to it on every server and worker):\n  ${r.newKey}\n`),
    );
    return 0;
  } catch (err) {
    printError(err);
    return 1;
  }
}
