import type { ConnectorDefinition } from '@sluice/core';
import { postgresSink } from './sinks/postgres.ts';
import { csvSource } from './sources/csv.ts';
import { castTransform } from './transforms/cast.ts';
import { dedupeTransform } from './transforms/dedupe.ts';
import { filterTransform } from './transforms/filter.ts';
import { mapTransform } from './transforms/map.ts';
import { selectTransform } from './transforms/select.ts';
import { validateTransform } from './transforms/validate.ts';

export {
  castTransform,
  csvSource,
  dedupeTransform,
  filterTransform,
  mapTransform,
  postgresSink,
  selectTransform,
  validateTransform,
};

/** Every built-in connector, for `new Registry().register(...builtinConnectors)`. */
export const builtinConnectors: readonly ConnectorDefinition[] = [
  csvSource,
  castTransform,
  dedupeTransform,
  filterTransform,
  mapTransform,
  selectTransform,
  validateTransform,
  postgresSink,
] as ConnectorDefinition[];
