import { type ConnectorDefinition, Registry } from '@sluice/core';
import { csvSink } from './sinks/csv.ts';
import { jsonSink } from './sinks/json.ts';
import { ndjsonSink } from './sinks/ndjson.ts';
import { postgresSink } from './sinks/postgres.ts';
import { csvSource } from './sources/csv.ts';
import { jsonSource } from './sources/json.ts';
import { ndjsonSource } from './sources/ndjson.ts';
import { postgresSource } from './sources/postgres.ts';
import { shellTask } from './tasks/shell.ts';
import { castTransform } from './transforms/cast.ts';
import { dedupeTransform } from './transforms/dedupe.ts';
import { filterTransform } from './transforms/filter.ts';
import { mapTransform } from './transforms/map.ts';
import { selectTransform } from './transforms/select.ts';
import { validateTransform } from './transforms/validate.ts';

/** Every built-in connector; `createRegistry()` registers them all. */
export const builtinConnectors: readonly ConnectorDefinition[] = [
  csvSource,
  jsonSource,
  ndjsonSource,
  postgresSource,
  castTransform,
  dedupeTransform,
  filterTransform,
  mapTransform,
  selectTransform,
  validateTransform,
  csvSink,
  jsonSink,
  ndjsonSink,
  postgresSink,
  shellTask,
] as ConnectorDefinition[];

/**
 * A registry of every built-in connector: the one the CLI, the server, step processes and flow
 * worker threads all use, so a connector added to `builtinConnectors` is known everywhere at once.
 */
export function createRegistry(): Registry {
  return new Registry().register(...builtinConnectors);
}
