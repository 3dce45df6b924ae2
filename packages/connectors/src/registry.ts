import { type ConnectorDefinition, Registry } from '@sluice/core';
import { browserTask } from './browser/task.ts';
import { csvSink } from './csv/sink.ts';
import { csvSource } from './csv/source.ts';
import { datasetSink } from './dataset/sink.ts';
import { datasetSource } from './dataset/source.ts';
import { excelSink } from './excel/sink.ts';
import { excelSource } from './excel/source.ts';
import { graphqlSource } from './graphql/source.ts';
import { httpSink } from './http/sink.ts';
import { httpSource } from './http/source.ts';
import { jsonSink } from './json/sink.ts';
import { jsonSource } from './json/source.ts';
import { lookupTransform } from './lookup/transform.ts';
import { mqttSink } from './mqtt/sink.ts';
import { mqttSource } from './mqtt/source.ts';
import { mysqlSink } from './mysql/sink.ts';
import { mysqlSource } from './mysql/source.ts';
import { natsSink } from './nats/sink.ts';
import { natsSource } from './nats/source.ts';
import { ndjsonSink } from './ndjson/sink.ts';
import { ndjsonSource } from './ndjson/source.ts';
import { notifyTask } from './notify/task.ts';
import { parquetSink } from './parquet/sink.ts';
import { parquetSource } from './parquet/source.ts';
import { pdfSource } from './pdf/source.ts';
import { postgresSink } from './postgres/sink.ts';
import { postgresSource } from './postgres/source.ts';
import { rabbitmqSink } from './rabbitmq/sink.ts';
import { rabbitmqSource } from './rabbitmq/source.ts';
import { redisStreamSink } from './redis-stream/sink.ts';
import { redisStreamSource } from './redis-stream/source.ts';
import { shellTask } from './shell/task.ts';
import { sqlTransform } from './sql/transform.ts';
import { sqlTask } from './sql-task/task.ts';
import { sqliteSink } from './sqlite/sink.ts';
import { sqliteSource } from './sqlite/source.ts';
import { aggregateTransform } from './transforms/aggregate.ts';
import { castTransform } from './transforms/cast.ts';
import { dedupeTransform } from './transforms/dedupe.ts';
import { filterTransform } from './transforms/filter.ts';
import { flattenTransform } from './transforms/flatten.ts';
import { mapTransform } from './transforms/map.ts';
import { renameTransform } from './transforms/rename.ts';
import { selectTransform } from './transforms/select.ts';
import { unnestTransform } from './transforms/unnest.ts';
import { validateTransform } from './transforms/validate.ts';

/** Every built-in connector; `createRegistry()` registers them all. */
export const builtinConnectors: readonly ConnectorDefinition[] = [
  csvSource,
  datasetSource,
  excelSource,
  graphqlSource,
  httpSource,
  jsonSource,
  mqttSource,
  mysqlSource,
  natsSource,
  ndjsonSource,
  parquetSource,
  pdfSource,
  postgresSource,
  rabbitmqSource,
  redisStreamSource,
  sqliteSource,
  aggregateTransform,
  castTransform,
  dedupeTransform,
  filterTransform,
  flattenTransform,
  lookupTransform,
  mapTransform,
  renameTransform,
  selectTransform,
  sqlTransform,
  unnestTransform,
  validateTransform,
  csvSink,
  datasetSink,
  excelSink,
  httpSink,
  jsonSink,
  mqttSink,
  mysqlSink,
  natsSink,
  ndjsonSink,
  parquetSink,
  postgresSink,
  rabbitmqSink,
  redisStreamSink,
  sqliteSink,
  browserTask,
  notifyTask,
  shellTask,
  sqlTask,
] as ConnectorDefinition[];

/**
 * A registry of every built-in connector: the one the CLI, the server, step processes and flow
 * worker threads all use, so a connector added to `builtinConnectors` is known everywhere at once.
 */
export function createRegistry(): Registry {
  return new Registry().register(...builtinConnectors);
}
