import { ErrorCode, netPolicy, type SluiceError } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { connect as connectMysql, myConnection } from '../src/mysql/conn.ts';
import { connect as connectPostgres } from '../src/postgres/conn.ts';
import { connectRedis, redisConnection } from '../src/shared/redis-conn.ts';
import { openSession } from '../src/sql-task/sessions.ts';

// Database connections dial a host a user typed: the run's network policy decides before any
// socket opens, so these need no server (a refused host is never reached).
const loopbackDenied = { network: netPolicy({ deny: ['127.0.0.0/8', '::1'] }) };

async function failure(p: Promise<unknown>): Promise<SluiceError> {
  try {
    await p;
  } catch (err) {
    return err as SluiceError;
  }
  throw new Error('expected a refusal');
}

describe('database connections under the network policy', () => {
  it('MySQL refuses the metadata address by the built-in rule and loopback by --deny-hosts', async () => {
    const meta = await failure(
      connectMysql('mysql://root@169.254.169.254:3306/test', { where: 'db.0:mysql', net: {} }),
    );
    expect(meta.code).toBe(ErrorCode.HOST_FORBIDDEN);
    expect(meta.message).toMatch(/^db\.0:mysql url: .*169\.254\.169\.254 is refused by the built-in rule/);
    const named = await failure(
      connectMysql('mysql://root@localhost:3306/test', { where: 'db.0:mysql', net: loopbackDenied }),
    );
    expect(named.code).toBe(ErrorCode.HOST_FORBIDDEN);
    expect(named.message).toMatch(/the host localhost \(address .*\) is refused by --deny-hosts/);
    const check = await failure(
      myConnection.check(
        { url: 'mysql://root@127.0.0.1:3306/test' },
        { signal: AbortSignal.timeout(5000), stepId: 'credential', ...loopbackDenied },
      ),
    );
    expect(check.code).toBe(ErrorCode.HOST_FORBIDDEN);
  });

  it('PostgreSQL refuses a denied host before connecting', async () => {
    const e = await failure(
      connectPostgres('postgres://postgres@127.0.0.1:5432/test', {
        where: 'db.0:postgres',
        net: loopbackDenied,
      }),
    );
    expect(e.code).toBe(ErrorCode.HOST_FORBIDDEN);
    expect(e.message).toMatch(/^db\.0:postgres url: .*127\.0\.0\.1.* is refused by --deny-hosts/);
  });

  it('the sql task refuses a denied host for both server databases', async () => {
    const ctx = { workDir: '/tmp', stepId: 'load', paths: undefined, ...loopbackDenied };
    for (const url of ['mysql://root@127.0.0.1:3306/test', 'postgres://postgres@127.0.0.1:5432/test']) {
      const e = await failure(openSession(ctx as never, url, 'load:sql'));
      expect(e.code, url).toBe(ErrorCode.HOST_FORBIDDEN);
      expect(e.message, url).toContain('is refused by --deny-hosts');
    }
  });
});

// Redis connections: the lookup transform and redis-stream share them (shared/redis-conn.ts).
describe('Redis connections under the network policy', () => {
  it('refuses the metadata address by the built-in rule, and a denied host without showing the password', async () => {
    const meta = await failure(
      connectRedis('redis://169.254.169.254:6379/0', { where: 'read.0:redis-stream', net: {} }),
    );
    expect(meta.code).toBe(ErrorCode.HOST_FORBIDDEN);
    expect(meta.message).toMatch(
      /^read\.0:redis-stream url: .*169\.254\.169\.254 is refused by the built-in rule/,
    );
    for (const url of ['redis://etl:s3cret-pw@127.0.0.1:6379/0', 'redis://etl:s3cret-pw@[::1]:6379/0']) {
      const e = await failure(connectRedis(url, { where: 'read.0:redis-stream', net: loopbackDenied }));
      expect(e.code, url).toBe(ErrorCode.HOST_FORBIDDEN);
      expect(e.message, url).toContain('is refused by --deny-hosts');
      expect(e.message, url).not.toContain('s3cret-pw');
    }
  });

  it("the connection check (the credentials page's Test) refuses a denied host", async () => {
    const e = await failure(
      redisConnection.check(
        { url: 'redis://127.0.0.1:6379' },
        { signal: AbortSignal.timeout(5000), stepId: 'credential', ...loopbackDenied },
      ),
    );
    expect(e.code).toBe(ErrorCode.HOST_FORBIDDEN);
  });
});
