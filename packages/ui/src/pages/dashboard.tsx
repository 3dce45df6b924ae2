import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router';
import { get } from '../api/client.ts';
import { useLive } from '../api/live.ts';
import type { Job, Page } from '../api/types.ts';
import { Empty, ErrorNote, Loading } from '../components/feedback.tsx';
import { duration, Progress, Status, when } from '../components/status.tsx';

interface Summary {
  jobsLastHour: number;
  successRate: number | null;
  meanDurationMs: number | null;
  p95DurationMs: number | null;
  queueDepth: number;
  running: number;
  workers: number;
  hourly: { hour: string; success: number; failed: number; total: number }[];
}

function HourlyChart({ hours }: { hours: Summary['hourly'] }) {
  const max = Math.max(1, ...hours.map((h) => h.total));
  const w = 24;
  return (
    <svg
      className="chart"
      viewBox={`0 0 ${hours.length * w} 100`}
      preserveAspectRatio="none"
      role="img"
      aria-label="jobs per hour, last 24 hours"
    >
      {hours.map((h, i) => {
        const ok = (h.success / max) * 96;
        const bad = (h.failed / max) * 96;
        return (
          <g key={h.hour}>
            <title>{`${new Date(h.hour).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}: ${h.total} jobs, ${h.failed} failed`}</title>
            <rect className="ok" x={i * w + 2} width={w - 4} y={100 - ok} height={ok} />
            <rect className="bad" x={i * w + 2} width={w - 4} y={100 - ok - bad} height={bad} />
          </g>
        );
      })}
    </svg>
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
  return (
    <>
      <h1>Dashboard</h1>
      <ErrorNote error={summary.error} />
      {s ? (
        <div className="grid">
          <div className="stat">
            <b>{s.jobsLastHour}</b>
            <span>jobs in the last hour</span>
          </div>
          <div className="stat">
            <b>{s.successRate === null ? '—' : `${Math.round(s.successRate * 100)}%`}</b>
            <span>success rate (24 h)</span>
          </div>
          <div className="stat">
            <b>{duration(s.meanDurationMs === null ? null : Math.round(s.meanDurationMs))}</b>
            <span>mean duration</span>
          </div>
          <div className="stat">
            <b>{duration(s.p95DurationMs === null ? null : Math.round(s.p95DurationMs))}</b>
            <span>p95 duration</span>
          </div>
          <div className="stat">
            <b>{s.queueDepth}</b>
            <span>queued</span>
          </div>
          <div className="stat">
            <b>{s.running}</b>
            <span>running</span>
          </div>
          <div className="stat">
            <b>{s.workers}</b>
            <span>workers</span>
          </div>
        </div>
      ) : (
        !summary.error && <Loading />
      )}
      {s && (
        <section className="panel">
          <h2>Jobs per hour, last 24 hours</h2>
          <HourlyChart hours={s.hourly} />
        </section>
      )}
      <div className="cols">
        <section className="panel">
          <h2>Running now</h2>
          {running.data?.items.length ? (
            <table>
              <tbody>
                {running.data.items.map((j) => (
                  <tr key={j.id}>
                    <td>
                      <Link to={`/jobs/${j.id}`}>{j.id.slice(0, 8)}</Link>
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
        <section className="panel">
          <h2>Recent failures</h2>
          {failed.data?.items.length ? (
            <ul className="plain">
              {failed.data.items.map((j) => (
                <li key={j.id}>
                  <Link to={`/jobs/${j.id}`}>{j.id.slice(0, 8)}</Link> <Status status={j.status} />{' '}
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
    </>
  );
}
