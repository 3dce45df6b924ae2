import { useQuery, useQueryClient } from '@tanstack/react-query';
import { lazy, Suspense } from 'react';
import { Link } from 'react-router';
import { get } from '../api/client.ts';
import { useLive } from '../api/live.ts';
import type { Job, Page } from '../api/types.ts';
import { Empty, ErrorNote, Loading } from '../components/feedback.tsx';
import type { HourTotals } from '../components/hourly-charts.tsx';
import { duration, Progress, Status, when } from '../components/status.tsx';

// uPlot comes with the charts, on demand: it is not part of the first page's JavaScript.
const JobsChart = lazy(() =>
  import('../components/hourly-charts.tsx').then((m) => ({ default: m.JobsChart })),
);
const RowsChart = lazy(() =>
  import('../components/hourly-charts.tsx').then((m) => ({ default: m.RowsChart })),
);

interface Summary {
  jobsLastHour: number;
  successRate: number | null;
  meanDurationMs: number | null;
  p95DurationMs: number | null;
  queueDepth: number;
  running: number;
  workers: number;
  hourly: HourTotals[];
  failuresByPipeline: {
    pipelineId: string;
    pipelineName: string;
    failed: number;
    jobs: number;
    lastFailedAt: string;
  }[];
}

const chartSpace = <div className="chart-space" />;

/** The pipeline, by name, and the job's short id, each a link. */
function JobRef({ job }: { job: Job }) {
  return (
    <>
      <Link to={`/pipelines/${job.pipelineId}`}>{job.pipelineName ?? job.pipelineId.slice(0, 8)}</Link>{' '}
      <Link to={`/jobs/${job.id}`} className="muted mono" title={`job ${job.id}`}>
        #{job.id.slice(0, 8)}
      </Link>
    </>
  );
}

function Failing({ items }: { items: Summary['failuresByPipeline'] }) {
  if (!items.length) return <Empty>No failed jobs in the last 24 hours.</Empty>;
  return (
    <table className="failing">
      <thead>
        <tr>
          <th>Pipeline</th>
          <th className="num">Failed</th>
          <th>Last failure</th>
        </tr>
      </thead>
      <tbody>
        {items.map((f) => (
          <tr key={f.pipelineId}>
            <td>
              <Link to={`/pipelines/${f.pipelineId}`}>{f.pipelineName}</Link>
            </td>
            <td className="num">
              <b>{f.failed}</b> <span className="muted">of {f.jobs}</span>
            </td>
            <td>
              <Link to={`/jobs?status=failed&pipelineId=${f.pipelineId}`}>{when(f.lastFailedAt)}</Link>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function DashboardPage() {
  const qc = useQueryClient();
  const summary = useQuery({
    queryKey: ['summary'],
    queryFn: () => get<Summary>('/metrics/summary'),
    refetchInterval: 15_000,
  });
  const running = useQuery({
    queryKey: ['jobs', 'running'],
    queryFn: () => get<Page<Job>>('/jobs?status=running&limit=20'),
  });
  const failed = useQuery({
    queryKey: ['jobs', 'failed'],
    queryFn: () => get<Page<Job>>('/jobs?status=failed&limit=8'),
  });
  const progress = useQuery({
    queryKey: ['running-steps', running.data?.items.map((j) => j.id).join()],
    enabled: (running.data?.items.length ?? 0) > 0,
    queryFn: async () => {
      const out: Record<string, number> = {};
      for (const j of running.data!.items) {
        const steps = await get<{ items: { progress: number }[] }>(`/jobs/${j.id}/steps`);
        out[j.id] = steps.items.length
          ? steps.items.reduce((a, s) => a + s.progress, 0) / steps.items.length
          : 0;
      }
      return out;
    },
  });
  useLive('global', () => {
    void qc.invalidateQueries({ queryKey: ['jobs'] });
    void qc.invalidateQueries({ queryKey: ['summary'] });
    void qc.invalidateQueries({ queryKey: ['running-steps'] });
  });
  const s = summary.data;
  const quiet = s ? s.hourly.every((h) => h.total === 0) : false;
  return (
    <div className="dashboard">
      <h1>Dashboard</h1>
      <ErrorNote error={summary.error} />
      {s ? (
        <div className="grid stats">
          <Stat value={s.jobsLastHour} label="jobs in the last hour" />
          <Stat
            value={s.successRate === null ? '—' : `${Math.round(s.successRate * 100)}%`}
            label="success rate (24 h)"
          />
          <Stat
            value={duration(s.meanDurationMs === null ? null : Math.round(s.meanDurationMs))}
            label="mean duration"
          />
          <Stat
            value={duration(s.p95DurationMs === null ? null : Math.round(s.p95DurationMs))}
            label="p95 duration"
          />
          <Stat value={s.queueDepth} label="queued" />
          <Stat value={s.running} label="running" />
          <Stat value={s.workers} label="workers" />
        </div>
      ) : (
        !summary.error && <Loading />
      )}
      {s && (
        <section className="panel" aria-labelledby="jobs-per-hour">
          <h2 id="jobs-per-hour">Jobs per hour, last 24 hours</h2>
          {quiet ? (
            <div className="chart-empty">
              <p>
                <b>No jobs in the last 24 hours.</b>
              </p>
              <p>
                Run a pipeline from <Link to="/pipelines">Pipelines</Link>, or{' '}
                <Link to="/schedules">schedule one</Link>.
              </p>
            </div>
          ) : (
            <Suspense fallback={chartSpace}>
              <JobsChart hours={s.hourly} />
            </Suspense>
          )}
        </section>
      )}
      {s && (
        <div className="cols">
          <section className="panel" aria-labelledby="rows-per-second">
            <h2 id="rows-per-second">Rows read per second of job run time</h2>
            {s.hourly.some((h) => h.busyMs > 0) ? (
              <Suspense fallback={chartSpace}>
                <RowsChart hours={s.hourly} />
              </Suspense>
            ) : (
              <Empty>No finished jobs in the last 24 hours.</Empty>
            )}
          </section>
          <section className="panel" aria-labelledby="failures-by-pipeline">
            <h2 id="failures-by-pipeline">Failures by pipeline, last 24 hours</h2>
            <Failing items={s.failuresByPipeline} />
          </section>
        </div>
      )}
      <div className="cols">
        <section className="panel" aria-labelledby="running-now">
          <h2 id="running-now">Running now</h2>
          {running.data?.items.length ? (
            <table>
              <tbody>
                {running.data.items.map((j) => (
                  <tr key={j.id}>
                    <td>
                      <JobRef job={j} />
                    </td>
                    <td>started {when(j.startedAt)}</td>
                    <td style={{ width: '40%' }}>
                      <Progress value={progress.data?.[j.id] ?? 0} label={`job ${j.id} progress`} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <Empty>Nothing is running.</Empty>
          )}
        </section>
        <section className="panel" aria-labelledby="recent-failures">
          <h2 id="recent-failures">Recent failures</h2>
          {failed.data?.items.length ? (
            <ul className="plain">
              {failed.data.items.map((j) => (
                <li key={j.id}>
                  <JobRef job={j} /> <Status status={j.status} />{' '}
                  <span className="muted">{when(j.completedAt)}</span>
                  <div className="muted">{j.error?.message}</div>
                </li>
              ))}
            </ul>
          ) : (
            <Empty>No failures.</Empty>
          )}
        </section>
      </div>
    </div>
  );
}

function Stat({ value, label }: { value: React.ReactNode; label: string }) {
  return (
    <div className="stat">
      <b>{value}</b>
      <span>{label}</span>
    </div>
  );
}
