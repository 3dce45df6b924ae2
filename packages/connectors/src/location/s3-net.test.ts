import { ErrorCode, netPolicy, type SluiceError } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { s3Location } from './s3.ts';

// An S3 endpoint is a host a config names: the network policy decides before the first request,
// so these need no server.
const signal = new AbortController().signal;
const keys = { accessKeyId: 'AKIATEST', secretAccessKey: 'secret-test-key' };

async function refusal(endpoint: string, network?: ReturnType<typeof netPolicy>): Promise<SluiceError> {
  const ctx = { baseDir: '/tmp', stepId: 'load', ...(network ? { network } : {}) };
  const l = s3Location({ endpoint, ...keys }, ctx, 'load.0:csv');
  try {
    await l.stat('s3://bucket/in/orders.csv', signal);
  } catch (err) {
    return err as SluiceError;
  } finally {
    await l.close?.();
  }
  throw new Error('expected a refusal');
}

describe('S3 endpoints under the network policy', () => {
  it('refuses the metadata address always, and a host --deny-hosts names', async () => {
    const meta = await refusal('http://169.254.169.254:9000');
    expect(meta.code).toBe(ErrorCode.HOST_FORBIDDEN);
    expect(meta.message).toMatch(
      /^step "load": load\.0:csv s3\.endpoint: .*169\.254\.169\.254 is refused by the built-in rule/,
    );
    const denied = await refusal('http://localhost:9000', netPolicy({ deny: ['127.0.0.0/8', '::1'] }));
    expect(denied.code).toBe(ErrorCode.HOST_FORBIDDEN);
    expect(denied.message).toMatch(/the host localhost \(address .*\) is refused by --deny-hosts/);
  });
});
