import { describe, expect, it } from 'vitest';
import { csvSource } from '../src/csv/source.ts';
import { mysqlSink } from '../src/mysql/sink.ts';
import { ndjsonSource } from '../src/ndjson/source.ts';
import { postgresSink } from '../src/postgres/sink.ts';

// The parallel path leaves a core to a server on this machine that a flow reads from or writes
// to: each connector must find the host.
describe("a file source's server host", () => {
  const csv = (path: string, more: object = {}) => csvSource.server!({ path, ...more } as never);

  it('is the endpoint of an s3:// path, the host of an sftp:// or http(s):// one, none for a local file', () => {
    expect(csv('s3://bench/in.csv', { s3: { endpoint: 'http://127.0.0.1:9000' } })).toBe('127.0.0.1');
    expect(csv('sftp://etl@files.example.com:2222/in.csv')).toBe('files.example.com');
    expect(csv('https://data.example.com/in.csv')).toBe('data.example.com');
    expect(ndjsonSource.server!({ path: 'http://localhost:8080/e.ndjson' } as never)).toBe('localhost');
    expect(csv('data/in.csv')).toBeUndefined();
    expect(csv('file:///data/in.csv')).toBeUndefined();
  });
});

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
