import { Type } from '@sinclair/typebox';

// Response shapes of api-v1.md; more fields may come, none go.
const Ts = Type.String({ format: 'date-time' });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const Any = Type.Unknown();

export const PipelineSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  version: Type.Integer(),
  spec: Any,
  parameters: Any,
  active: Type.Boolean(),
  createdAt: Ts,
  updatedAt: Ts,
});

export const PipelineListSchema = Type.Composite([
  PipelineSchema,
  Type.Object({
    lastRun: Nullable(Type.Object({ id: Type.String(), status: Type.String(), createdAt: Ts })),
    nextRunAt: Nullable(Ts),
  }),
]);

export const VersionSchema = Type.Object({
  version: Type.Integer(),
  spec: Any,
  createdBy: Nullable(Type.String()),
  createdAt: Ts,
});

export const JobSchema = Type.Object({
  id: Type.String(),
  pipelineId: Type.String(),
  pipelineName: Type.Optional(
    Type.String({
      description: "The pipeline's name, in job lists (GET /jobs, GET /dlq) and GET /jobs/{id}.",
    }),
  ),
  pipelineVersion: Type.Integer(),
  status: Type.String(),
  triggerType: Type.String(),
  triggeredBy: Nullable(Type.String()),
  scheduleId: Nullable(Type.String()),
  backfillId: Nullable(
    Type.String({ description: 'The backfill that made the job (trigger type `backfill`).' }),
  ),
  parameters: Any,
  createdAt: Ts,
  queuedAt: Nullable(Ts),
  startedAt: Nullable(Ts),
  completedAt: Nullable(Ts),
  durationMs: Nullable(Type.Integer()),
  workerId: Nullable(Type.String()),
  attempt: Type.Integer(),
  maxAttempts: Type.Integer(),
  error: Any,
  integrity: Any,
  retryOf: Nullable(Type.String()),
  /** Set on a quarantine replay: the job whose quarantined rows it replays. */
  replayOf: Nullable(Type.String()),
  upstreamJobId: Nullable(
    Type.String({ description: 'The job whose success started this one (trigger `pipeline`).' }),
  ),
  traceId: Nullable(Type.String()),
  cancelRequested: Type.Boolean(),
  deadLetteredAt: Nullable(Ts),
  priority: Type.Integer({
    description: 'Higher leaves the queue first (the execute call’s, else the spec’s).',
  }),
  concurrency: Nullable(
    Type.Integer({
      description: "The pipeline's `concurrency` when the job was made: its jobs running at once.",
    }),
  ),
  runsOn: Type.Array(Type.String(), { description: 'Worker tags its steps need (their `runsOn`).' }),
  waitingFor: Type.Optional(
    Type.String({
      description:
        'Why a queued job has not started: "a worker with tags [browser]" when no live worker has them, ' +
        'or "a slot: 1 of 1 jobs of this pipeline running (concurrency 1)".',
    }),
  ),
});

export const StepSchema = Type.Object({
  id: Type.String(),
  jobId: Type.String(),
  stepId: Type.String(),
  kind: Type.String(),
  needs: Type.Array(Type.String()),
  status: Type.String(),
  progress: Type.Number(),
  attempt: Type.Integer(),
  startedAt: Nullable(Ts),
  completedAt: Nullable(Ts),
  durationMs: Nullable(Type.Integer()),
  rowsRead: Type.Integer(),
  rowsWritten: Type.Integer(),
  rowsFiltered: Type.Integer(),
  rowsQuarantined: Type.Integer(),
  bytes: Type.Integer(),
  streaming: Type.Boolean({
    description: 'A flow from a queue: it runs until cancelled (see docs/streaming.md).',
  }),
  lag: Nullable(
    Type.Integer({ description: "A stream's messages waiting at the broker, as its source last said." }),
  ),
  checkpointedAt: Nullable(Ts),
  error: Any,
  report: Any,
});

export const PartitionSchema = Type.Object({
  id: Type.String(),
  stepId: Type.String(),
  index: Type.Integer({ description: '0-based, in input order.' }),
  part: Any,
  status: Type.String(),
  progress: Type.Number(),
  attempt: Type.Integer(),
  rowsRead: Type.Integer(),
  rowsWritten: Type.Integer(),
  rowsQuarantined: Type.Integer(),
  workerId: Nullable(Type.String()),
  startedAt: Nullable(Ts),
  completedAt: Nullable(Ts),
  checkpointedAt: Nullable(
    Type.Integer({ description: 'Sequence number of its last checkpoint; null before the first.' }),
  ),
  error: Any,
});

export const ScheduleSchema = Type.Object({
  id: Type.String(),
  pipelineId: Nullable(Type.String({ description: 'The pipeline it runs; null for a system task.' })),
  task: Nullable(
    Type.String({
      description: 'The platform task it runs (retention, vacuum, rollup); null for a pipeline.',
    }),
  ),
  name: Type.String(),
  cron: Type.String(),
  timezone: Type.String(),
  parameters: Any,
  paused: Type.Boolean(),
  missedPolicy: Type.String(),
  lastRunAt: Nullable(Ts),
  nextRunAt: Nullable(Ts),
  nextRuns: Type.Array(Ts),
  createdAt: Ts,
  updatedAt: Ts,
});

export const LogLineSchema = Type.Object({
  time: Ts,
  level: Type.String(),
  stepId: Type.Optional(Type.String()),
  componentId: Type.Optional(Type.String()),
  message: Type.String(),
  metadata: Type.Optional(Any),
});

const Role = Type.Union([Type.Literal('admin'), Type.Literal('operator'), Type.Literal('viewer')]);
const When = Nullable(Ts);

export const UserSchema = Type.Object({
  id: Type.String(),
  username: Type.String(),
  role: Role,
  active: Type.Boolean(),
  totpEnabled: Type.Boolean(),
  lastLoginAt: When,
  createdAt: Ts,
  updatedAt: Ts,
});

export const ApiTokenSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: Role,
  createdBy: Nullable(Type.String()),
  createdAt: Ts,
  expiresAt: When,
  revokedAt: When,
  lastUsedAt: When,
});

export const AuditSchema = Type.Object({
  id: Type.Integer(),
  at: Ts,
  userId: Nullable(Type.String()),
  username: Nullable(Type.String()),
  action: Type.String(),
  resourceType: Type.String(),
  resourceId: Nullable(Type.String()),
  oldValue: Any,
  newValue: Any,
  clientAddress: Nullable(Type.String()),
  userAgent: Nullable(Type.String()),
});

export { Role as RoleSchema };

export const BackfillSchema = Type.Object({
  id: Type.String(),
  pipelineId: Type.String(),
  pipelineVersion: Type.Integer({ description: 'Every run uses this version: the current one at creation.' }),
  scheduleId: Nullable(Type.String({ description: "Set when it runs a schedule's missed slots." })),
  every: Type.String({ description: 'hour, day, week, month; schedule for missed slots.' }),
  timezone: Type.String(),
  from: Type.String(),
  to: Type.String(),
  concurrency: Type.Integer(),
  parameters: Any,
  intervalParameters: Type.Array(Type.String(), {
    description: 'Which of date, start, end the pipeline declares, set per run.',
  }),
  status: Type.String({ description: 'running, success, failed, cancelled' }),
  error: Nullable(Type.String()),
  createdBy: Nullable(Type.String()),
  createdAt: Ts,
  completedAt: When,
  progress: Type.Object({
    total: Type.Integer(),
    waiting: Type.Integer({ description: 'Intervals without a job yet (waiting for a free slot).' }),
    queued: Type.Integer(),
    running: Type.Integer(),
    succeeded: Type.Integer(),
    failed: Type.Integer(),
    cancelled: Type.Integer(),
  }),
});

export const BackfillDetailSchema = Type.Composite([
  BackfillSchema,
  Type.Object({ jobs: Type.Array(JobSchema) }),
]);
