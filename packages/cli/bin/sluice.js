#!/usr/bin/env node
// The CLI runs from TypeScript sources: tsx compiles on load, so nothing is built before use.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
