import { useQuery } from '@tanstack/react-query';
import { Link, useSearchParams } from 'react-router';
import { get } from '../api/client.ts';
import type { Job, Page, Pipeline } from '../api/types.ts';
import { ErrorNote, Listing } from '../components/feedback.tsx';
import { Pager } from '../components/pager.tsx';
import { PipelineLink } from '../components/pipeline-link.tsx';
import { duration, Status, when } from '../components/status.tsx';

const LIMIT = 50;
const STATUSES = ['queued', 'running', 'success', 'failed', 'cancelled', 'timeout'];
const TRIGGERS = ['manual', 'api', 'scheduled', 'webhook', 'pipeline'];

// Filters live in the URL: a filtered list can be bookmarked and shared.
export function JobsPage() {
  const [params, setParams] = useSearchParams();
  const f = (k: string) => params.get(k) ?? '';
  const offset = Number(params.get('offset') ?? 0);
  const set = (k: string, v: string) => {
    const next = new URLSearchParams(params);
    if (v) next.set(k, v);
    else next.delete(k);
    if (k !== 'offset') next.delete('offset');
    setParams(next);
  };
  const query = new URLSearchParams({ limit: String(LIMIT), offset: String(offset) });
  for (const k of ['status', 'pipelineId', 'triggerType']) if (f(k)) query.set(k, f(k));
  if (f('from')) query.set('from', new Date(f('from')).toISOString());
  if (f('to')) query.set('to', new Date(f('to')).toISOString());
  const jobs = useQuery({
    queryKey: ['jobs', query.toString()],
    queryFn: () => get<Page<Job>>(`/jobs?${query}`),
    refetchInterval: 10_000,
  });
  const pipelines = useQuery({
    queryKey: ['pipelines', 'names'],
    queryFn: () => get<Page<Pipeline>>('/pipelines?limit=500'),
  });
  return (
    <>
      <h1>Jobs</h1>
      <section className="row panel" aria-label="filters">
        <label>
          Status
          <select value={f('status')} onChange={(e) => set('status', e.target.value)}>
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Pipeline
          <select value={f('pipelineId')} onChange={(e) => set('pipelineId', e.target.value)}>
            <option value="">any</option>
            {pipelines.data?.items.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Trigger
          <select value={f('triggerType')} onChange={(e) => set('triggerType', e.target.value)}>
            <option value="">any</option>
            {TRIGGERS.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          From
          <input type="datetime-local" value={f('from')} onChange={(e) => set('from', e.target.value)} />
        </label>
        <label>
          To
          <input type="datetime-local" value={f('to')} onChange={(e) => set('to', e.target.value)} />
        </label>
      </section>
      <ErrorNote error={jobs.error} />
      <Listing query={jobs} empty="No jobs match.">
        {(items) => (
          <table>
            <thead>
              <tr>
                <th>Job</th>
                <th>Pipeline</th>
                <th>Status</th>
                <th>Trigger</th>
                <th>Created</th>
                <th className="num">Duration</th>
                <th>Attempt</th>
              </tr>
            </thead>
            <tbody>
              {items.map((j) => (
                <tr key={j.id}>
                  <td>
                    <Link to={`/jobs/${j.id}`}>{j.id.slice(0, 8)}</Link>
                  </td>
                  <td>
                    <PipelineLink job={j} />
                  </td>
                  <td>
                    <Status status={j.status} />
                  </td>
                  <td>{j.triggerType}</td>
                  <td>{when(j.createdAt)}</td>
                  <td className="num">{duration(j.durationMs)}</td>
                  <td>
                    {j.attempt}/{j.maxAttempts}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Listing>
      {jobs.data && (
        <Pager
          total={jobs.data.total}
          limit={LIMIT}
          offset={offset}
          onOffset={(o) => set('offset', String(o))}
        />
      )}
    </>
  );
}
