import { describe, expect, it } from 'vitest';
import { bearerMatches } from './token.ts';

describe('bearerMatches', () => {
  it('takes the token after a Bearer scheme, in any case', () => {
    expect(bearerMatches('Bearer s3cret', 's3cret')).toBe(true);
    expect(bearerMatches('bearer s3cret', 's3cret')).toBe(true);
  });

  it('refuses anything else, whatever its length', () => {
    for (const h of [
      undefined,
      '',
      'Bearer',
      'Bearer ',
      'Bearer s3cre',
      'Bearer s3crett',
      's3cret',
      'Basic s3cret',
    ])
      expect(bearerMatches(h, 's3cret'), String(h)).toBe(false);
  });
});
