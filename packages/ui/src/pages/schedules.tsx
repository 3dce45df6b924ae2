import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { can } from '../access.ts';
import { api, currentSession, get } from '../api/client.ts';
import type { Page, Pipeline } from '../api/types.ts';
import { ErrorNote, Listing } from '../components/feedback.tsx';
import { Status, when } from '../components/status.tsx';

interface Schedule {
  id: string;
  pipelineId: string | null;
  task: string | null;
  name: string;
  cron: string;
  timezone: string;
  paused: boolean;
  missedPolicy: string;
  nextRunAt: string | null;
  nextRuns: string[];
  lastRunAt: string | null;
  parameters: unknown;
}

function parseParameters(text: string): unknown {
  try {
    return JSON.parse(text || '{}');
  } catch (err) {
    throw new Error(`Parameters are not valid JSON: ${(err as Error).message}`);
  }
}

function NewSchedule({
  pipelines,
  initial,
  onDone,
}: {
  pipelines: Pipeline[];
  initial: string;
  onDone: () => void;
}) {
  const [pipelineId, setPipelineId] = useState(initial || pipelines[0]?.id || '');
  const [cron, setCron] = useState('0 6 * * *');
  const [timezone, setTimezone] = useState(Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC');
  const [parameters, setParameters] = useState('{}');
  const [missedPolicy, setMissed] = useState('skip');
  const [created, setCreated] = useState<Schedule | null>(null);
  const create = useMutation({
    mutationFn: () => {
      const params = parseParameters(parameters);
      return api<Schedule>('POST', '/schedules', {
        pipelineId,
        cron,
        timezone,
        parameters: params,
        missedPolicy,
      });
    },
    onSuccess: (s) => {
      setCreated(s);
      onDone();
    },
  });
  return (
    <form
      className="stack"
      aria-label="New schedule"
      onSubmit={(e) => {
        e.preventDefault();
        create.mutate();
      }}
    >
      <label>
        Pipeline
        <select value={pipelineId} onChange={(e) => setPipelineId(e.target.value)} required>
          {pipelines.map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Cron <small>minute hour day month weekday, e.g. “0 6 * * 1-5” (weekdays at 06:00)</small>
        <input value={cron} onChange={(e) => setCron(e.target.value)} required />
      </label>
      <label>
        Time zone <small>IANA name, e.g. Europe/Lisbon</small>
        <input value={timezone} onChange={(e) => setTimezone(e.target.value)} required />
      </label>
      <label>
        Parameters <small>JSON object</small>
        <textarea rows={2} value={parameters} onChange={(e) => setParameters(e.target.value)} />
      </label>
      <label>
        After downtime
        <select value={missedPolicy} onChange={(e) => setMissed(e.target.value)}>
          <option value="skip">skip missed runs</option>
          <option value="run_once">run once</option>
        </select>
      </label>
      <ErrorNote error={create.error} />
      <button type="submit" disabled={create.isPending}>
        Create schedule
      </button>
      {created && (
        <div className="notice" role="status">
          Created. Next runs: {created.nextRuns.map((r) => when(r)).join(', ')}
        </div>
      )}
    </form>
  );
}

/** Re-times a schedule (pipeline or system): cron, time zone, parameters. */
function EditSchedule({ s, onDone }: { s: Schedule & { parameters?: unknown }; onDone: () => void }) {
  const [cron, setCron] = useState(s.cron);
  const [timezone, setTimezone] = useState(s.timezone);
  const [parameters, setParameters] = useState(JSON.stringify(s.parameters ?? {}));
  const save = useMutation({
    mutationFn: () => {
      const params = parseParameters(parameters);
      return api('PUT', `/schedules/${s.id}`, { cron, timezone, parameters: params });
    },
    onSuccess: onDone,
  });
  return (
    <form
      className="row"
      aria-label={`Edit ${s.name}`}
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate();
      }}
    >
      <label>
        Cron
        <input value={cron} onChange={(e) => setCron(e.target.value)} required />
      </label>
      <label>
        Time zone
        <input value={timezone} onChange={(e) => setTimezone(e.target.value)} required />
      </label>
      <label>
        Parameters
        <input value={parameters} onChange={(e) => setParameters(e.target.value)} />
      </label>
      <button type="submit" disabled={save.isPending}>
        Save
      </button>
      <ErrorNote error={save.error} />
    </form>
  );
}

export function SchedulesPage() {
  const qc = useQueryClient();
  const [params] = useSearchParams();
  const pipelineId = params.get('pipelineId') ?? '';
  const role = currentSession()?.user.role;
  const [adding, setAdding] = useState(false);
  const [editing, setEditing] = useState<string | null>(null);
  const list = useQuery({
    queryKey: ['schedules', pipelineId],
    queryFn: () =>
      get<Page<Schedule>>(`/schedules?limit=200${pipelineId ? `&pipelineId=${pipelineId}` : ''}`),
  });
  const pipelines = useQuery({
    queryKey: ['pipelines', 'names'],
    queryFn: () => get<Page<Pipeline>>('/pipelines?limit=500'),
  });
  const names = new Map(pipelines.data?.items.map((p) => [p.id, p.name]));
  const refresh = () => qc.invalidateQueries({ queryKey: ['schedules'] });
  const toggle = useMutation({
    mutationFn: (s: Schedule) => api('POST', `/schedules/${s.id}/${s.paused ? 'resume' : 'pause'}`),
    onSuccess: refresh,
  });
  const remove = useMutation({
    mutationFn: (s: Schedule) => api('DELETE', `/schedules/${s.id}`),
    onSuccess: refresh,
  });
  return (
    <>
      <div className="spread">
        <h1>Schedules</h1>
        {can(role, 'schedules:write') && !adding && (
          <button type="button" onClick={() => setAdding(true)}>
            New schedule
          </button>
        )}
      </div>
      {adding && pipelines.data && (
        <section className="panel">
          <NewSchedule pipelines={pipelines.data.items} initial={pipelineId} onDone={refresh} />
        </section>
      )}
      <ErrorNote error={list.error ?? toggle.error ?? remove.error} />
      <Listing query={list} empty="No schedules.">
        {(items) => (
          <table>
            <thead>
              <tr>
                <th>Pipeline</th>
                <th>Cron</th>
                <th>Time zone</th>
                <th>State</th>
                <th>Next runs</th>
                <th>Last run</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {items.map((s) => (
                <tr key={s.id}>
                  <td>
                    {s.pipelineId ? (
                      <Link to={`/pipelines/${s.pipelineId}`}>{names.get(s.pipelineId) ?? s.name}</Link>
                    ) : (
                      <span title="the platform's own maintenance">{s.name}</span>
                    )}
                  </td>
                  <td>
                    <code>{s.cron}</code>
                  </td>
                  <td>{s.timezone}</td>
                  <td>{s.paused ? <Status status="paused" /> : <Status status="active" />}</td>
                  <td>{s.paused ? '—' : s.nextRuns.slice(0, 3).map(when).join(', ')}</td>
                  <td>{when(s.lastRunAt)}</td>
                  <td className="row">
                    {can(role, 'schedules:pause') && (
                      <button type="button" className="secondary" onClick={() => toggle.mutate(s)}>
                        {s.paused ? 'Resume' : 'Pause'}
                      </button>
                    )}
                    {can(role, 'schedules:write') && (
                      <button
                        type="button"
                        className="secondary"
                        onClick={() => setEditing(editing === s.id ? null : s.id)}
                      >
                        Edit
                      </button>
                    )}
                    {can(role, 'schedules:write') && !s.task && (
                      <button
                        type="button"
                        className="danger"
                        onClick={() => confirm('Delete this schedule?') && remove.mutate(s)}
                      >
                        Delete
                      </button>
                    )}
                    {editing === s.id && (
                      <EditSchedule
                        s={s}
                        onDone={() => {
                          setEditing(null);
                          void refresh();
                        }}
                      />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Listing>
    </>
  );
}
