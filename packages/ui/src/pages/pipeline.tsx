import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { diffLines } from 'diff';
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { stringify } from 'yaml';
import { can } from '../access.ts';
import { api, currentSession, get } from '../api/client.ts';
import { useLive } from '../api/live.ts';
import type { Job, Page, Pipeline, PipelineSpec } from '../api/types.ts';
import { Dag } from '../components/dag.tsx';
import { Empty, ErrorNote, Loading } from '../components/feedback.tsx';
import { RunForm } from '../components/run-form.tsx';
import { duration, Status, when } from '../components/status.tsx';
import { StepStatePanel } from '../components/step-state.tsx';

interface Version {
  version: number;
  spec: PipelineSpec;
  createdBy: string | null;
  createdAt: string;
}
interface Schedule {
  id: string;
  name: string;
  cron: string;
  timezone: string;
  paused: boolean;
  nextRunAt: string | null;
}

export function stepsOf(spec: PipelineSpec) {
  if (spec.flow) return [{ id: 'main', needs: [], label: 'main (flow)' }];
  return (spec.steps ?? []).map((s) => ({
    id: s.id,
    needs: s.needs ?? [],
    label: `${s.id} · ${s.task ?? (s.flow ?? []).map((c) => c.source ?? c.transform ?? c.sink).join(' → ')}`,
  }));
}

function VersionDiff({ versions }: { versions: Version[] }) {
  const [a, setA] = useState(versions[1]?.version ?? versions[0]!.version);
  const [b, setB] = useState(versions[0]!.version);
  const text = (v: number) => stringify(versions.find((x) => x.version === v)?.spec ?? {});
  const pick = (label: string, value: number, set: (v: number) => void) => (
    <label className="inline">
      {label}
      <select value={value} onChange={(e) => set(Number(e.target.value))}>
        {versions.map((v) => (
          <option key={v.version} value={v.version}>
            v{v.version} — {when(v.createdAt)}
            {v.createdBy ? ` by ${v.createdBy}` : ''}
          </option>
        ))}
      </select>
    </label>
  );
  return (
    <>
      <div className="row">
        {pick('From', a, setA)}
        {pick('To', b, setB)}
      </div>
      <section className="diff panel" aria-label={`changes from v${a} to v${b}`}>
        {diffLines(text(a), text(b)).map((part, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: diff parts are positional and recomputed as a whole
          <pre key={i} className={part.added ? 'add' : part.removed ? 'del' : ''}>
            {part.value
              .replace(/\n$/, '')
              .split('\n')
              .map((l) => `${part.added ? '+' : part.removed ? '-' : ' '} ${l}`)
              .join('\n')}
          </pre>
        ))}
      </section>
    </>
  );
}

export default function PipelinePage() {
  const { id } = useParams() as { id: string };
  const qc = useQueryClient();
  const navigate = useNavigate();
  const role = currentSession()?.user.role;
  const [running, setRunning] = useState(false);
  const pipeline = useQuery({ queryKey: ['pipeline', id], queryFn: () => get<Pipeline>(`/pipelines/${id}`) });
  const versions = useQuery({
    queryKey: ['versions', id],
    queryFn: () => get<Page<Version>>(`/pipelines/${id}/versions?limit=50`),
  });
  const jobs = useQuery({
    queryKey: ['jobs', 'pipeline', id],
    queryFn: () => get<Page<Job>>(`/jobs?pipelineId=${id}&limit=10`),
  });
  const schedules = useQuery({
    queryKey: ['schedules', id],
    queryFn: () => get<Page<Schedule>>(`/schedules?pipelineId=${id}`),
  });
  const [hook, setHook] = useState<{ secret: string; path: string } | null>(null);
  const remove = useMutation({
    mutationFn: () => api('DELETE', `/pipelines/${id}`),
    onSuccess: () => navigate('/pipelines'),
  });
  const webhook = useMutation({
    mutationFn: () => api<{ secret: string; path: string }>('POST', `/pipelines/${id}/webhook`),
    onSuccess: setHook,
  });
  useLive(`pipeline:${id}`, () => void qc.invalidateQueries({ queryKey: ['jobs', 'pipeline', id] }));

  if (pipeline.error) return <ErrorNote error={pipeline.error} />;
  if (!pipeline.data) return <Loading />;
  const p = pipeline.data;
  return (
    <>
      <div className="spread">
        <h1>
          {p.name} <small className="muted">v{p.version}</small>
        </h1>
        <div className="row">
          {can(role, 'pipelines:execute') && (
            <button type="button" onClick={() => setRunning(true)}>
              Run
            </button>
          )}
          {can(role, 'pipelines:write') && (
            <>
              <Link className="button secondary" to={`/pipelines/${id}/edit`}>
                Edit
              </Link>
              <button type="button" className="secondary" onClick={() => webhook.mutate()}>
                Webhook secret
              </button>
              <button
                type="button"
                className="danger"
                onClick={() => {
                  if (confirm(`Delete pipeline ${p.name}? Its jobs are kept.`)) remove.mutate();
                }}
              >
                Delete
              </button>
            </>
          )}
        </div>
      </div>
      {p.description && <p>{p.description}</p>}
      <ErrorNote error={remove.error ?? webhook.error} />
      {hook && (
        <div className="notice" role="status">
          Webhook: <code>POST {hook.path}</code> with header{' '}
          <code>X-Sluice-Signature: sha256=&lt;HMAC-SHA256 of the body&gt;</code>. Secret (shown once):{' '}
          <code>{hook.secret}</code>
        </div>
      )}
      {running && (
        <section className="panel">
          <h2>Run {p.name}</h2>
          <RunForm pipelineId={id} schema={p.parameters} onDone={() => setRunning(false)} />
        </section>
      )}
      <section className="panel">
        <h2>Steps</h2>
        <Dag steps={stepsOf(p.spec)} />
      </section>
      <StepStatePanel pipelineId={id} role={role} />
      <div className="cols">
        <section className="panel">
          <h2>Recent runs</h2>
          {jobs.data?.items.length ? (
            <table>
              <tbody>
                {jobs.data.items.map((j) => (
                  <tr key={j.id}>
                    <td>
                      <Link to={`/jobs/${j.id}`}>{j.id.slice(0, 8)}</Link>
                    </td>
                    <td>
                      <Status status={j.status} />
                    </td>
                    <td>{j.triggerType}</td>
                    <td>{when(j.createdAt)}</td>
                    <td className="num">{duration(j.durationMs)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <Empty>No runs yet.</Empty>
          )}
        </section>
        <section className="panel">
          <h2>Schedules</h2>
          {schedules.data?.items.length ? (
            <ul>
              {schedules.data.items.map((s) => (
                <li key={s.id}>
                  <code>{s.cron}</code> ({s.timezone}){' '}
                  {s.paused ? <Status status="paused" /> : <>next {when(s.nextRunAt)}</>}
                </li>
              ))}
            </ul>
          ) : (
            <Empty>Not scheduled.</Empty>
          )}
          <Link to={`/schedules?pipelineId=${id}`}>Manage schedules</Link>
        </section>
      </div>
      <section className="panel">
        <h2>Versions</h2>
        {versions.data && versions.data.items.length > 1 ? (
          <VersionDiff versions={versions.data.items} />
        ) : (
          <Empty>Only one version so far.</Empty>
        )}
      </section>
    </>
  );
}
