/** Ajv errors (any Ajv 8 instance, Fastify's too) → issues at JSON paths under a base such as `body`. */
export type { AjvError, AjvIssuesOptions } from './ajv-issues.ts';
export { ajvIssues } from './ajv-issues.ts';
export type { ConfigInput } from './builder.ts';
export { FlowBuilder, PipelineBuilder, pipeline } from './builder.ts';
export { checkConnectorConnection } from './connection-check.ts';
export type {
  Acknowledger,
  CheckContext,
  ChunkedRead,
  ChunkSplit,
  ChunkStart,
  ComponentContext,
  ConfigCheck,
  ConnectionCheck,
  ConnectionCheckContext,
  ConnectorDefinition,
  ConnectorKind,
  Json,
  KnownColumn,
  Logger,
  PartitionedRead,
  PartitionedWrite,
  QuarantineEntry,
  Row,
  RowEncoder,
  SchemaChange,
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
  TransformStage,
  WorkerModule,
} from './connector.ts';
export {
  defineSink,
  defineSource,
  defineTask,
  defineTransform,
  SOURCE_LINE,
} from './connector.ts';
export type {
  DatasetArea,
  DatasetBalance,
  DatasetColumn,
  DatasetHandoff,
  DatasetMeta,
  DatasetRef,
  DatasetStep,
} from './dataset.ts';
export {
  DATASET_NAME_PATTERN,
  datasetArea,
  datasetHandoffs,
  datasetIssues,
  datasetRefs,
  PIPELINE_NAME_PATTERN,
  resolveDataset,
} from './dataset.ts';
export { checkDeferred } from './deferred-check.ts';
/** The first place a parsed value nests deeper than a limit (iterative: safe on hostile input). */
export { MAX_SPEC_DEPTH, nestingDepthIssue } from './depth.ts';
export type { Issue } from './errors.ts';
export {
  CircuitOpenError,
  ConfigError,
  ErrorCode,
  FatalError,
  MAX_ISSUES,
  RetryableError,
  SluiceError,
  toSluiceError,
} from './errors.ts';
export type { Expression } from './expression.ts';
export { compileExpression, toRowValue } from './expression.ts';
export { growingBackoff } from './internal/backoff.ts';
/** Order-independent checksum of rows: what datasets record and their readers compare. */
export type { CheckpointMirror } from './internal/checkpoint.ts';
export { Checksum } from './internal/checksum.ts';
export type { CircuitMeta, CircuitSettings, CircuitStateName, SavedCircuit } from './internal/circuits.ts';
export {
  CIRCUIT_DEFAULTS,
  circuitStates,
  exportCircuits,
  guardConnect,
  importCircuits,
  resetCircuits,
  savedState,
} from './internal/circuits.ts';
export { emptyStep, scheduleDag } from './internal/dag.ts';
export type { ComponentStats } from './internal/meter.ts';
export type { ParallelOptions } from './internal/parallel/settings.ts';
export { serveFlowChunks } from './internal/parallel/worker.ts';
export type { RecordSyntax } from './internal/record-digest.ts';
export { DigestState, digestFile, RecordDigest } from './internal/record-digest.ts';
export type { Pattern } from './internal/regex.ts';
export { compilePattern, patternProblem } from './internal/regex.ts';
export { asStage } from './internal/stages.ts';
export { sha256File } from './internal/step-files.ts';
export { compileRowValidator } from './internal/validate.ts';
export { checkHost, checkUrl, guardedLookup, netForbidden } from './net-check.ts';
export type { NetContext, NetPolicy, Refusal } from './net-policy.ts';
export { BUILT_IN_DENIED, canonicalAddress, canonicalHost, netPolicy, netRefusal } from './net-policy.ts';
export { coerceParams, resolveParams } from './params.ts';
export type { PartsOptions } from './partitions.ts';
export { addChecksums, mergePartitionReports, planParts, recordMergedStep } from './partitions.ts';
export type { PathContext, PathPolicy } from './paths.ts';
export { canonicalPath, isWithin, resolveLocalPath } from './paths.ts';
export type { Plan, PlannedFlow, PlannedStep, PlannedStepBase, PlannedTask, PlanOptions } from './plan.ts';
export { planPipeline, withCredential } from './plan.ts';
export { didYouMean, Registry, similarNames } from './registry.ts';
export type { ReplayOptions } from './replay.ts';
export { replayPlanned, replayQuarantine } from './replay.ts';
export type {
  ErrorReport,
  ReplayCounts,
  RunIntegrity,
  RunReport,
  RunStatus,
  StepOutputFile,
  StepReport,
  StepResources,
  StepStatus,
} from './report.ts';
export { reconcile, runIntegrity, verifiedLevel } from './report.ts';
export type {
  BindOptions,
  ResolvedComponent,
  ResolvedFlow,
  ResolvedPlan,
  ResolvedStep,
  ResolvedTask,
} from './resolved-plan.ts';
/** Plan once, run elsewhere: a plan as data without secrets, and binding it back to connectors. */
export { bindPlan, RESOLVED_PLAN_FORMAT, resolvePlan } from './resolved-plan.ts';
export type { LogLevel, PlannedRunOptions, RunEvent, RunOptions } from './run.ts';
export { runPipeline, runPlanned } from './run.ts';
export {
  ComponentSpec,
  findCycle,
  lineColumn,
  MAX_PIPELINE_CONCURRENCY,
  MAX_STEP_PARTITIONS,
  MAX_WORKER_TAGS,
  normalizeSpec,
  PipelineSpec,
  parseSpecText,
  StepSpec,
  WORKER_TAG_PATTERN,
} from './spec.ts';
export type { FileStepStateStore, StepState, StepStateStore } from './state.ts';
export { fileStepStateStore, stateDirOf } from './state.ts';
export type { RunFacts } from './step-refs.ts';
export type { SinkVerification, VerifyLevel } from './verify.ts';
export { verifyMismatch, verifyProperty } from './verify.ts';
