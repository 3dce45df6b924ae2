import { expect, it } from 'vitest';
import { seal, unseal } from './secrets.ts';

const KEY = 'a master key for this test only';

it('seals each value with a fresh nonce under the process salt; only its key opens it', async () => {
  const plan = { format: 1, steps: [{ id: 'a', config: { token: 'exposed-value' } }] };
  const [one, two] = [JSON.parse(await seal(KEY, plan)), JSON.parse(await seal(KEY, plan))];
  // One derived key per process and master key: the salt is shared, the nonce never.
  expect(one.salt).toBe(two.salt);
  expect(one.nonce).not.toBe(two.nonce);
  expect(one.data).not.toBe(two.data);
  expect(await unseal(KEY, JSON.stringify(one))).toEqual(plan);
  expect(JSON.parse(await seal('another master key', plan)).salt, 'a salt per master key').not.toBe(one.salt);
  await expect(unseal('another master key', JSON.stringify(two), 'the plan of job 7')).rejects.toThrow(
    'the plan of job 7 cannot be decrypted with this master key',
  );
  // A changed byte is refused, not decrypted into something else.
  const data = Buffer.from(one.data, 'base64');
  data[0]! ^= 1;
  await expect(unseal(KEY, JSON.stringify({ ...one, data: data.toString('base64') }))).rejects.toThrow(
    'a credential cannot be decrypted',
  );
});
