import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { can } from '../access.ts';
import { api, currentSession, download, get } from '../api/client.ts';
import { useLive } from '../api/live.ts';
import type { Job, ReplayCounts, Step } from '../api/types.ts';
import { Dag } from '../components/dag.tsx';
import { ErrorNote, Loading } from '../components/feedback.tsx';
import { jobTitle, PipelineLink } from '../components/pipeline-link.tsx';
import { count, duration, Progress, Status, when } from '../components/status.tsx';
import { useDocumentTitle } from '../components/title.ts';
import { type Dataset, DatasetsPanel, datasetLinks } from '../job/datasets.tsx';
import { JobLogs } from '../job/logs.tsx';
import { PartitionsTable } from '../job/partitions.tsx';
import { RunProfile } from '../job/profile.tsx';
import { QuarantineTable } from '../job/quarantine.tsx';
import { SchemaNote } from '../job/schema-note.tsx';
import { StreamNote } from '../job/stream-note.tsx';
import { Timeline } from '../job/timeline.tsx';
import { usePartitions } from '../job/use-partitions.ts';

interface Artifact {
  name: string;
  kind: string;
  stepId: string | null;
  size: number;
  sha256: string | null;
}

const FINISHED = ['success', 'failed', 'cancelled', 'timeout'];

export default function JobPage() {
  const { id } = useParams() as { id: string };
  const qc = useQueryClient();
  const navigate = useNavigate();
  const role = currentSession()?.user.role;
  // Live messages move the page; a slow poll until the job ends covers any the socket missed.
  const job = useQuery({
    queryKey: ['job', id],
    queryFn: () => get<Job>(`/jobs/${id}`),
    refetchInterval: (q) => (q.state.data && FINISHED.includes(q.state.data.status) ? false : 5000),
  });
  const steps = useQuery({
    queryKey: ['steps', id],
    queryFn: () => get<{ items: Step[] }>(`/jobs/${id}/steps`),
  });
  const partitions = usePartitions(id);
  // A part that quarantined rows keeps them as an artifact when it ends: asked again then.
  const artifacts = useQuery({
    queryKey: ['artifacts', id, job.data?.status, partitions.ended],
    queryFn: () => get<{ items: Artifact[] }>(`/jobs/${id}/artifacts`),
    // The list shown stays while the next loads: a quarantine table below keeps its page.
    placeholderData: keepPreviousData,
  });
  // Stored as each writing step succeeds: asked again when a step's status changes.
  const succeeded = (steps.data?.items ?? []).filter((s) => s.status === 'success').length;
  const datasets = useQuery({
    queryKey: ['datasets', id, job.data?.status, succeeded],
    queryFn: () => get<{ items: Dataset[] }>(`/jobs/${id}/datasets`),
  });
  const links = useMemo(() => datasetLinks(datasets.data?.items ?? []), [datasets.data]);
  const refresh = () => {
    void qc.invalidateQueries({ queryKey: ['steps', id] });
    void qc.invalidateQueries({ queryKey: ['job', id] });
    partitions.refresh();
  };
  useLive(
    `job:${id}`,
    (m) => {
      if (m.type === 'log') return;
      // A part's events move its own row only: the step's row has events of its own (the parts'
      // sum, sent by the worker waiting for them), so the steps need not be fetched for each.
      if (m.payload.partition !== undefined) return partitions.refresh();
      void qc.invalidateQueries({ queryKey: ['steps', id] });
      if (m.type !== 'progress') void qc.invalidateQueries({ queryKey: ['job', id] });
    },
    refresh,
  );
  const cancel = useMutation({
    mutationFn: () => api<Job>('POST', `/jobs/${id}/cancel`),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['job', id] }),
  });
  // A retry queues the same job again (a new attempt); the page follows it live.
  const retry = useMutation({
    mutationFn: () => api<{ jobId: string }>('POST', `/jobs/${id}/retry`, { fromFailedStep: true }),
    onSuccess: (r) => {
      if (r.jobId !== id) void navigate(`/jobs/${r.jobId}`);
      void qc.invalidateQueries({ queryKey: ['job', id] });
      void qc.invalidateQueries({ queryKey: ['steps', id] });
      void qc.invalidateQueries({ queryKey: ['partitions', id] });
    },
  });

  // A replay is a new job (replayOf this one, or the job this one replays): the page moves to it.
  const replay = useMutation({
    mutationFn: () =>
      api<{ jobId: string }>('POST', `/jobs/${id}/quarantine/replay`, { triggerType: 'manual' }),
    onSuccess: (r) => void navigate(`/jobs/${r.jobId}`),
  });

  useDocumentTitle(job.data ? jobTitle(job.data) : undefined);

  if (job.error) return <ErrorNote error={job.error} />;
  if (!job.data) return <Loading />;
  const j = job.data;
  const list = steps.data?.items ?? [];
  const done = FINISHED.includes(j.status);
  // A step's own quarantine only: a partitioned step's parts keep one each, which its
  // partitions table offers (the step's quarantine table reads `<step>.quarantine.ndjson` alone).
  const quarantines = (artifacts.data?.items ?? []).flatMap((a) =>
    a.kind === 'quarantine' && a.stepId && a.name === `${a.stepId}.quarantine.ndjson`
      ? [{ ...a, stepId: a.stepId }]
      : [],
  );
  const artifactNames = new Set((artifacts.data?.items ?? []).map((a) => a.name));
  const replayable = list.some((s) => s.kind === 'flow' && s.status === 'success' && s.rowsQuarantined > 0);
  return (
    <>
      <div className="spread">
        <h1 title={`job ${j.id}`}>
          {j.pipelineName ?? j.pipelineId.slice(0, 8)} · job {j.id.slice(0, 8)} · <Status status={j.status} />
        </h1>
        <div className="row">
          {!done && can(role, 'jobs:cancel') && (
            <button
              type="button"
              className="danger"
              onClick={() => cancel.mutate()}
              disabled={cancel.isPending}
            >
              Cancel
            </button>
          )}
          {done && j.status !== 'success' && can(role, 'jobs:retry') && (
            <button type="button" onClick={() => retry.mutate()} disabled={retry.isPending}>
              Retry from failed step
            </button>
          )}
          {done && replayable && can(role, 'jobs:replay') && (
            <button
              type="button"
              onClick={() => replay.mutate()}
              disabled={replay.isPending}
              title="Re-run the quarantined rows through the pipeline's current version, into the same sinks"
            >
              Replay quarantine
            </button>
          )}
        </div>
      </div>
      <ErrorNote error={cancel.error ?? retry.error ?? replay.error} />
      <section className="panel">
        <dl className="kv">
          <dt>Pipeline</dt>
          <dd>
            <PipelineLink job={j} />
          </dd>
          {j.replayOf && (
            <>
              <dt>Replay of</dt>
              <dd>
                <Link to={`/jobs/${j.replayOf}`}>job {j.replayOf.slice(0, 8)}</Link>: its quarantined rows,
                through this version
              </dd>
            </>
          )}
          <dt>Trigger</dt>
          <dd>
            {j.triggerType}
            {j.triggeredBy ? ` by ${j.triggeredBy}` : ''}
          </dd>
          <dt>Parameters</dt>
          <dd>
            <code>{JSON.stringify(j.parameters)}</code>
          </dd>
          <dt>Priority</dt>
          <dd>
            {j.priority ?? 0}
            {j.runsOn?.length ? `; needs a worker with tags [${j.runsOn.join(', ')}]` : ''}
          </dd>
          {j.status === 'queued' && j.waitingFor && (
            <>
              <dt>Waiting for</dt>
              <dd role="status">{j.waitingFor}</dd>
            </>
          )}
          <dt>Started</dt>
          <dd>{when(j.startedAt)}</dd>
          <dt>Duration</dt>
          <dd>{duration(j.durationMs)}</dd>
          <dt>Attempt</dt>
          <dd>
            {j.attempt} of {j.maxAttempts}
            {j.workerId ? ` on ${j.workerId}` : ''}
          </dd>
          {j.traceId && (
            <>
              <dt>Trace</dt>
              <dd>
                <code>{j.traceId}</code>
              </dd>
            </>
          )}
          {j.error && (
            <>
              <dt>Error</dt>
              <dd className="error">{j.error.message}</dd>
            </>
          )}
          {j.integrity && (
            <>
              <dt>Integrity</dt>
              <dd>
                <section aria-label="integrity report">
                  {j.integrity.ok ? <Status status="success" /> : <Status status="failed" />}{' '}
                  {j.integrity.verified && (
                    <span
                      className={`status verify-${j.integrity.verified}`}
                      title={
                        j.integrity.verified === 'content'
                          ? 'every sink read back what it wrote and compared checksums'
                          : "sinks compared the destination's acknowledged row counts (verify: content reads rows back)"
                      }
                    >
                      {j.integrity.verified === 'content' ? 'content verified' : 'counts verified'}
                    </span>
                  )}{' '}
                  {j.integrity.ok
                    ? 'every flow balances: rows read = written + filtered + quarantined'
                    : Array.isArray(j.integrity.problems) && j.integrity.problems.length > 0
                      ? 'problems found'
                      : `not proven: ${Array.isArray(j.integrity.unchecked) ? j.integrity.unchecked.join(', ') : 'a step'} did not finish`}
                  <DatasetBalances datasets={j.integrity.datasets as DatasetBalance[] | undefined} />
                  {Array.isArray(j.integrity.problems) && j.integrity.problems.length > 0 && (
                    <ul>
                      {(j.integrity.problems as string[]).map((p) => (
                        <li key={p}>{p}</li>
                      ))}
                    </ul>
                  )}
                </section>
              </dd>
            </>
          )}
        </dl>
      </section>
      <div className="cols">
        <section className="panel">
          <h2>Steps</h2>
          <Dag
            steps={list.map((s) => ({
              id: s.stepId,
              needs: s.needs,
              status: s.status,
              label: `${s.stepId} · ${s.status}`,
            }))}
            links={links}
          />
        </section>
        <section className="panel">
          <h2>Timeline</h2>
          <Timeline steps={list} />
        </section>
      </div>
      <section className="panel">
        <div className="table-wrap">
          <table aria-label="steps">
            <thead>
              <tr>
                <th>Step</th>
                <th>Status</th>
                <th>Progress</th>
                <th className="num">Read</th>
                <th className="num">Written</th>
                <th className="num">Filtered</th>
                <th className="num">Quarantined</th>
                <th className="num">Duration</th>
              </tr>
            </thead>
            <tbody>
              {list.map((s) => (
                <tr key={s.stepId}>
                  <td>
                    {s.stepId}
                    {s.error && <div className="field-error">{s.error.message}</div>}
                    <ReplayNote replay={s.report?.replay as ReplayCounts | undefined} />
                    <SchemaNote report={s.report} />
                    <StreamNote step={s} />
                  </td>
                  <td>
                    <Status status={s.status} />
                    {s.attempt > 1 ? ` (attempt ${s.attempt})` : ''}
                  </td>
                  <td>
                    <Progress
                      value={s.status === 'success' ? 100 : s.progress}
                      label={`${s.stepId} progress`}
                    />
                  </td>
                  <td className="num">{count(s.rowsRead)}</td>
                  <td className="num">{count(s.rowsWritten)}</td>
                  <td className="num">{count(s.rowsFiltered)}</td>
                  <td className="num">{count(s.rowsQuarantined)}</td>
                  <td className="num">{duration(s.durationMs)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
      {[...partitions.byStep].map(([stepId, items]) => (
        <section className="panel" key={stepId}>
          <h2>Partitions of {stepId}</h2>
          <PartitionsTable jobId={id} stepId={stepId} partitions={items} artifacts={artifactNames} />
        </section>
      ))}
      <section className="panel">
        <h2>Where the time went</h2>
        <RunProfile steps={list} />
      </section>
      <section className="panel">
        <h2>Log</h2>
        <JobLogs jobId={id} steps={list.map((s) => s.stepId)} />
      </section>
      {(datasets.data?.items.length ?? 0) > 0 && (
        <section className="panel">
          <h2>Datasets</h2>
          <DatasetsPanel jobId={id} datasets={datasets.data!.items} />
        </section>
      )}
      {quarantines.map((q) => (
        <section className="panel" key={q.name}>
          <h2>Quarantined rows of {q.stepId}</h2>
          <QuarantineTable jobId={id} stepId={q.stepId} artifact={q.name} />
        </section>
      ))}
      <section className="panel">
        <h2>Artifacts</h2>
        <ul>
          {(artifacts.data?.items ?? []).map((a) => (
            <li key={a.name}>
              <button
                type="button"
                className="link"
                onClick={() => void download(`/jobs/${id}/artifacts/${encodeURIComponent(a.name)}`, a.name)}
              >
                {a.name}
              </button>{' '}
              <span className="muted">
                {a.kind}, {count(a.size)} bytes
                {a.sha256 && (
                  <>
                    , SHA-256 <code title={a.sha256}>{a.sha256.slice(0, 12)}…</code>
                  </>
                )}
              </span>
            </li>
          ))}
        </ul>
      </section>
    </>
  );
}

/** A dataset as the job's integrity balanced it across its writer and readers. */
interface DatasetBalance {
  name: string;
  writer: string;
  rowsWritten: number;
  readers: { step: string; rowsRead: number }[];
}

/** Each dataset's rows as written and as read, one line per dataset. */
function DatasetBalances({ datasets }: { datasets: DatasetBalance[] | undefined }) {
  if (!Array.isArray(datasets) || datasets.length === 0) return null;
  return (
    <ul aria-label="datasets balance">
      {datasets.map((d) => (
        <li key={d.name}>
          dataset {d.name}: {count(d.rowsWritten)} written by {d.writer}
          {d.readers.map((r) => `, ${count(r.rowsRead)} read by ${r.step}`).join('')}
        </li>
      ))}
    </ul>
  );
}

/** What a replay made of a step's quarantined rows. */
function ReplayNote({ replay }: { replay: ReplayCounts | undefined }) {
  if (!replay) return null;
  return (
    <div className="muted">
      replayed {count(replay.taken)} quarantined rows: {count(replay.written)} written,{' '}
      {count(replay.filtered)} filtered, {count(replay.quarantined)} quarantined again
      {replay.notReplayable > 0 ? ` (${count(replay.notReplayable)} could not be tried)` : ''}
    </div>
  );
}
