import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import type { PlannedFlow } from '../../plan.ts';
import { flowSettings, onThisMachine, parallelDefaults, parallelSettings } from './settings.ts';

const at = (host: string | undefined) => ({
  def: host === undefined ? {} : { server: () => host },
  config: {},
});
/** A flow whose sinks write to servers at `hosts` (undefined: a sink with no server), from a local file. */
const flowTo = (...hosts: (string | undefined)[]): PlannedFlow =>
  ({ source: at(undefined), sinks: hosts.map(at) }) as unknown as PlannedFlow;

describe('parallelSettings', () => {
  it('turns threads off for false or one thread, and fills in the defaults', () => {
    expect(parallelSettings(false)).toBeUndefined();
    expect(parallelSettings({ threads: 1 })).toBeUndefined();
    expect(parallelSettings({ threads: 3, chunkBytes: 4096 })).toEqual({
      ...parallelDefaults,
      threads: 3,
      chunkBytes: 4096,
      fromCores: false,
    });
  });

  it('leaves a core to a server on this machine the flow uses when the thread count comes from the cores', () => {
    const fromCores = { ...parallelDefaults, threads: 4, fromCores: true };
    expect(flowSettings(fromCores, flowTo('127.0.0.1'))?.threads).toBe(3);
    expect(flowSettings(fromCores, flowTo(undefined, 'localhost'))?.threads).toBe(3);
    expect(flowSettings(fromCores, flowTo('db.example.com', undefined))?.threads).toBe(4);
    // Two threads less one is the main thread alone: the flow runs serially.
    expect(flowSettings({ ...fromCores, threads: 2 }, flowTo('::1'))).toBeUndefined();
    // A number the caller chose is kept.
    expect(flowSettings({ ...fromCores, fromCores: false }, flowTo('127.0.0.1'))?.threads).toBe(4);
    expect(flowSettings(undefined, flowTo('127.0.0.1'))).toBeUndefined();
    // A source reading from a server here (an S3-compatible store on loopback) counts alike.
    const fromLocalStore = { source: at('127.0.0.1'), sinks: [at(undefined)] } as unknown as PlannedFlow;
    expect(flowSettings(fromCores, fromLocalStore)?.threads).toBe(3);
  });

  it('knows the hosts of this machine', () => {
    for (const h of [
      'localhost',
      'LOCALHOST',
      'db.localhost',
      '127.0.0.1',
      '127.8.9.1',
      '::1',
      '[::1]',
      '',
      '/var/run/postgresql',
      hostname(),
    ]) {
      expect(onThisMachine(h), h).toBe(true);
    }
    for (const h of ['db.example.com', '10.255.255.1', '2001:db8::1', '128.0.0.1']) {
      expect(onThisMachine(h), h).toBe(false);
    }
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
