import { mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, SluiceError } from './errors.ts';
import { canonicalPath, isWithin, type PathPolicy, resolveLocalPath } from './paths.ts';

let base: string;
let root: string;
let data: string;
let policy: PathPolicy;
const ctx = (paths?: PathPolicy) => ({ baseDir: root, stepId: 'load', paths });

async function refusal(path: string, p: PathPolicy = policy): Promise<SluiceError> {
  const err = await resolveLocalPath(ctx(p), path, 'load.0:csv: config.path').catch((e: unknown) => e);
  expect(err).toBeInstanceOf(SluiceError);
  expect((err as SluiceError).code).toBe(ErrorCode.PATH_FORBIDDEN);
  return err as SluiceError;
}

beforeAll(() => {
  base = realpathSync(mkdtempSync(join(tmpdir(), 'sluice-paths-')));
  root = join(base, 'data');
  data = join(root, '.sluice');
  mkdirSync(join(root, 'in'), { recursive: true });
  mkdirSync(data);
  mkdirSync(join(base, 'data2'));
  mkdirSync(join(base, 'outside'));
  writeFileSync(join(root, 'in', 'a.csv'), 'n\n1\n');
  writeFileSync(join(base, 'data2', 'b.csv'), 'n\n1\n');
  writeFileSync(join(base, 'outside', 'secret.txt'), 'secret\n');
  writeFileSync(join(data, 'master.key'), 'key\n');
  symlinkSync(join(base, 'outside', 'secret.txt'), join(root, 'escape.csv'));
  symlinkSync(join(base, 'outside'), join(root, 'outdir'));
  symlinkSync(join(root, 'in', 'a.csv'), join(root, 'alias.csv'));
  symlinkSync(join(base, 'outside', 'new.csv'), join(root, 'dangling.csv'));
  policy = { roots: [root], denied: [data] };
});

describe('isWithin', () => {
  it('takes a directory and what lies below it, not a longer name it begins', () => {
    expect(isWithin('/data', '/data')).toBe(true);
    expect(isWithin('/data', '/data/x/y')).toBe(true);
    expect(isWithin('/data', '/data2')).toBe(false);
    expect(isWithin('/data', '/data2/x')).toBe(false);
    expect(isWithin('/', '/etc')).toBe(true);
  });
});

describe('resolveLocalPath', () => {
  it('without a policy, resolves relative paths against baseDir and allows anything', async () => {
    expect(await resolveLocalPath(ctx(), 'in/a.csv', 'w')).toBe(join(root, 'in', 'a.csv'));
    expect(await resolveLocalPath(ctx(), '/etc/passwd', 'w')).toBe('/etc/passwd');
    expect(await resolveLocalPath(ctx(), '../outside/secret.txt', 'w')).toBe(
      join(base, 'outside', 'secret.txt'),
    );
  });

  it('allows paths inside a root, existing or not yet, and returns them with symlinks resolved', async () => {
    expect(await resolveLocalPath(ctx(policy), 'in/a.csv', 'w')).toBe(join(root, 'in', 'a.csv'));
    expect(await resolveLocalPath(ctx(policy), join(root, 'in', 'a.csv'), 'w')).toBe(
      join(root, 'in', 'a.csv'),
    );
    expect(await resolveLocalPath(ctx(policy), 'out/new/deep.csv', 'w')).toBe(join(root, 'out/new/deep.csv'));
    expect(await resolveLocalPath(ctx(policy), 'alias.csv', 'w')).toBe(join(root, 'in', 'a.csv'));
    expect(await resolveLocalPath(ctx(policy), 'in/../in/./a.csv', 'w')).toBe(join(root, 'in', 'a.csv'));
    expect(await resolveLocalPath(ctx(policy), '.', 'w')).toBe(root);
  });

  it('refuses absolute paths and .. traversals out of every root, naming the step and the path', async () => {
    const err = await refusal('/etc/passwd');
    expect(err.message).toMatch(/^step "load": load\.0:csv: config\.path: \/etc\/passwd is outside/);
    expect(err.message).toContain('--allow-path');
    await refusal('../../../../etc/passwd');
    await refusal('in/../../outside/secret.txt');
    await refusal('/etc/does-not-exist/x.csv');
  });

  it('refuses symlinks that lead out of the root, to files and through directories, dangling ones too', async () => {
    expect((await refusal('escape.csv')).message).toContain(
      `escape.csv (${join(base, 'outside', 'secret.txt')})`,
    );
    await refusal('outdir/secret.txt');
    await refusal('outdir/not-yet.csv');
    await refusal('dangling.csv');
  });

  it('does not take a root for the prefix of a longer name: /data allows nothing in /data2', async () => {
    await refusal(join(base, 'data2', 'b.csv'));
    await refusal('../data2/b.csv');
    const both = { roots: [root, join(base, 'data2')] };
    expect(await resolveLocalPath(ctx(both), '../data2/b.csv', 'w')).toBe(join(base, 'data2', 'b.csv'));
  });

  it('refuses the denied directory inside a root, and what is in it', async () => {
    const err = await refusal('.sluice/master.key');
    expect(err.message).toContain("the server's own files");
    await refusal('.sluice');
    await refusal('in/../.sluice/new.db');
  });

  it('refuses everything when there is no root', async () => {
    await refusal('in/a.csv', { roots: [] });
  });
});

describe('canonicalPath', () => {
  it('resolves the nearest existing parent of a path that does not exist', async () => {
    expect(await canonicalPath(join(root, 'outdir', 'x', 'y.csv'))).toBe(join(base, 'outside', 'x', 'y.csv'));
    expect(await canonicalPath(join(root, 'dangling.csv'))).toBe(join(base, 'outside', 'new.csv'));
  });

  it('gives up on a loop of dangling links', async () => {
    symlinkSync(join(root, 'loop-b'), join(root, 'loop-a'));
    symlinkSync(join(root, 'loop-a'), join(root, 'loop-b'));
    await expect(canonicalPath(join(root, 'loop-a'))).rejects.toThrow(/too many levels of symbolic links/);
  });
});
