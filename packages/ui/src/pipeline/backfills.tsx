import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { can } from '../access.ts';
import { api, get, type Role } from '../api/client.ts';
import type { JsonSchema, Page } from '../api/types.ts';
import { Empty, ErrorNote } from '../components/feedback.tsx';
import { type FieldError, SchemaFields, type Value } from '../components/schema-form.tsx';
import { Progress, Status, when } from '../components/status.tsx';

/** The parameters a backfill sets per interval: the form asks for the others. */
const INTERVAL_PARAMS = ['date', 'start', 'end'];

export interface Backfill {
  id: string;
  every: string;
  from: string;
  to: string;
  timezone: string;
  concurrency: number;
  status: string;
  error: string | null;
  createdAt: string;
  progress: {
    total: number;
    waiting: number;
    queued: number;
    running: number;
    succeeded: number;
    failed: number;
    cancelled: number;
  };
}

const withoutIntervalParams = (schema: JsonSchema | null): JsonSchema | null => {
  if (!schema?.properties) return null;
  const properties = Object.fromEntries(
    Object.entries(schema.properties).filter(([k]) => !INTERVAL_PARAMS.includes(k)),
  );
  if (Object.keys(properties).length === 0) return null;
  return {
    ...schema,
    properties,
    required: (schema.required ?? []).filter((k) => !INTERVAL_PARAMS.includes(k)),
  };
};

/** Starts a backfill: a date range, the interval, how many runs at once, and the other parameters. */
export function BackfillForm({
  pipelineId,
  schema,
  onDone,
}: {
  pipelineId: string;
  schema: JsonSchema | null;
  onDone: () => void;
}) {
  const qc = useQueryClient();
  const [form, setForm] = useState({ from: '', to: '', every: 'day', concurrency: 1, timezone: 'UTC' });
  const [params, setParams] = useState<Value>({});
  const [shown, setShown] = useState<FieldError[]>([]);
  const others = withoutIntervalParams(schema);
  const declares = INTERVAL_PARAMS.some((k) => k in (schema?.properties ?? {}));
  const start = useMutation({
    mutationFn: () => api<Backfill>('POST', `/pipelines/${pipelineId}/backfill`, { ...form, params }),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['backfills', pipelineId] });
      onDone();
    },
    onError: (err) => {
      const details = (err as { details?: FieldError[] }).details ?? [];
      setShown(details.map((d) => ({ path: d.path.replace(/^body\.params\.?/, ''), message: d.message })));
    },
  });
  const set = (k: keyof typeof form) => (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) =>
    setForm({ ...form, [k]: k === 'concurrency' ? Number(e.target.value) : e.target.value });
  const hourly = form.every === 'hour';
  return (
    <form
      className="stack"
      aria-label="Backfill"
      onSubmit={(e) => {
        e.preventDefault();
        start.mutate();
      }}
    >
      {!declares && (
        <p className="notice" role="note">
          This pipeline declares none of the parameters <code>date</code>, <code>start</code>,{' '}
          <code>end</code>: a backfill needs one of them to tell its runs apart.
        </p>
      )}
      <div className="row">
        <label>
          From
          <input
            type={hourly ? 'datetime-local' : 'date'}
            required
            value={form.from}
            onChange={set('from')}
            aria-label="From"
          />
        </label>
        <label>
          To (exclusive)
          <input
            type={hourly ? 'datetime-local' : 'date'}
            required
            value={form.to}
            onChange={set('to')}
            aria-label="To"
          />
        </label>
        <label>
          Every
          <select value={form.every} onChange={set('every')} aria-label="Every">
            <option value="hour">hour</option>
            <option value="day">day</option>
            <option value="week">week (from Monday)</option>
            <option value="month">month</option>
          </select>
        </label>
        <label>
          At once
          <input
            type="number"
            min={1}
            max={100}
            value={form.concurrency}
            onChange={set('concurrency')}
            aria-label="Concurrency"
          />
        </label>
        <label>
          Time zone
          <input value={form.timezone} onChange={set('timezone')} aria-label="Time zone" />
        </label>
      </div>
      {others && <SchemaFields schema={others} value={params} onChange={setParams} errors={shown} />}
      <ErrorNote error={start.error} />
      <div className="row">
        <button type="submit" disabled={start.isPending || !declares}>
          {start.isPending ? 'Starting…' : 'Start backfill'}
        </button>
        <button type="button" className="secondary" onClick={onDone}>
          Close
        </button>
      </div>
    </form>
  );
}

/** The pipeline's backfills with their progress; running ones can be cancelled. */
export function BackfillsPanel({ pipelineId, role }: { pipelineId: string; role: Role | undefined }) {
  const qc = useQueryClient();
  const list = useQuery({
    queryKey: ['backfills', pipelineId],
    queryFn: () => get<Page<Backfill>>(`/pipelines/${pipelineId}/backfills?limit=20`),
    // Progress moves as jobs end: polled while a backfill runs, or has jobs still queued or
    // running (a cancelled one's running job takes a moment to stop).
    refetchInterval: (q) =>
      q.state.data?.items.some(
        (b) => b.status === 'running' || b.progress.running > 0 || b.progress.queued > 0,
      )
        ? 2000
        : false,
  });
  const cancel = useMutation({
    mutationFn: (id: string) => api('POST', `/backfills/${id}/cancel`),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['backfills', pipelineId] }),
  });
  const items = list.data?.items ?? [];
  return (
    <section className="panel" aria-labelledby="backfills-heading">
      <h2 id="backfills-heading">Backfills</h2>
      <ErrorNote error={list.error ?? cancel.error} />
      {items.length === 0 ? (
        <Empty>No backfills.</Empty>
      ) : (
        <ul className="schedule-list" aria-label="backfills">
          {items.map((b) => {
            const g = b.progress;
            const finished = g.succeeded + g.failed + g.cancelled;
            return (
              <li key={b.id}>
                <div className="spread">
                  <span>
                    {b.from} → {b.to}{' '}
                    <span className="muted">
                      every {b.every}, {b.concurrency} at once
                    </span>{' '}
                    <Status status={b.status} />
                  </span>
                  {b.status === 'running' && can(role, 'backfills:write') && (
                    <button
                      type="button"
                      className="secondary"
                      onClick={() => cancel.mutate(b.id)}
                      disabled={cancel.isPending}
                    >
                      Cancel
                    </button>
                  )}
                </div>
                <Progress
                  value={g.total ? (finished / g.total) * 100 : 0}
                  label={`backfill ${b.from} progress`}
                />
                <div className="muted">
                  {g.succeeded} succeeded, {g.failed} failed, {g.running} running, {g.queued + g.waiting}{' '}
                  waiting
                  {g.cancelled ? `, ${g.cancelled} cancelled` : ''} of {g.total} · {when(b.createdAt)}
                </div>
                {b.error && <div className="muted">{b.error}</div>}
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
