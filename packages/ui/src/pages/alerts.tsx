import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { can } from '../access.ts';
import { api, currentSession, get } from '../api/client.ts';
import type { Page, Pipeline } from '../api/types.ts';
import { Empty, ErrorNote, Loading } from '../components/feedback.tsx';
import { Status, when } from '../components/status.tsx';
import { WebhooksPanel } from '../pipeline/webhooks.tsx';
import type { Delivery } from './alert-channels.tsx';
import { type Condition, type Rule, RuleForm, THRESHOLDS } from './alert-rule-form.tsx';

interface AlertEvent {
  id: string;
  ruleId: string;
  ruleName: string;
  status: string;
  severity: string;
  message: string;
  pipelineId: string | null;
  pipelineName: string | null;
  jobId: string | null;
  firedAt: string;
  resolvedAt: string | null;
  deliveries: Delivery[];
}

export function describeCondition(c: Condition): string {
  const t = (THRESHOLDS[c.type] ?? []).filter(([k]) => c[k] !== undefined).map(([k]) => `${k} ${c[k]}`);
  return t.length ? `${c.type} (${t.join(', ')})` : c.type;
}

function deliveriesText(ds: Delivery[]): string {
  if (ds.length === 0) return '—';
  const ok = ds.filter((d) => d.ok).length;
  return `${ok}/${ds.length} ok`;
}

export function AlertsPage() {
  const qc = useQueryClient();
  const role = currentSession()?.user.role;
  const admin = can(role, 'alerts:write');
  const [editing, setEditing] = useState<Rule | 'new' | null>(null);
  const [status, setStatus] = useState('');
  const [tested, setTested] = useState<string | null>(null);
  const rules = useQuery({
    queryKey: ['alert-rules'],
    queryFn: () => get<Page<Rule>>('/alerts/rules?limit=500'),
  });
  const events = useQuery({
    queryKey: ['alert-events', status],
    queryFn: () => get<Page<AlertEvent>>(`/alerts/events?limit=100${status ? `&status=${status}` : ''}`),
    refetchInterval: 15_000,
  });
  const pipelines = useQuery({
    queryKey: ['pipelines', 'names'],
    queryFn: () => get<Page<Pipeline>>('/pipelines?limit=500'),
  });
  const names = new Map(pipelines.data?.items.map((p) => [p.id, p.name]));
  const refresh = () => {
    setEditing(null);
    void qc.invalidateQueries({ queryKey: ['alert-rules'] });
    void qc.invalidateQueries({ queryKey: ['alert-events'] });
  };
  const toggle = useMutation({
    mutationFn: (r: Rule) => api('PUT', `/alerts/rules/${r.id}`, { enabled: !r.enabled }),
    onSuccess: refresh,
  });
  const remove = useMutation({
    mutationFn: (r: Rule) => api('DELETE', `/alerts/rules/${r.id}`),
    onSuccess: refresh,
  });
  const test = useMutation({
    mutationFn: (r: Rule) => api<{ deliveries: Delivery[] }>('POST', `/alerts/rules/${r.id}/test`),
    onSuccess: (res, r) =>
      setTested(
        `${r.name}: ${
          res.deliveries
            .map(
              (d) => `${d.type} ${d.target} ${d.ok ? 'ok' : `failed after ${d.attempts} tries: ${d.error}`}`,
            )
            .join('; ') || 'no channels'
        }`,
      ),
  });
  return (
    <>
      <div className="spread">
        <h1>Alerts</h1>
        {admin && editing === null && (
          <button type="button" onClick={() => setEditing('new')}>
            New rule
          </button>
        )}
      </div>
      {editing !== null && pipelines.data && (
        <section className="panel">
          <RuleForm
            key={editing === 'new' ? 'new' : editing.id}
            rule={editing === 'new' ? null : editing}
            pipelines={pipelines.data.items}
            onDone={refresh}
          />
          <button type="button" className="secondary" onClick={() => setEditing(null)}>
            Cancel
          </button>
        </section>
      )}
      <h2>Rules</h2>
      <ErrorNote error={rules.error ?? toggle.error ?? remove.error ?? test.error} />
      {tested && (
        <div className="notice" role="status">
          Test sent — {tested}
        </div>
      )}
      {rules.isLoading && <Loading />}
      {rules.data &&
        (rules.data.items.length === 0 ? (
          <Empty>No alert rules.</Empty>
        ) : (
          <div className="table-wrap">
            <table aria-label="alert rules">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Condition</th>
                  <th>Pipeline</th>
                  <th>Severity</th>
                  <th>Cooldown</th>
                  <th>Channels</th>
                  <th>State</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {rules.data.items.map((r) => (
                  <tr key={r.id}>
                    <td>{r.name}</td>
                    <td>{describeCondition(r.condition)}</td>
                    <td>
                      {r.condition.pipelineId ? (
                        <Link to={`/pipelines/${r.condition.pipelineId}`}>
                          {names.get(r.condition.pipelineId) ?? r.condition.pipelineId}
                        </Link>
                      ) : (
                        'every pipeline'
                      )}
                    </td>
                    <td>{r.severity}</td>
                    <td>{r.cooldownSeconds} s</td>
                    <td>{r.channels.map((c) => c.type).join(', ') || '—'}</td>
                    <td>
                      <Status status={r.enabled ? 'active' : 'paused'} />
                    </td>
                    <td className="row">
                      {admin && (
                        <>
                          <button type="button" className="secondary" onClick={() => toggle.mutate(r)}>
                            {r.enabled ? 'Disable' : 'Enable'}
                          </button>
                          <button type="button" className="secondary" onClick={() => setEditing(r)}>
                            Edit
                          </button>
                          <button type="button" className="secondary" onClick={() => test.mutate(r)}>
                            Test
                          </button>
                          <button
                            type="button"
                            className="danger"
                            onClick={() =>
                              confirm(`Delete the rule "${r.name}" and its history?`) && remove.mutate(r)
                            }
                          >
                            Delete
                          </button>
                        </>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
      <div className="spread">
        <h2>History</h2>
        <label>
          Status{' '}
          <select value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">all</option>
            <option value="firing">firing</option>
            <option value="resolved">resolved</option>
          </select>
        </label>
      </div>
      <ErrorNote error={events.error} />
      {events.isLoading && <Loading />}
      {events.data &&
        (events.data.items.length === 0 ? (
          <Empty>No alerts.</Empty>
        ) : (
          <div className="table-wrap">
            <table aria-label="alert history">
              <thead>
                <tr>
                  <th>Status</th>
                  <th>Rule</th>
                  <th>Severity</th>
                  <th>Pipeline</th>
                  <th>What</th>
                  <th>Fired</th>
                  <th>Resolved</th>
                  <th>Deliveries</th>
                </tr>
              </thead>
              <tbody>
                {events.data.items.map((e) => (
                  <tr key={e.id}>
                    <td>
                      <Status status={e.status} />
                    </td>
                    <td>{e.ruleName}</td>
                    <td>{e.severity}</td>
                    <td>
                      {e.pipelineId ? (
                        <Link to={`/pipelines/${e.pipelineId}`}>{e.pipelineName ?? e.pipelineId}</Link>
                      ) : (
                        '—'
                      )}
                    </td>
                    <td>
                      {e.message}
                      {e.jobId && (
                        <>
                          {' '}
                          <Link to={`/jobs/${e.jobId}`}>job</Link>
                        </>
                      )}
                    </td>
                    <td>{when(e.firedAt)}</td>
                    <td>{when(e.resolvedAt)}</td>
                    <td
                      title={e.deliveries
                        .map(
                          (d) =>
                            `${d.notice} → ${d.type} ${d.target}: ${d.ok ? 'ok' : d.error} (${d.attempts} tries)`,
                        )
                        .join('\n')}
                    >
                      {deliveriesText(e.deliveries)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
      <WebhooksPanel pipelineId={null} />
    </>
  );
}
