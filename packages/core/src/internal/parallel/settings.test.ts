import { describe, expect, it } from 'vitest';
import { parallelDefaults, parallelSettings } from './settings.ts';

describe('parallelSettings', () => {
  it('turns threads off for false or one thread, and fills in the defaults', () => {
    expect(parallelSettings(false)).toBeUndefined();
    expect(parallelSettings({ threads: 1 })).toBeUndefined();
    expect(parallelSettings({ threads: 3, chunkBytes: 4096 })).toEqual({
      ...parallelDefaults,
      threads: 3,
      chunkBytes: 4096,
    });
  });

  it('refuses settings that are not whole numbers in range, naming the setting', () => {
    for (const bad of [{ chunkBytes: 0 }, { chunkBytes: 1.5 }, { threads: 0 }, { minBytes: -1 }]) {
      const name = Object.keys(bad)[0]!;
      expect(() => parallelSettings({ threads: 2, ...bad })).toThrow(
        expect.objectContaining({
          code: 'CONFIG_INVALID',
          message: expect.stringContaining(`parallel.${name}`),
        }),
      );
    }
  });
});
