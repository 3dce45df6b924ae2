import { createRequire } from 'node:module';

/**
 * @duckdb/node-api, loaded with `require`, not `import`: it is CommonJS, and an ESM import of a
 * CommonJS package makes Node lex each of its files for their named exports first. That took
 * ~80 ms of every start that uses DuckDB (import 170 ms, require 90, measured on Node 20).
 * Only the modules loaded once DuckDB is needed import this one.
 */
export const duckdb = createRequire(import.meta.url)('@duckdb/node-api') as typeof import('@duckdb/node-api');
