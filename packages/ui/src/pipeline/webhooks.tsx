import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { Link } from 'react-router';
import { can } from '../access.ts';
import { api, currentSession, get } from '../api/client.ts';
import type { Page } from '../api/types.ts';
import { Empty, ErrorNote } from '../components/feedback.tsx';
import { when } from '../components/status.tsx';

// Outbound webhooks: URLs told when jobs end (docs/webhooks.md). A pipeline's on its page; the
// global ones (pipelineId null) on the Alerts page.

const EVENTS = ['success', 'failure', 'end'] as const;
type HookEvent = (typeof EVENTS)[number];

export interface Hook {
  id: string;
  pipelineId: string | null;
  url: string;
  events: HookEvent[];
  hasSecret: boolean;
  enabled: boolean;
  secret?: string;
}

interface Delivery {
  id: string;
  deliveryId: string;
  jobId: string;
  event: string;
  attempt: number;
  ok: boolean;
  httpStatus: number | null;
  error: string | null;
  durationMs: number;
  at: string;
}

function Deliveries({ hookId }: { hookId: string }) {
  const q = useQuery({
    queryKey: ['webhook-deliveries', hookId],
    queryFn: () => get<Page<Delivery>>(`/webhooks/${hookId}/deliveries?limit=10`),
    refetchInterval: 5000,
  });
  if (q.error) return <ErrorNote error={q.error} />;
  if (!q.data?.items.length) return <p className="muted">No deliveries yet.</p>;
  return (
    <table aria-label="deliveries">
      <thead>
        <tr>
          <th>When</th>
          <th>Job</th>
          <th>Event</th>
          <th>Attempt</th>
          <th>Result</th>
          <th>Time</th>
        </tr>
      </thead>
      <tbody>
        {q.data.items.map((d) => (
          <tr key={d.id}>
            <td>{when(d.at)}</td>
            <td>
              <Link to={`/jobs/${d.jobId}`}>{d.jobId.slice(0, 8)}</Link>
            </td>
            <td>{d.event}</td>
            <td>{d.attempt}</td>
            <td className={d.ok ? 'ok' : 'bad'} title={d.error ?? ''}>
              {d.ok ? `delivered (${d.httpStatus})` : `failed: ${d.error ?? d.httpStatus}`}
            </td>
            <td>{d.durationMs} ms</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function AddHook({ pipelineId, onDone }: { pipelineId: string | null; onDone: (h: Hook) => void }) {
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<HookEvent[]>(['failure']);
  const [secret, setSecret] = useState<'none' | 'generate' | 'own'>('generate');
  const [own, setOwn] = useState('');
  const add = useMutation({
    mutationFn: () =>
      api<Hook>('POST', pipelineId ? `/pipelines/${pipelineId}/webhooks` : '/webhooks', {
        url,
        events,
        ...(secret === 'generate' ? { generateSecret: true } : secret === 'own' ? { secret: own } : {}),
      }),
    onSuccess: (h) => {
      setUrl('');
      setOwn('');
      onDone(h);
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    add.mutate();
  };
  return (
    <form onSubmit={submit} aria-label="add webhook" className="stack">
      <label>
        URL <input type="url" required value={url} onChange={(e) => setUrl(e.target.value)} />
      </label>
      <fieldset>
        <legend>Call on</legend>
        {EVENTS.map((ev) => (
          <label key={ev}>
            <input
              type="checkbox"
              checked={events.includes(ev)}
              onChange={(e) => setEvents(e.target.checked ? [...events, ev] : events.filter((x) => x !== ev))}
            />{' '}
            {ev}
          </label>
        ))}
      </fieldset>
      <label>
        Signature secret{' '}
        <select value={secret} onChange={(e) => setSecret(e.target.value as typeof secret)}>
          <option value="generate">generate one (shown once)</option>
          <option value="own">my own</option>
          <option value="none">none (unsigned)</option>
        </select>
      </label>
      {secret === 'own' && (
        <label>
          Secret (16+ characters){' '}
          <input
            type="password"
            minLength={16}
            required
            value={own}
            onChange={(e) => setOwn(e.target.value)}
          />
        </label>
      )}
      <ErrorNote error={add.error} />
      <button type="submit" disabled={events.length === 0 || add.isPending}>
        Add webhook
      </button>
    </form>
  );
}

/** The webhooks of a pipeline, or (`pipelineId` null) the global ones, with their recent deliveries. */
export function WebhooksPanel({ pipelineId }: { pipelineId: string | null }) {
  const qc = useQueryClient();
  const writer = can(currentSession()?.user.role, 'webhooks:write');
  const key = ['webhooks', pipelineId ?? 'global'];
  const [adding, setAdding] = useState(false);
  const [secret, setSecret] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const hooks = useQuery({
    queryKey: key,
    queryFn: () =>
      get<Page<Hook>>(pipelineId ? `/pipelines/${pipelineId}/webhooks?limit=100` : '/webhooks?limit=100'),
  });
  const refresh = () => void qc.invalidateQueries({ queryKey: key });
  const toggle = useMutation({
    mutationFn: (h: Hook) => api('PATCH', `/webhooks/${h.id}`, { enabled: !h.enabled }),
    onSuccess: refresh,
  });
  const remove = useMutation({
    mutationFn: (id: string) => api('DELETE', `/webhooks/${id}`),
    onSuccess: refresh,
  });
  return (
    <section className="panel" aria-labelledby={`webhooks-${pipelineId ?? 'global'}`}>
      <div className="spread">
        <h2 id={`webhooks-${pipelineId ?? 'global'}`}>{pipelineId ? 'Webhooks' : 'Global webhooks'}</h2>
        {writer && (
          <button type="button" className="secondary" onClick={() => setAdding(!adding)}>
            {adding ? 'Close' : 'Add webhook'}
          </button>
        )}
      </div>
      <p className="muted">
        A POST with the job's summary when {pipelineId ? "this pipeline's" : 'any'} job ends, signed in
        X-Sluice-Signature when a secret is set.
      </p>
      {adding && (
        <AddHook
          pipelineId={pipelineId}
          onDone={(h) => {
            setAdding(false);
            setSecret(h.secret ?? null);
            refresh();
          }}
        />
      )}
      {secret && (
        <div className="notice" role="status">
          Signature secret (shown once): <code>{secret}</code>
        </div>
      )}
      <ErrorNote error={hooks.error ?? toggle.error ?? remove.error} />
      {hooks.data?.items.length ? (
        <ul className="webhook-list" aria-label="webhooks">
          {hooks.data.items.map((h) => (
            <li key={h.id}>
              <div className="spread">
                <span>
                  <code>{h.url}</code> <span className="muted">on {h.events.join(', ')}</span>
                  {h.hasSecret && <span className="muted"> · signed</span>}
                  {!h.enabled && <span className="muted"> · disabled</span>}
                </span>
                <span className="row">
                  <button
                    type="button"
                    className="secondary"
                    onClick={() => setOpen(open === h.id ? null : h.id)}
                  >
                    {open === h.id ? 'Hide deliveries' : 'Deliveries'}
                  </button>
                  {writer && (
                    <>
                      <button type="button" className="secondary" onClick={() => toggle.mutate(h)}>
                        {h.enabled ? 'Disable' : 'Enable'}
                      </button>
                      <button
                        type="button"
                        className="danger"
                        onClick={() => {
                          if (confirm(`Delete the webhook to ${h.url}?`)) remove.mutate(h.id);
                        }}
                      >
                        Delete
                      </button>
                    </>
                  )}
                </span>
              </div>
              {open === h.id && <Deliveries hookId={h.id} />}
            </li>
          ))}
        </ul>
      ) : (
        <Empty>No webhooks.</Empty>
      )}
    </section>
  );
}

interface PipelineLink {
  name: string;
  pipelineId: string | null;
  /** An update of this dataset of the pipeline (`onDatasetUpdate`), not any success of it. */
  dataset?: string;
}

const links = (ls: PipelineLink[]) =>
  ls.map((l, i) => (
    <span key={`${l.name}/${l.dataset ?? ''}`}>
      {i > 0 && ', '}
      {l.pipelineId ? (
        <Link to={`/pipelines/${l.pipelineId}`}>{l.name}</Link>
      ) : (
        <span>{l.name} (no such pipeline yet)</span>
      )}
      {l.dataset && <span className="muted"> (dataset {l.dataset} updated)</span>}
    </span>
  ));

/** "Runs after: a, b" and "Triggers: c": the pipeline's `triggers.onSuccessOf` and `onDatasetUpdate`, both ways. */
export function PipelineLinks({ pipelineId }: { pipelineId: string }) {
  const q = useQuery({
    queryKey: ['pipeline-links', pipelineId],
    queryFn: () =>
      get<{ runsAfter: PipelineLink[]; triggers: PipelineLink[] }>(`/pipelines/${pipelineId}/dependencies`),
  });
  if (!q.data || (q.data.runsAfter.length === 0 && q.data.triggers.length === 0)) return null;
  return (
    <p className="pipeline-links">
      {q.data.runsAfter.length > 0 && <span>Runs after: {links(q.data.runsAfter)}. </span>}
      {q.data.triggers.length > 0 && <span>Triggers: {links(q.data.triggers)}.</span>}
    </p>
  );
}
