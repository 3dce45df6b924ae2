import type { CircuitStateName } from '@sluice/core';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { Platform } from '../platform.ts';
import { circuitStatesNow } from '../worker/circuit-book.ts';
import { DbHistogram } from './db-histogram.ts';
import { readSnapshot, type Series, type Snapshot } from './snapshot.ts';

/**
 * The Prometheus registry behind GET /metrics.
 *
 * Why the database and not in-process counters: jobs are created by API processes and run by
 * worker processes, possibly on other machines, and Prometheus may scrape any of them. Counting in
 * the process that ran a job would split the fleet's figures across processes and lose them at
 * each restart. Instead every figure is read from the database when Prometheus scrapes (the
 * metrics' `collect()`), so any process answers with the fleet's truth and two API processes
 * report the same numbers. The cost is a few aggregate queries per scrape (snapshot.ts); they
 * return a few rows per pipeline, connector or error code.
 *
 * What that means for the counters: a job is counted once it has finished (success, failed,
 * cancelled, timeout), together with its steps, their rows and their errors, so a job's attempts in
 * between are not counted apart. A counter drops when rows it counted change or go: a finished job
 * retried by hand leaves its old status, and deleting old jobs removes them. Prometheus reads a
 * drop as a counter reset, so `rate()`/`increase()` over a window that holds one overstate it.
 */
export interface Metrics {
  registry: Registry;
  /** The text exposition of every metric (the fleet's, read now, and this process's own). */
  text(): Promise<string>;
  contentType: string;
}

/** prom-client counters are set from the database at scrape time, not incremented as things happen. */
function fill(m: Counter | Gauge, series: Series[]) {
  m.reset();
  for (const s of series) {
    if (m instanceof Counter) m.inc(s.labels, s.value);
    else m.set(s.labels, s.value);
  }
}

const CIRCUIT_GAUGE: Record<CircuitStateName, number> = { closed: 0, 'half-open': 1, open: 2 };

export function createMetrics(p: Platform): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  // Every metric's collect() runs in the same tick of a scrape (the registry calls them all before
  // awaiting any): they share one snapshot, and concurrent scrapes share the queries in flight.
  let inflight: Promise<Snapshot> | undefined;
  const snapshot = () => {
    inflight ??= readSnapshot(p).finally(() => {
      inflight = undefined;
    });
    return inflight;
  };
  const registers = [registry];
  const counter = (name: string, help: string, labelNames: string[], pick: (s: Snapshot) => Series[]) =>
    new Counter({
      name,
      help,
      labelNames,
      registers,
      async collect() {
        fill(this, pick(await snapshot()));
      },
    });
  const gauge = (name: string, help: string, pick: (s: Snapshot) => number) =>
    new Gauge({
      name,
      help,
      registers,
      async collect() {
        this.set(pick(await snapshot()));
      },
    });

  counter(
    'etl_jobs_total',
    'Finished jobs, by pipeline name, final status and trigger type.',
    ['pipeline', 'status', 'trigger_type'],
    (s) => s.jobs,
  );
  counter(
    'etl_steps_total',
    "Steps of finished jobs, by connector (a task's connector, a flow's sink) and status.",
    ['connector', 'status'],
    (s) => s.steps,
  );
  counter(
    'etl_records_processed_total',
    'Rows read by the steps of finished jobs, by pipeline name and step id.',
    ['pipeline', 'step'],
    (s) => s.processed,
  );
  counter(
    'etl_records_quarantined_total',
    'Rows quarantined by the steps of finished jobs, by pipeline name and step id.',
    ['pipeline', 'step'],
    (s) => s.quarantined,
  );
  counter(
    'etl_errors_total',
    'Failures of finished jobs by error code: each failed step, and each failed job without a failed step.',
    ['type'],
    (s) => s.errors,
  );
  counter(
    'sluice_component_counter_total',
    "What components of finished jobs' steps counted themselves (a lookup's cache.hits, cache.misses, " +
      'cache.evictions), by pipeline name, step id, component id and counter name.',
    ['pipeline', 'step', 'component', 'name'],
    (s) => s.componentCounters,
  );
  counter(
    'etl_stream_rows_total',
    'Rows read by flows from a queue, running ones included (saved once a second), by pipeline name and step id.',
    ['pipeline', 'step'],
    (s) => s.streamRows,
  );
  const labelledGauge = (name: string, help: string, pick: (s: Snapshot) => Series[]) =>
    new Gauge({
      name,
      help,
      labelNames: ['pipeline', 'step'],
      registers,
      async collect() {
        fill(this, pick(await snapshot()));
      },
    });
  labelledGauge(
    'etl_stream_lag',
    "Messages waiting at the broker for a running stream's consumer, as its source last said, by pipeline name and step id.",
    (s) => s.streamLag,
  );
  labelledGauge(
    'etl_stream_last_checkpoint_timestamp_seconds',
    "When a running stream's last checkpoint committed (Unix time): alert on `time() - this`, by pipeline name and step id.",
    (s) => s.streamCheckpoint,
  );
  gauge('etl_active_jobs', 'Jobs running now, fleet-wide.', (s) => s.activeJobs);
  gauge(
    'etl_queue_depth',
    'Job messages waiting in the queue (including attempts waiting out their backoff) and parts of partitioned steps waiting for a worker.',
    (s) => s.queueDepth,
  );
  gauge('etl_workers_available', 'Worker processes that beat in the last 30 seconds.', (s) => s.workers);
  // Not the fleet's, unlike the rest: circuits live in the worker process whose steps connect.
  new Gauge({
    name: 'sluice_circuit_state',
    help: "Circuit breaker per endpoint (host:port) of this process's worker: 0 closed, 1 half-open (the next connection probes), 2 open (connections fail fast with CIRCUIT_OPEN).",
    labelNames: ['endpoint'],
    registers,
    collect() {
      this.reset();
      for (const c of circuitStatesNow()) this.set({ endpoint: c.endpoint }, CIRCUIT_GAUGE[c.state]);
    },
  });
  for (const h of [
    new DbHistogram(
      'etl_job_duration_seconds',
      'Duration of finished jobs, from first start to end, by pipeline name.',
      ['pipeline'],
      async () => (await snapshot()).jobDurations,
    ),
    new DbHistogram(
      'etl_step_duration_seconds',
      'Duration of the steps of finished jobs, by connector.',
      ['connector'],
      async () => (await snapshot()).stepDurations,
    ),
  ])
    registry.registerMetric(h.asMetric());

  return { registry, text: () => registry.metrics(), contentType: registry.contentType };
}
