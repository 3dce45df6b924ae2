// Parse-only runner for Sluice: the CSV source's own `read` (CsvParser and CsvRows, 128 KiB reads,
// 512-row batches), serial, on one thread, with no flow around it. `strings` reads every column as
// text, as udsv and csv-parse do; `typed` casts the columns the bench specs type. Prints the
// record count and the characters of `notes`, as every parse-only runner does.
// The harness bundles this file (esbuild) into bench/data/parse-sluice.mjs and runs the bundle,
// so no TypeScript loader is charged to it.
// Usage: node parse-sluice.mjs <input.csv> strings|typed
import { resolve } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import type { Json, Row, SourceContext } from '@sluice/core';
import { type CsvSourceConfig, csvSourceConfig } from '../../packages/connectors/src/csv/config.ts';
import { csvSource } from '../../packages/connectors/src/csv/source.ts';

const [input, mode] = process.argv.slice(2);
if (!input || (mode !== 'strings' && mode !== 'typed'))
  throw new Error('usage: parse-sluice.mjs <input.csv> strings|typed');
const schema = { id: 'integer', amount: 'number', quantity: 'integer', active: 'boolean' };
const config = Value.Default(csvSourceConfig, {
  path: resolve(input),
  ...(mode === 'typed' ? { schema } : {}),
}) as CsvSourceConfig;
const state = new Map<string, Json>();
const ctx: SourceContext<CsvSourceConfig> = {
  config,
  signal: new AbortController().signal,
  stepId: 'parse',
  componentId: 'parse.0:csv',
  baseDir: process.cwd(),
  params: {},
  log: { debug() {}, info() {}, warn() {}, error() {} },
  quarantine(entry) {
    throw new Error(`unexpected quarantine: ${entry.reason} (line ${entry.line})`);
  },
  resumeFrom: undefined,
  state: { get: (k) => state.get(k), set: (k, v) => void state.set(k, v) },
  setOrigin() {},
};
let rows = 0;
let notes = 0;
for await (const batch of csvSource.read(ctx)) {
  const out = batch.rows as Row[];
  rows += out.length;
  for (const r of out) notes += (r.notes as string).length;
}
process.stdout.write(`${rows} ${notes}\n`);
