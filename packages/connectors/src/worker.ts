// The entry of the worker threads that run flows in parallel (see @sluice/core serveFlowChunks):
// it serves the same built-in connectors as the main thread's registry.
import { Registry, serveFlowChunks } from '@sluice/core';
import { builtinConnectors } from './index.ts';

serveFlowChunks(new Registry().register(...builtinConnectors));
