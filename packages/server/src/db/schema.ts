import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  customType,
  index,
  integer,
  pgTable,
  primaryKey,
  real,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { jsonb } from './jsonb.ts';

// Every table of api-v1.md's data model; timestamps are timestamptz, ids uuid unless a worker names itself.
const id = () => uuid('id').primaryKey().default(sql`gen_random_uuid()`);
const at = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
const created = () => at('created_at').notNull().defaultNow();
const updated = () => at('updated_at').notNull().defaultNow();
const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });
const count = (name: string) => bigint(name, { mode: 'number' }).notNull().default(0);

export const users = pgTable('users', {
  id: id(),
  username: text('username').notNull().unique(),
  passwordHash: text('password_hash').notNull(),
  role: text('role', { enum: ['admin', 'operator', 'viewer'] }).notNull(),
  active: boolean('active').notNull().default(true),
  /** Sealed (security/secrets.ts) like a credential; set once the user has verified a code. */
  totpSecret: text('totp_secret'),
  /** Sealed; an enrolment not yet confirmed with a code. */
  totpPending: text('totp_pending'),
  /** The last TOTP time step accepted, so a code cannot be replayed within its window. */
  totpLastStep: bigint('totp_last_step', { mode: 'number' }),
  lastLoginAt: at('last_login_at'),
  createdAt: created(),
  updatedAt: updated(),
});

export const refreshTokens = pgTable('refresh_tokens', {
  id: id(),
  userId: uuid('user_id')
    .notNull()
    .references(() => users.id, { onDelete: 'cascade' }),
  familyId: uuid('family_id').notNull(),
  tokenHash: text('token_hash').notNull().unique(),
  expiresAt: at('expires_at').notNull(),
  revokedAt: at('revoked_at'),
  replacedBy: uuid('replaced_by'),
  createdAt: created(),
});

/** Tokens for automation: a role of their own, an expiry, revocable; stored as SHA-256. */
export const apiTokens = pgTable('api_tokens', {
  id: id(),
  name: text('name').notNull(),
  role: text('role', { enum: ['admin', 'operator', 'viewer'] }).notNull(),
  tokenHash: text('token_hash').notNull().unique(),
  createdBy: text('created_by'),
  expiresAt: at('expires_at'),
  revokedAt: at('revoked_at'),
  lastUsedAt: at('last_used_at'),
  createdAt: created(),
});

export const pipelines = pgTable(
  'pipelines',
  {
    id: id(),
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
    currentVersion: integer('current_version').notNull().default(1),
    parameters: jsonb('parameters'),
    active: boolean('active').notNull().default(true),
    /** Sealed HMAC key of the webhook trigger; null until one is generated. */
    webhookSecret: text('webhook_secret'),
    createdBy: text('created_by'),
    createdAt: created(),
    updatedAt: updated(),
    deletedAt: at('deleted_at'),
  },
  // A deleted pipeline's name may be taken again; its jobs keep pointing at it.
  (t) => [uniqueIndex('pipelines_name_live').on(t.name).where(sql`${t.deletedAt} IS NULL`)],
);

export const pipelineVersions = pgTable(
  'pipeline_versions',
  {
    pipelineId: uuid('pipeline_id')
      .notNull()
      .references(() => pipelines.id),
    version: integer('version').notNull(),
    spec: jsonb('spec').notNull(),
    createdBy: text('created_by'),
    createdAt: created(),
  },
  (t) => [primaryKey({ columns: [t.pipelineId, t.version] })],
);

/**
 * What each step of a pipeline keeps between jobs (an incremental source's cursor), keyed by
 * pipeline and step id. Written by the worker when the step succeeded, read when a job starts it.
 */
export const pipelineState = pgTable(
  'pipeline_state',
  {
    pipelineId: uuid('pipeline_id')
      .notNull()
      .references(() => pipelines.id, { onDelete: 'cascade' }),
    stepId: text('step_id').notNull(),
    state: jsonb('state').notNull(),
    /** The job whose success saved it. */
    jobId: uuid('job_id'),
    updatedAt: updated(),
  },
  (t) => [primaryKey({ columns: [t.pipelineId, t.stepId] })],
);

export const SYSTEM_TASKS = ['retention', 'vacuum', 'rollup'] as const;
export type SystemTask = (typeof SYSTEM_TASKS)[number];

/**
 * A schedule runs a pipeline (`pipelineId`) or one of the platform's own maintenance tasks
 * (`task`, one schedule each): both are listed, paused and re-timed the same way.
 */
export const schedules = pgTable('schedules', {
  id: id(),
  pipelineId: uuid('pipeline_id').references(() => pipelines.id),
  task: text('task', { enum: SYSTEM_TASKS }).unique(),
  name: text('name').notNull(),
  cron: text('cron').notNull(),
  timezone: text('timezone').notNull().default('UTC'),
  parameters: jsonb('parameters').notNull().default({}),
  paused: boolean('paused').notNull().default(false),
  missedPolicy: text('missed_policy', { enum: ['skip', 'run_once'] })
    .notNull()
    .default('skip'),
  lastRunAt: at('last_run_at'),
  nextRunAt: at('next_run_at'),
  createdAt: created(),
  updatedAt: updated(),
});

export const JOB_STATUSES = [
  'pending',
  'queued',
  'running',
  'success',
  'failed',
  'cancelled',
  'timeout',
] as const;
/**
 * `pipeline`: started by another pipeline's success (its spec's `triggers.onSuccessOf`);
 * `backfill`: one interval of a backfill.
 */
export const TRIGGER_TYPES = ['manual', 'scheduled', 'api', 'webhook', 'pipeline', 'backfill'] as const;

export const jobExecutions = pgTable(
  'job_executions',
  {
    id: id(),
    pipelineId: uuid('pipeline_id')
      .notNull()
      .references(() => pipelines.id),
    pipelineVersion: integer('pipeline_version').notNull(),
    status: text('status', { enum: JOB_STATUSES }).notNull().default('pending'),
    triggerType: text('trigger_type', { enum: TRIGGER_TYPES }).notNull(),
    triggeredBy: text('triggered_by'),
    scheduleId: uuid('schedule_id'),
    parameters: jsonb('parameters').notNull().default({}),
    /**
     * The pipeline planned once when the job was made (core's ResolvedPlan), sealed with the master
     * key like a credential: it holds no credential, but it does hold the values of the `${env.…}`
     * variables the operator exposed. Its steps run by it. Null on jobs made before plans were
     * stored: those are planned from the spec.
     */
    plan: text('plan'),
    createdAt: created(),
    queuedAt: at('queued_at'),
    startedAt: at('started_at'),
    completedAt: at('completed_at'),
    durationMs: integer('duration_ms'),
    workerId: text('worker_id'),
    attempt: integer('attempt').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull().default(3),
    error: jsonb('error'),
    integrity: jsonb('integrity'),
    retryOf: uuid('retry_of'),
    /** Set on a quarantine replay: the job whose quarantined rows it replays (whose workspace holds them). */
    replayOf: uuid('replay_of'),
    /** Set on a job another pipeline's success started (trigger `pipeline`): that job. */
    upstreamJobId: uuid('upstream_job_id'),
    traceId: text('trace_id'),
    cancelRequestedAt: at('cancel_requested_at'),
    deadLetteredAt: at('dead_lettered_at'),
    /** The backfill that made this job, one per interval (its parameters say which). */
    backfillId: uuid('backfill_id'),
    /** Higher leaves the queue first: the execute call's, else the spec's `priority`, else 0. */
    priority: integer('priority').notNull().default(0),
    /** The spec's `concurrency` when the job was made: at most this many of the pipeline's jobs run at once. */
    concurrency: integer('concurrency'),
    /** Every worker tag its steps need (their `runsOn`), sorted: only a worker with all of them takes it. */
    runsOn: text('runs_on').array().notNull().default(sql`'{}'::text[]`),
  },
  (t) => [
    index('job_executions_status').on(t.status),
    index('job_executions_backfill').on(t.backfillId),
    index('job_executions_pipeline').on(t.pipelineId),
    index('job_executions_created').on(t.createdAt),
    // One job per downstream pipeline and upstream job: starting dependents twice (a redelivered
    // queue message) makes no second job.
    uniqueIndex('job_executions_upstream')
      .on(t.upstreamJobId, t.pipelineId)
      .where(sql`${t.upstreamJobId} IS NOT NULL`),
  ],
);

export const BACKFILL_STATUSES = ['running', 'success', 'failed', 'cancelled'] as const;

/**
 * A pipeline run once per interval of a date range, at most `concurrency` jobs at once. The whole
 * interval list is kept here and `cursor` says how many have jobs: whoever advances it (the
 * creating request, a job's end, the scheduler's tick after a restart) creates those jobs in the
 * same transaction, so an interval never gets two jobs or none.
 */
export const backfills = pgTable(
  'backfills',
  {
    id: id(),
    pipelineId: uuid('pipeline_id')
      .notNull()
      .references(() => pipelines.id),
    /** Every job runs this version: the one current when the backfill was made. */
    pipelineVersion: integer('pipeline_version').notNull(),
    /** Set when the intervals are a schedule's missed slots. */
    scheduleId: uuid('schedule_id'),
    every: text('every', { enum: ['hour', 'day', 'week', 'month', 'schedule'] }).notNull(),
    timezone: text('timezone').notNull().default('UTC'),
    rangeFrom: text('range_from').notNull(),
    rangeTo: text('range_to').notNull(),
    concurrency: integer('concurrency').notNull(),
    /** Parameters every job gets, besides its interval's date/start/end. */
    parameters: jsonb('parameters').notNull().default({}),
    /** `{date, start, end}` per interval, in order. */
    intervals: jsonb('intervals').notNull(),
    /** The parameters of the intervals the pipeline declares: date, start, end. */
    intervalParams: jsonb('interval_params').$type<string[]>().notNull(),
    cursor: integer('cursor').notNull().default(0),
    status: text('status', { enum: BACKFILL_STATUSES }).notNull().default('running'),
    error: text('error'),
    createdBy: text('created_by'),
    createdAt: created(),
    completedAt: at('completed_at'),
  },
  (t) => [index('backfills_pipeline').on(t.pipelineId, t.createdAt), index('backfills_status').on(t.status)],
);

export const STEP_STATUSES = ['pending', 'running', 'success', 'failed', 'skipped', 'cancelled'] as const;

export const stepExecutions = pgTable(
  'step_executions',
  {
    id: id(),
    jobId: uuid('job_id')
      .notNull()
      .references(() => jobExecutions.id, { onDelete: 'cascade' }),
    stepId: text('step_id').notNull(),
    kind: text('kind', { enum: ['flow', 'task'] }).notNull(),
    needs: jsonb('needs').$type<string[]>().notNull().default([]),
    status: text('status', { enum: STEP_STATUSES }).notNull().default('pending'),
    progress: real('progress').notNull().default(0),
    attempt: integer('attempt').notNull().default(0),
    startedAt: at('started_at'),
    completedAt: at('completed_at'),
    durationMs: integer('duration_ms'),
    rowsRead: count('rows_read'),
    rowsWritten: count('rows_written'),
    rowsFiltered: count('rows_filtered'),
    rowsQuarantined: count('rows_quarantined'),
    bytes: count('bytes'),
    /** A flow whose source never ends (a queue): its job runs until cancelled. */
    streaming: boolean('streaming').notNull().default(false),
    /** A stream's messages waiting at the broker, as its source last said; null when it does not. */
    lag: bigint('lag', { mode: 'number' }),
    /** When the running flow's last checkpoint committed. */
    checkpointedAt: at('checkpointed_at'),
    report: jsonb('report'),
    error: jsonb('error'),
    workerId: text('worker_id'),
    pid: integer('pid'),
  },
  (t) => [uniqueIndex('step_executions_job_step').on(t.jobId, t.stepId)],
);

/**
 * One part of a partitioned step (its `partitions`): what to read (the source's cut, no secrets),
 * its own attempts and checkpoints, and the report it left. Any worker runs it from the partitions
 * queue; the step's own row sums the parts once all ended.
 */
export const stepPartitions = pgTable(
  'step_partitions',
  {
    id: id(),
    jobId: uuid('job_id')
      .notNull()
      .references(() => jobExecutions.id, { onDelete: 'cascade' }),
    stepId: text('step_id').notNull(),
    /** 0-based, in input order: the parts' quarantines are joined in this order. */
    index: integer('index').notNull(),
    part: jsonb('part').notNull(),
    status: text('status', { enum: STEP_STATUSES }).notNull().default('pending'),
    progress: real('progress').notNull().default(0),
    attempt: integer('attempt').notNull().default(0),
    rowsRead: count('rows_read'),
    rowsWritten: count('rows_written'),
    startedAt: at('started_at'),
    completedAt: at('completed_at'),
    report: jsonb('report'),
    error: jsonb('error'),
    workerId: text('worker_id'),
    /** The part's last checkpoint file (core's CheckpointMirror): a worker taking it over resumes here. */
    checkpoint: jsonb('checkpoint'),
    /** The part's quarantine as far as that checkpoint covers it (NDJSON, UTF-8). */
    quarantine: bytea('quarantine'),
  },
  (t) => [uniqueIndex('step_partitions_job_step_index').on(t.jobId, t.stepId, t.index)],
);

export const artifacts = pgTable(
  'artifacts',
  {
    id: id(),
    jobId: uuid('job_id')
      .notNull()
      .references(() => jobExecutions.id, { onDelete: 'cascade' }),
    stepId: text('step_id'),
    name: text('name').notNull(),
    kind: text('kind', { enum: ['log', 'quarantine', 'report', 'output', 'dataset', 'file'] }).notNull(),
    storageKey: text('storage_key').notNull(),
    size: count('size'),
    /** Hex SHA-256 of what was stored whole; null for a log, which grows by appends. */
    sha256: text('sha256'),
    contentType: text('content_type').notNull(),
    createdAt: created(),
  },
  (t) => [uniqueIndex('artifacts_job_name').on(t.jobId, t.name)],
);

export const credentials = pgTable('credentials', {
  id: id(),
  name: text('name').notNull().unique(),
  connectorType: text('connector_type').notNull(),
  description: text('description').notNull().default(''),
  encryptedData: text('encrypted_data').notNull(),
  /** Steps using it at once, across all workers; null: no limit (a portal that allows one login says 1). */
  concurrency: integer('concurrency'),
  createdBy: text('created_by'),
  createdAt: created(),
  updatedAt: updated(),
});

export const auditLog = pgTable(
  'audit_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: at('at').notNull().defaultNow(),
    userId: uuid('user_id'),
    username: text('username'),
    action: text('action').notNull(),
    resourceType: text('resource_type').notNull(),
    resourceId: text('resource_id'),
    oldValue: jsonb('old_value'),
    newValue: jsonb('new_value'),
    clientAddress: text('client_address'),
    userAgent: text('user_agent'),
  },
  (t) => [index('audit_log_at').on(t.at), index('audit_log_resource').on(t.resourceType, t.resourceId)],
);

export const alertRules = pgTable('alert_rules', {
  id: id(),
  name: text('name').notNull().unique(),
  condition: jsonb('condition').notNull(),
  severity: text('severity').notNull().default('warning'),
  cooldownSeconds: integer('cooldown_seconds').notNull().default(300),
  channels: jsonb('channels').notNull().default([]),
  enabled: boolean('enabled').notNull().default(true),
  createdAt: created(),
  updatedAt: updated(),
});

export const alertEvents = pgTable(
  'alert_events',
  {
    id: id(),
    ruleId: uuid('rule_id')
      .notNull()
      .references(() => alertRules.id, { onDelete: 'cascade' }),
    status: text('status', { enum: ['firing', 'resolved'] }).notNull(),
    severity: text('severity').notNull(),
    message: text('message').notNull(),
    pipelineId: uuid('pipeline_id'),
    jobId: uuid('job_id'),
    firedAt: at('fired_at').notNull().defaultNow(),
    resolvedAt: at('resolved_at'),
    deliveries: jsonb('deliveries').notNull().default([]),
  },
  (t) => [
    // One open alert per rule and pipeline, whatever number of processes evaluate it at once.
    uniqueIndex('alert_events_open').on(t.ruleId, t.pipelineId).where(sql`${t.status} = 'firing'`),
    index('alert_events_rule_pipeline').on(t.ruleId, t.pipelineId, t.firedAt),
    index('alert_events_fired').on(t.firedAt),
  ],
);

export const workers = pgTable('workers', {
  id: text('id').primaryKey(),
  hostname: text('hostname').notNull(),
  pid: integer('pid').notNull(),
  startedAt: at('started_at').notNull().defaultNow(),
  lastSeenAt: at('last_seen_at').notNull().defaultNow(),
  concurrency: integer('concurrency').notNull(),
  running: integer('running').notNull().default(0),
  /** `--tags`: it takes jobs whose steps' `runsOn` are all among them. */
  tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
});

/** Jobs per pipeline and hour, kept by the `rollup` task: the dashboard's history outlives retention. */
export const runRollups = pgTable(
  'run_rollups',
  {
    hour: at('hour').notNull(),
    pipelineId: uuid('pipeline_id').notNull(),
    jobs: integer('jobs').notNull(),
    success: integer('success').notNull(),
    failed: integer('failed').notNull(),
    durationMsSum: bigint('duration_ms_sum', { mode: 'number' }).notNull(),
    rowsRead: bigint('rows_read', { mode: 'number' }).notNull(),
    rowsQuarantined: bigint('rows_quarantined', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.hour, t.pipelineId] })],
);

export const HOOK_EVENTS = ['success', 'failure', 'end'] as const;

/**
 * Outbound webhooks: a URL told when a job of the pipeline (or, with `pipelineId` null, of any
 * pipeline) ends. Not the inbound webhook trigger (`pipelines.webhookSecret`).
 */
export const webhookSubscriptions = pgTable(
  'webhook_subscriptions',
  {
    id: id(),
    pipelineId: uuid('pipeline_id').references(() => pipelines.id, { onDelete: 'cascade' }),
    url: text('url').notNull(),
    events: jsonb('events').$type<(typeof HOOK_EVENTS)[number][]>().notNull(),
    /** Sealed (security/secrets.ts) HMAC key of X-Sluice-Signature; never shown again. */
    secret: text('secret'),
    enabled: boolean('enabled').notNull().default(true),
    description: text('description').notNull().default(''),
    createdBy: text('created_by'),
    createdAt: created(),
    updatedAt: updated(),
  },
  (t) => [index('webhook_subscriptions_pipeline').on(t.pipelineId)],
);

/** One row per attempt to deliver a job's end to a subscription; `deliveryId` is shared by the attempts. */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: id(),
    deliveryId: uuid('delivery_id').notNull(),
    subscriptionId: uuid('subscription_id')
      .notNull()
      .references(() => webhookSubscriptions.id, { onDelete: 'cascade' }),
    jobId: uuid('job_id').notNull(),
    event: text('event', { enum: HOOK_EVENTS }).notNull(),
    attempt: integer('attempt').notNull(),
    ok: boolean('ok').notNull(),
    httpStatus: integer('http_status'),
    error: text('error'),
    durationMs: integer('duration_ms').notNull(),
    at: at('at').notNull().defaultNow(),
  },
  (t) => [index('webhook_deliveries_subscription').on(t.subscriptionId, t.at)],
);

export type Pipeline = typeof pipelines.$inferSelect;
export type PipelineVersion = typeof pipelineVersions.$inferSelect;
export type Schedule = typeof schedules.$inferSelect;
export type JobExecution = typeof jobExecutions.$inferSelect;
export type StepExecution = typeof stepExecutions.$inferSelect;
export type StepPartition = typeof stepPartitions.$inferSelect;
export type Artifact = typeof artifacts.$inferSelect;
export type Backfill = typeof backfills.$inferSelect;
export type BackfillStatus = (typeof BACKFILL_STATUSES)[number];
export type JobStatus = (typeof JOB_STATUSES)[number];
export type StepStatusName = (typeof STEP_STATUSES)[number];
export type TriggerType = (typeof TRIGGER_TYPES)[number];
export type HookEvent = (typeof HOOK_EVENTS)[number];
export type WebhookSubscription = typeof webhookSubscriptions.$inferSelect;
