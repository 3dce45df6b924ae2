import { describe, expect, it } from 'vitest';
import { mysqlSink } from '../src/mysql/sink.ts';
import { postgresSink } from '../src/postgres/sink.ts';

// The parallel path leaves a core to a sink's server on this machine: it must find the host.
describe("a database sink's server host", () => {
  const pg = (url: string) => postgresSink.server!({ url } as never);
  const my = (url: string) => mysqlSink.server!({ url } as never);

  it('is read from a PostgreSQL url or libpq string, sockets included', () => {
    expect(pg('postgres://etl:pw@db.example.com:5432/shop')).toBe('db.example.com');
    expect(pg('postgresql://postgres@127.0.0.1:5432/test')).toBe('127.0.0.1');
    expect(pg('postgresql://[::1]:5432/test')).toBe('[::1]');
    expect(pg('postgres:///shop?host=/var/run/postgresql')).toBe('/var/run/postgresql');
    expect(pg('host=db.example.com dbname=shop user=etl')).toBe('db.example.com');
    expect(pg('not a url')).toBeUndefined();
  });

  it('is read from a mysql:// url', () => {
    expect(my('mysql://root@127.0.0.1:3306/test')).toBe('127.0.0.1');
    expect(my('mariadb://etl:pw@db.example.com/shop')).toBe('db.example.com');
    expect(my('http://db/shop')).toBeUndefined();
  });
});
