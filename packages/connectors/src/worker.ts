// The entry of the worker threads that run flows in parallel (see @sluice/core serveFlowChunks):
// it serves the same built-in connectors as the main thread's registry.
import { serveFlowChunks } from '@sluice/core';
import { createRegistry } from './registry.ts';

serveFlowChunks(createRegistry());
