import { afterAll, beforeAll, expect } from 'vitest';
import { type App, buildApp } from '../../src/api/app.ts';
import { startWorker, type Worker, type WorkerOptions } from '../../src/worker/worker.ts';
import type { backends } from './backends.ts';
import { apiCaller, type TestPlatform, testPlatform } from './platform.ts';

export interface Running {
  p: TestPlatform;
  app: App;
  worker: Worker;
  /** Calls the API as the platform's admin. */
  admin: ReturnType<typeof apiCaller>;
}

/**
 * Inside a `describe`: a test platform with its API in-process and one worker, started before the
 * tests and stopped after them. The fields are set once `beforeAll` has run.
 */
export function runningPlatform(
  backend: (typeof backends)[number]['name'],
  options: Parameters<typeof testPlatform>[1] = {},
  worker: WorkerOptions = {},
): Running {
  const ctx = {} as Running;
  beforeAll(async () => {
    ctx.p = await testPlatform(backend, options);
    ctx.app = await buildApp(ctx.p, { uiDir: false });
    ctx.worker = await startWorker(ctx.p, { killGraceMs: 1000, ...worker });
    ctx.admin = apiCaller(
      () => ctx.app,
      () => ctx.p.adminToken,
    );
  });
  afterAll(async () => {
    await ctx.worker?.stop();
    await ctx.app?.close();
    await ctx.p?.close();
  });
  return ctx;
}

/** Creates pipelines through the API as the admin, each id kept under its pipeline's name. */
export function pipelineMaker(ctx: Running) {
  const ids: Record<string, string> = {};
  const create = async (spec: Record<string, unknown>) => {
    const r = await ctx.admin('POST', '/pipelines', { spec });
    expect(r.status, r.text).toBe(201);
    ids[spec.name as string] = r.body.id;
    return r;
  };
  return { ids, create };
}
