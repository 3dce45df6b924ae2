import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { ConfigError, defineTask, FatalError, runPipeline } from '../src/index.ts';
import { Registry } from '../src/registry.ts';
import { countSource, jsonTableSink, keepEven } from './helpers/connectors.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'sluice-outputs-'));

/** Writes `text` into a file it hands on as `name`; fails its first `failFirst` attempts. */
const makeFile = defineTask({
  name: 'make-file',
  version: '1.0.0',
  summary: 'test: hands on one file',
  config: Type.Object({ name: Type.String(), text: Type.String(), failFirst: Type.Integer({ default: 0 }) }),
  outputs: (c) => [c.name],
  run: async (ctx) => {
    const path = join(ctx.filesDir, `${ctx.config.name}.txt`);
    writeFileSync(path, ctx.config.text);
    return { files: { [ctx.config.name]: path }, metrics: { answer: 42 } };
  },
});

/** Records the config it was given, after `${steps.…}` were filled in. */
const seen: unknown[] = [];
const record = defineTask({
  name: 'record',
  version: '1.0.0',
  summary: 'test: keeps its config',
  config: Type.Object({
    value: Type.Unknown(),
    text: Type.Optional(Type.String()),
    failIf: Type.Optional(Type.String()),
  }),
  run: async (ctx) => {
    const { failIf, ...config } = ctx.config;
    if (failIf !== undefined && existsSync(failIf)) throw new FatalError(`${failIf} exists`);
    seen.push(config);
    return { output: 'recorded' };
  },
});

const registry = () => new Registry().register(countSource, keepEven, jsonTableSink, makeFile, record);

describe('step outputs: ${steps.<id>.…} and ${run.…}', () => {
  it('hands a file and figures to a later step, with the file measured in the report', async () => {
    seen.length = 0;
    const dir = tmp();
    const report = await runPipeline(
      {
        name: 'outputs',
        steps: [
          { id: 'extract', task: 'make-file', with: { name: 'report', text: 'a,b\n1,2\n' } },
          {
            id: 'load',
            needs: ['extract'],
            flow: [
              { source: 'count', with: { rows: 10 } },
              { sink: 'json-table', with: { path: join(dir, 'out.json') } },
            ],
          },
          {
            id: 'use',
            needs: ['load'],
            task: 'record',
            with: {
              value: '${steps.extract.files.report}',
              text: 'wrote ${steps.load.rowsWritten} rows from ${steps.extract.files.report}; answer ${steps.extract.metrics.answer}; ${run.pipeline} ${run.status}',
            },
          },
          { id: 'count', needs: ['load'], task: 'record', with: { value: '${steps.load.rowsWritten}' } },
        ],
      },
      { registry: registry(), stateDir: dir },
    );
    expect(report.status).toBe('success');
    const extract = report.steps.find((s) => s.id === 'extract')!;
    const file = extract.files!.report!;
    expect(readFileSync(file.path, 'utf8')).toBe('a,b\n1,2\n');
    expect(file.bytes).toBe(8);
    expect(file.sha256).toBe(createHash('sha256').update('a,b\n1,2\n').digest('hex'));
    expect(seen).toContainEqual({
      value: file.path,
      text: `wrote 10 rows from ${file.path}; answer 42; outputs success`,
    });
    // A reference alone keeps its value's type.
    expect(seen).toContainEqual({ value: 10 });
  });

  it('refuses, when planning, a step not waited for, an unknown file or step, and a run field', async () => {
    const spec = {
      name: 'bad-refs',
      steps: [
        { id: 'extract', task: 'make-file', with: { name: 'report', text: 'x' } },
        { id: 'early', task: 'record', with: { value: '${steps.extract.files.report}' } },
        { id: 'typo', needs: ['extract'], task: 'record', with: { value: '${steps.extract.files.repot}' } },
        { id: 'ghost', needs: ['extract'], task: 'record', with: { value: '${steps.nope.rowsRead}' } },
        { id: 'field', needs: ['extract'], task: 'record', with: { value: '${run.colour}' } },
      ],
    };
    const err = await runPipeline(spec, { registry: registry(), stateDir: tmp() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    const issues = (err as ConfigError).issues;
    expect(issues).toEqual([
      {
        path: 'steps[1].with.value',
        message: expect.stringContaining('which this step does not wait for: add needs: [extract]'),
      },
      { path: 'steps[2].with.value', message: expect.stringContaining('hands on only report') },
      { path: 'steps[3].with.value', message: expect.stringContaining('names no step of this pipeline') },
      { path: 'steps[4].with.value', message: expect.stringContaining('names no field of the run') },
    ]);
  });

  it('a resumed run fills in the files of a step that succeeded in the interrupted run', async () => {
    const dir = tmp();
    const flag = join(dir, 'fail');
    writeFileSync(flag, '');
    const spec = {
      name: 'resume-outputs',
      steps: [
        { id: 'extract', task: 'make-file', with: { name: 'report', text: 'kept' } },
        {
          id: 'use',
          needs: ['extract'],
          task: 'record',
          retry: { attempts: 1 },
          with: { value: '${steps.extract.files.report}', failIf: flag },
        },
      ],
    };
    const first = await runPipeline(spec, { registry: registry(), stateDir: dir });
    expect(first.status).toBe('failed');
    const path = first.steps[0]!.files!.report!.path;
    rmSync(flag);
    seen.length = 0;
    const again = await runPipeline(spec, { registry: registry(), stateDir: dir, resume: true });
    expect(again.status).toBe('success');
    expect(seen).toEqual([{ value: path }]);
    expect(readFileSync(path, 'utf8')).toBe('kept');
  });
});

describe('when: a step after a failure', () => {
  const spec = (failing: boolean, dir: string) => {
    const flag = join(dir, 'fail');
    if (failing) writeFileSync(flag, '');
    return {
      name: 'when',
      steps: [
        { id: 'load', task: 'record', retry: { attempts: 1 }, with: { value: 'load', failIf: flag } },
        {
          id: 'onFailure',
          needs: ['load'],
          when: 'failure',
          task: 'record',
          with: { value: '${run.status}' },
        },
        {
          id: 'always',
          needs: ['load'],
          when: 'always',
          task: 'record',
          with: { value: '${steps.load.status}' },
        },
        { id: 'after', needs: ['load'], task: 'record', with: { value: 'after' } },
      ],
    };
  };

  it('runs failure and always steps after a failure, skipping the rest; the run stays failed', async () => {
    seen.length = 0;
    const dir = tmp();
    const report = await runPipeline(spec(true, dir), { registry: registry(), stateDir: dir });
    expect(report.status).toBe('failed');
    expect(Object.fromEntries(report.steps.map((s) => [s.id, s.status]))).toEqual({
      load: 'failed',
      onFailure: 'success',
      always: 'success',
      after: 'skipped',
    });
    expect(seen).toEqual(expect.arrayContaining([{ value: 'failed' }]));
    expect(report.error?.step).toBe('load');
  });

  it('skips a failure step when all went well, and the run succeeds with no error', async () => {
    seen.length = 0;
    const dir = tmp();
    const report = await runPipeline(spec(false, dir), { registry: registry(), stateDir: dir });
    expect(report.status).toBe('success');
    expect(report.error).toBeUndefined();
    expect(report.steps.find((s) => s.id === 'onFailure')!.status).toBe('skipped');
    expect(seen).toEqual(expect.arrayContaining([{ value: 'success' }, { value: 'after' }]));
  });

  it('refuses when without needs', async () => {
    const err = await runPipeline(
      { name: 'x', steps: [{ id: 'a', when: 'always', task: 'record', with: { value: 1 } }] },
      { registry: registry(), stateDir: tmp() },
    ).catch((e: unknown) => e);
    expect((err as ConfigError).issues).toEqual([
      { path: 'steps[0].when', message: expect.stringContaining('needs none') },
    ]);
  });
});
