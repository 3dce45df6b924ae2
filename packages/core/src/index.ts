export type {
  ComponentContext,
  ConnectorDefinition,
  ConnectorKind,
  Json,
  Logger,
  QuarantineEntry,
  Row,
  SinkContext,
  SinkDefinition,
  SinkResult,
  SinkWriter,
  SourceBatch,
  SourceContext,
  SourceDefinition,
  StateStore,
  TaskContext,
  TaskDefinition,
  TaskResult,
  TransformDefinition,
  TransformFn,
} from './connector.ts';
export {
  defineSink,
  defineSource,
  defineTask,
  defineTransform,
  SOURCE_LINE,
} from './connector.ts';
export type { Issue } from './errors.ts';
export { ConfigError, ErrorCode, FatalError, RetryableError, SluiceError, toSluiceError } from './errors.ts';
export type { Expression } from './expression.ts';
export { compileExpression, toRowValue } from './expression.ts';
export { compileRowValidator } from './internal/validate.ts';
export { Registry } from './registry.ts';
