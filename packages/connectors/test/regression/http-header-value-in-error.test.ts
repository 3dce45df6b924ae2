import { ErrorCode, toSluiceError } from '@sluice/core';
import { expect, it } from 'vitest';
import { csvSource } from '../../src/index.ts';
import { readSource } from '../harness.ts';

// Found by the conformance suite's secret probes: a bearer token or header value holding a line
// break (a token file's newline pasted in) failed as a retried connection failure quoting fetch's
// `Headers.append: "Bearer <token>" is an invalid header value`, the token in clear.
it.each([
  ['http.bearerToken', { bearerToken: 'T0ken-part-one\nT0ken-part-two' }],
  ['http.headers', { headers: { 'X-Api-Key': '  K3y-part-one\r\nK3y-part-two ' } }],
])('an invalid %s is a config error that does not repeat it', async (_, http) => {
  const err = toSluiceError(
    await readSource(csvSource, { path: 'http://127.0.0.1:1/in.csv', http }).catch((e: unknown) => e),
  );
  expect(err.code).toBe(ErrorCode.CONFIG);
  expect(err.message).toMatch(/cannot be sent.*check http\.headers and http\.bearerToken/s);
  expect(err.message).not.toMatch(/T0ken-part|K3y-part/);
});
