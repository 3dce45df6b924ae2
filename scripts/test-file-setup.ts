// Vitest runs this before each test file (setupFiles): the cleanup its helpers asked for runs when
// the file ends, whether or not the worker's modules are shared between files.
import { afterAll } from 'vitest';
import { runFileEnd } from '../packages/connectors/test/file-end.ts';

afterAll(runFileEnd);
