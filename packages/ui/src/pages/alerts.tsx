import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { can } from '../access.ts';
import { api, currentSession, get } from '../api/client.ts';
import type { Page, Pipeline } from '../api/types.ts';
import { Empty, ErrorNote, Loading } from '../components/feedback.tsx';
import { Status, when } from '../components/status.tsx';

type Condition = { type: string; pipelineId?: string } & Record<string, unknown>;
interface Rule {
  id: string;
  name: string;
  condition: Condition;
  severity: string;
  cooldownSeconds: number;
  channels: ({ type: string } & Record<string, unknown>)[];
  enabled: boolean;
}
interface Delivery {
  channel: number;
  type: string;
  notice: string;
  target: string;
  ok: boolean;
  attempts: number;
  error?: string;
}
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

// The thresholds each condition takes (docs/operations.md#alerts), as number fields.
const THRESHOLDS: Record<string, [string, string][]> = {
  job_failed: [],
  consecutive_failures: [['count', 'failed runs in a row']],
  duration_above: [['seconds', 'seconds']],
  failure_rate: [
    ['percent', '% of runs failed'],
    ['windowMinutes', 'window (minutes)'],
    ['minRuns', 'at least this many runs'],
  ],
  quarantine_rate: [['percent', '% of rows read quarantined']],
  freshness: [['windowMinutes', 'a success within (minutes)']],
};

export function describeCondition(c: Condition): string {
  const t = (THRESHOLDS[c.type] ?? []).filter(([k]) => c[k] !== undefined).map(([k]) => `${k} ${c[k]}`);
  return t.length ? `${c.type} (${t.join(', ')})` : c.type;
}

const EXAMPLE = '[{"type": "slack", "url": "https://hooks.slack.com/services/…"}]';

function RuleForm({
  rule,
  pipelines,
  onDone,
}: {
  rule: Rule | null;
  pipelines: Pipeline[];
  onDone: () => void;
}) {
  const [name, setName] = useState(rule?.name ?? '');
  const [type, setType] = useState(rule?.condition.type ?? 'job_failed');
  const [pipelineId, setPipelineId] = useState(rule?.condition.pipelineId ?? '');
  const [values, setValues] = useState<Record<string, string>>(
    Object.fromEntries(
      Object.entries(rule?.condition ?? {})
        .filter(([k]) => k !== 'type' && k !== 'pipelineId')
        .map(([k, v]) => [k, String(v)]),
    ),
  );
  const [severity, setSeverity] = useState(rule?.severity ?? 'warning');
  const [cooldown, setCooldown] = useState(String(rule?.cooldownSeconds ?? 300));
  const [channels, setChannels] = useState(rule ? JSON.stringify(rule.channels, null, 2) : '[]');
  const save = useMutation({
    mutationFn: async () => {
      let ch: unknown;
      try {
        ch = JSON.parse(channels || '[]');
      } catch (err) {
        throw new Error(`Channels are not valid JSON: ${(err as Error).message}`);
      }
      const condition: Record<string, unknown> = { type, ...(pipelineId ? { pipelineId } : {}) };
      for (const [k] of THRESHOLDS[type] ?? []) if (values[k]) condition[k] = Number(values[k]);
      const body = { name, condition, severity, cooldownSeconds: Number(cooldown), channels: ch };
      return rule
        ? api<Rule>('PUT', `/alerts/rules/${rule.id}`, body)
        : api<Rule>('POST', '/alerts/rules', body);
    },
    onSuccess: onDone,
  });
  return (
    <form
      className="stack"
      aria-label={rule ? `Edit alert rule ${rule.name}` : 'New alert rule'}
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate();
      }}
    >
      <label>
        Name
        <input value={name} onChange={(e) => setName(e.target.value)} required />
      </label>
      <label>
        Condition
        <select value={type} onChange={(e) => setType(e.target.value)}>
          {Object.keys(THRESHOLDS).map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
      </label>
      <label>
        Pipeline
        <select value={pipelineId} onChange={(e) => setPipelineId(e.target.value)}>
          <option value="">every pipeline</option>
          {pipelines.map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
        </select>
      </label>
      {(THRESHOLDS[type] ?? []).map(([k, label]) => (
        <label key={k}>
          {label}
          <input
            type="number"
            min={0}
            step="any"
            value={values[k] ?? ''}
            onChange={(e) => setValues({ ...values, [k]: e.target.value })}
            required={k !== 'minRuns'}
          />
        </label>
      ))}
      <label>
        Severity
        <select value={severity} onChange={(e) => setSeverity(e.target.value)}>
          <option value="info">info</option>
          <option value="warning">warning</option>
          <option value="critical">critical</option>
        </select>
      </label>
      <label>
        Cooldown <small>seconds without a new alert for the same rule and pipeline</small>
        <input type="number" min={0} value={cooldown} onChange={(e) => setCooldown(e.target.value)} />
      </label>
      <label>
        Channels{' '}
        <small>
          JSON: webhook {'{url, headers?}'}, slack {'{url}'}, email {'{to, host, port?, credential?}'}; e.g.{' '}
          {EXAMPLE}
        </small>
        <textarea rows={4} value={channels} onChange={(e) => setChannels(e.target.value)} />
      </label>
      <ErrorNote error={save.error} />
      <button type="submit" disabled={save.isPending}>
        {rule ? 'Save rule' : 'Create rule'}
      </button>
    </form>
  );
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
    </>
  );
}
