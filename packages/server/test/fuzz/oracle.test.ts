import { describe, expect, it } from 'vitest';
import { checkAnswer, checkValidation, type Secrets } from '../../../../bench/fuzz/oracle.ts';

// The fuzz oracle must see what it is there to see: a property test that passes because its
// oracle is blind proves nothing.
const secrets: Secrets = { paths: ['/srv/sluice/files'], values: ['master-key-0123456789'] };
const kinds = (status: number, body: unknown, sent = '') =>
  checkAnswer(
    { status, text: typeof body === 'string' ? body : JSON.stringify(body), ms: 3 },
    sent,
    secrets,
  ).map((p) => p.kind);

describe('the fuzz oracle', () => {
  it('passes answers in the documented shape', () => {
    expect(kinds(200, { items: [] })).toEqual([]);
    expect(kinds(404, { error: { code: 'NOT_FOUND', message: 'no such job', details: [] } })).toEqual([]);
    const v = {
      error: { code: 'VALIDATION_FAILED', message: 'x', details: [{ path: 'body.name', message: 'm' }] },
    };
    expect(kinds(400, v)).toEqual([]);
  });

  it('flags 5xx, slow answers, a wrong shape and refusals without a path', () => {
    expect(kinds(500, { error: { code: 'INTERNAL', message: 'internal error', id: 'x' } })).toEqual(['5xx']);
    expect(kinds(0, 'socket hang up')).toEqual(['5xx']);
    expect(checkAnswer({ status: 200, text: '{}', ms: 6_000 }, '', secrets).map((p) => p.kind)).toEqual([
      'hang',
    ]);
    expect(kinds(400, { statusCode: 400, error: 'Bad Request', message: 'x' })).toEqual(['shape']);
    expect(
      kinds(400, {
        error: { code: 'FST_ERR_BAD_URL', message: 'x', details: [{ path: 'url', message: 'x' }] },
      }),
    ).toEqual(['shape']);
    expect(kinds(400, { error: { code: 'BAD_REQUEST', message: 'x', details: [] } })).toEqual(['no-path']);
    expect(kinds(404, { error: { code: 'NOT_FOUND', message: 'x', details: [] } })).toEqual([]);
    expect(kinds(400, { error: { code: 'VALIDATION_FAILED', message: 'x', details: [] } })).toEqual([
      'no-path',
    ]);
    expect(
      checkValidation(JSON.stringify({ ok: false, issues: [{ path: '', message: 'm' }] }))[0]?.kind,
    ).toBe('no-path');
  });

  it('flags SQL, server paths, stack traces and secrets, but not what the request itself said', () => {
    const sql = 'Failed query: select "id", "password_hash" from "users" where "username" = $1';
    expect(kinds(400, { error: { code: 'BAD_REQUEST', message: sql } })).toContain('leak');
    expect(kinds(200, { error: 'insert into "credentials" values ($1)' })).toContain('leak');
    expect(kinds(404, { error: { code: 'NOT_FOUND', message: 'no /srv/sluice/files/x.csv' } })).toContain(
      'leak',
    );
    expect(kinds(200, 'Error: x\n    at run (/app/src/x.ts:1:2)')).toContain('leak');
    expect(kinds(200, { key: 'master-key-0123456789' })).toContain('leak');
    expect(kinds(200, { message: 'select one from the list' })).toEqual([]);
    expect(kinds(200, { name: "'; select * from users" }, "'; select * from users")).toEqual([]);
  });
});
