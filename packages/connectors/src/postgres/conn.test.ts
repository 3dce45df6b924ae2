import { FatalError, RetryableError } from '@sluice/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { isoTimestamp, isoTimestamptz, loadPg, maskUrl, pgError, sluiceTypes } from './conn.ts';

const target = { address: 'db:5432', database: 'shop', user: 'etl', url: 'postgres://etl:***@db:5432/shop' };
const fail = (fields: Record<string, string>) => Object.assign(new Error(fields.message ?? 'boom'), fields);

describe('pg connection helpers', () => {
  // Type parsers fall back to pg's own, which connect() loads first.
  beforeAll(loadPg);

  it('masks passwords in urls', () => {
    expect(maskUrl('postgres://etl:s3cret@db:5432/shop')).toBe('postgres://etl:***@db:5432/shop');
    expect(maskUrl('postgres://db/shop?password=s3cret&sslmode=require')).toBe(
      'postgres://db/shop?password=***&sslmode=require',
    );
    expect(maskUrl('postgres://db/shop')).toBe('postgres://db/shop');
    expect(maskUrl('host=db password=s3cret dbname=shop')).toBe('host=db password=*** dbname=shop');
  });

  it('parses int8 and numeric to numbers only when exact', () => {
    const int8 = sluiceTypes.getTypeParser(20, 'text') as (s: string) => unknown;
    const numeric = sluiceTypes.getTypeParser(1700, 'text') as (s: string) => unknown;
    expect(int8('42')).toBe(42);
    expect(int8('9223372036854775807')).toBe('9223372036854775807');
    expect(numeric('-0.000123')).toBe(-0.000123);
    expect(numeric('123456789012345')).toBe(123456789012345);
    expect(numeric('1234567890123456')).toBe('1234567890123456');
    expect(numeric('NaN')).toBe('NaN');
  });

  it('turns timestamps into ISO strings without losing microseconds', () => {
    expect(isoTimestamptz('2024-01-02 03:04:05.123456+00')).toBe('2024-01-02T03:04:05.123456Z');
    expect(isoTimestamptz('infinity')).toBe('infinity');
    expect(isoTimestamptz('2024-01-02 03:04:05-08')).toBe('2024-01-02T03:04:05-08:00');
    expect(isoTimestamptz('2024-01-02 03:04:05+05:30')).toBe('2024-01-02T03:04:05+05:30');
    expect(isoTimestamp('2024-01-02 03:04:05')).toBe('2024-01-02T03:04:05');
    expect((sluiceTypes.getTypeParser(1082, 'text') as (s: string) => unknown)('2024-02-29')).toBe(
      '2024-02-29',
    );
  });

  it('classifies errors: network and transient states retry, the rest is fatal', () => {
    const refused = pgError(fail({ code: 'ECONNREFUSED' }), 'load.1:postgres', target, 'connect');
    expect(refused).toBeInstanceOf(RetryableError);
    expect(refused.message).toBe(
      'load.1:postgres: cannot connect to PostgreSQL at db:5432: connection refused — is the server running and the url right?',
    );
    for (const code of ['57P01', '40001', '40P01', '08006']) {
      expect(pgError(fail({ code }), 'x', target)).toBeInstanceOf(RetryableError);
    }
    const auth = pgError(
      fail({ code: '28P01', message: 'password authentication failed' }),
      'x',
      target,
      'connect',
    );
    expect(auth).toBeInstanceOf(FatalError);
    expect(auth.message).toMatch(
      /refused user "etl".*check the user and password in the url \(postgres:\/\/etl:\*\*\*@/,
    );
    const missing = pgError(fail({ code: '42P01', message: 'relation "a.b" does not exist' }), 'x', target);
    expect(missing.code).toBe('NOT_FOUND');
    expect(missing.message).toBe(
      'x: relation "a.b" does not exist in database "shop" at db:5432 — check the schema and table names',
    );
    const denied = pgError(fail({ code: '42501', message: 'permission denied for table t' }), 'x', target);
    expect(denied).toBeInstanceOf(FatalError);
    expect(denied.message).toMatch(/user "etl" lacks a privilege/);
  });
});
