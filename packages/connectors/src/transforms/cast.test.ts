import { ConfigError, SOURCE_LINE } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { createTransform } from '../../test/harness.ts';
import { castTransform } from './cast.ts';

describe('cast with date-fns formats', () => {
  it('casts free-format dates and quarantines the rest with the value and the formats tried', async () => {
    const { run, harness } = await createTransform(castTransform, {
      fields: {
        released: { type: 'date', format: ['d MMMM yyyy', 'dd/MM/yyyy'], locale: 'fr' },
        seen: { type: 'timestamp', format: 'yyyy/MM/dd HH:mm' },
      },
    });
    const out = await run([
      { released: '12 juin 1998', seen: '2001/01/01 00:47', [SOURCE_LINE]: 2 },
      { released: '01/02/2003', seen: '', [SOURCE_LINE]: 3 },
      { released: 'June 12 1998', seen: null, [SOURCE_LINE]: 4 },
    ]);
    expect(out).toEqual([
      { released: '1998-06-12', seen: '2001-01-01T00:47:00.000Z', [SOURCE_LINE]: 2 },
      { released: '2003-02-01', seen: null, [SOURCE_LINE]: 3 },
    ]);
    expect(harness.quarantined).toEqual([
      {
        reason:
          'field "released": cannot cast "June 12 1998" to date: matches none of the formats "d MMMM yyyy", "dd/MM/yyyy" (locale fr)',
        row: { released: 'June 12 1998', seen: null, [SOURCE_LINE]: 4 },
        line: 4,
      },
    ]);
  });

  it('refuses a bad pattern or locale when the spec is checked, at its path', async () => {
    const err = await createTransform(castTransform, {
      fields: {
        day: { type: 'date', format: 'dd/MM/yyyy', locale: 'klingon' },
        at: { type: 'timestamp', format: ['iso', 'yyyy-MM-dd hh:mm:ss nope'] },
      },
    }).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    const issues = (err as ConfigError).issues;
    expect(issues.map((i) => i.path)).toEqual(['with.fields.day.locale', 'with.fields.at.format.1']);
    expect(issues[0]!.message).toMatch(/unknown locale "klingon"/);
    expect(issues[1]!.message).toMatch(/invalid timestamp format "yyyy-MM-dd hh:mm:ss nope"/);
  });
});
