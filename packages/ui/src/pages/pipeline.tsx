import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { can } from '../access.ts';
import { api, currentSession, get } from '../api/client.ts';
import { useLive } from '../api/live.ts';
import type { Job, Page, Pipeline, PipelineSpec } from '../api/types.ts';
import { Dag } from '../components/dag.tsx';
import { Empty, ErrorNote, Loading } from '../components/feedback.tsx';
import { RunForm } from '../components/run-form.tsx';
import { StepStatePanel } from '../components/step-state.tsx';
import { specDatasetLinks } from '../job/datasets.tsx';
import { BackfillForm, BackfillsPanel } from '../pipeline/backfills.tsx';
import { ParametersTable } from '../pipeline/parameters.tsx';
import { RECENT, RecentJobs } from '../pipeline/recent-jobs.tsx';
import { type Schedule, SchedulesPanel } from '../pipeline/schedules.tsx';
import { SpecPanel } from '../pipeline/spec-panel.tsx';
import { type Version, VersionDiff } from '../pipeline/version-diff.tsx';
import { PipelineLinks, WebhooksPanel } from '../pipeline/webhooks.tsx';

export function stepsOf(spec: PipelineSpec) {
  if (spec.flow) return [{ id: 'main', needs: [], label: 'main (flow)' }];
  return (spec.steps ?? []).map((s) => ({
    id: s.id,
    needs: s.needs ?? [],
    label: `${s.id} · ${s.task ?? (s.flow ?? []).map((c) => c.source ?? c.transform ?? c.sink).join(' → ')}`,
  }));
}

export default function PipelinePage() {
  const { id } = useParams() as { id: string };
  const qc = useQueryClient();
  const navigate = useNavigate();
  const role = currentSession()?.user.role;
  const [running, setRunning] = useState(false);
  const [backfilling, setBackfilling] = useState(false);
  const pipeline = useQuery({ queryKey: ['pipeline', id], queryFn: () => get<Pipeline>(`/pipelines/${id}`) });
  const versions = useQuery({
    queryKey: ['versions', id],
    queryFn: () => get<Page<Version>>(`/pipelines/${id}/versions?limit=50`),
  });
  const jobs = useQuery({
    queryKey: ['jobs', 'pipeline', id],
    queryFn: () => get<Page<Job>>(`/jobs?pipelineId=${id}&limit=${RECENT}`),
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
          {can(role, 'backfills:write') && (
            <button type="button" className="secondary" onClick={() => setBackfilling(true)}>
              Backfill
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
      <PipelineLinks pipelineId={id} />
      <SchedulingLine spec={p.spec} />
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
      {backfilling && (
        <section className="panel" role="dialog" aria-labelledby="backfill-heading">
          <h2 id="backfill-heading">Backfill {p.name}</h2>
          <BackfillForm
            pipelineId={id}
            schema={p.parameters ?? p.spec.parameters ?? null}
            onDone={() => setBackfilling(false)}
          />
        </section>
      )}
      <section className="panel">
        <h2>Steps</h2>
        <Dag steps={stepsOf(p.spec)} links={specDatasetLinks(p.spec)} />
      </section>
      <div className="cols">
        <RecentJobs jobs={jobs.data?.items} total={jobs.data?.total ?? 0} />
        <SchedulesPanel pipelineId={id} schedules={schedules.data?.items} />
      </div>
      <WebhooksPanel pipelineId={id} />
      <BackfillsPanel pipelineId={id} role={role} />
      <ParametersTable schema={p.parameters ?? p.spec.parameters} />
      <SpecPanel
        spec={p.spec}
        version={p.version}
        editHref={can(role, 'pipelines:write') ? `/pipelines/${id}/edit` : null}
      />
      <StepStatePanel pipelineId={id} role={role} />
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

/** The spec's `priority` and `concurrency`, when it sets them (docs/scheduling.md). */
function SchedulingLine({ spec }: { spec: object }) {
  const { priority, concurrency } = spec as { priority?: unknown; concurrency?: unknown };
  const parts = [
    typeof priority === 'number' ? `priority ${priority}` : '',
    typeof concurrency === 'number' ? `at most ${concurrency} job(s) at once` : '',
  ].filter(Boolean);
  return parts.length > 0 ? <p className="muted">{parts.join(' · ')}</p> : null;
}
