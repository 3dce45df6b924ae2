import { ErrorCode, toSluiceError } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { csvSource, ndjsonSink } from '../../src/index.ts';
import { openSink, readSource } from '../harness.ts';

// Found by the conformance suite's secret probes: `https://user:password@host/…` failed with
// fetch's own message, which repeats the whole URL with its password, and `s3://key:secret@bucket/…`
// was echoed as given in "no AWS credentials for …". Such a path is now refused up front, without
// repeating what it carries.
describe('a remote path that carries credentials', () => {
  const cases = [
    ['https', 'https://ann:Https-Passw0rd@127.0.0.1:1/in.csv', 'Https-Passw0rd', /http\.bearerToken/],
    ['http', 'http://ann:Http-Passw0rd@127.0.0.1:1/in.csv', 'Http-Passw0rd', /http\.bearerToken/],
    ['s3', 's3://AKIDX:S3-s3cret-in-url@bucket/in.csv', 'S3-s3cret-in-url', /s3\.secretAccessKey/],
  ] as const;

  for (const [scheme, path, secret, hint] of cases) {
    it(`is refused by a ${scheme} source as a config error that does not repeat the secret`, async () => {
      const err = toSluiceError(await readSource(csvSource, { path }).catch((e: unknown) => e));
      expect(err.code).toBe(ErrorCode.CONFIG);
      expect(err.message).toMatch(hint);
      expect(err.message).toContain('carries credentials');
      expect(err.message).not.toContain(secret);
    });
  }

  it('is refused by an s3 sink the same way', async () => {
    const err = toSluiceError(
      await (async () => {
        const { writer } = await openSink(ndjsonSink, {
          path: 's3://AKIDX:S3-s3cret-in-url@bucket/out.ndjson',
        });
        await writer.start(undefined);
        await writer.close();
      })().catch((e: unknown) => e),
    );
    expect(err.code).toBe(ErrorCode.CONFIG);
    expect(err.message).not.toContain('S3-s3cret-in-url');
  });

  it('still lets an sftp path name its user', async () => {
    const err = toSluiceError(
      await readSource(csvSource, { path: 'sftp://ann@127.0.0.1:1/in.csv' }).catch((e: unknown) => e),
    );
    expect(err.message).not.toContain('carries credentials');
  });
});
