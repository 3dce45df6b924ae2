// The platform's public surface.
export type { App, AppOptions } from './api/app.ts';
export { buildApp } from './api/app.ts';
export { readiness } from './api/routes/health.ts';
export { migrate } from './db/migrate.ts';
export type { Database, OpenOptions } from './db/open.ts';
export { openDatabase } from './db/open.ts';
export type { Platform, PlatformOptions } from './platform.ts';
export { openPlatform } from './platform.ts';
export type { ServeOptions, Server } from './server.ts';
export { startServer, startWorkerProcess } from './server.ts';
export { executePipeline } from './services/jobs.ts';
export { createPipeline, getPipeline, listPipelines } from './services/pipelines.ts';
export type { RunMessage } from './worker/step-messages.ts';
export type { StepProcessOptions } from './worker/step-process.ts';
export { runStepProcess, stepEnv } from './worker/step-process.ts';
