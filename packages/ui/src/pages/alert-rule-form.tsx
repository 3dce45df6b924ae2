import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { ApiError, api } from '../api/client.ts';
import type { Pipeline } from '../api/types.ts';
import { ErrorNote } from '../components/feedback.tsx';
import { type Channel, type Draft, draftIssues, draftOf, toChannel } from './alert-channel-draft.ts';
import { ChannelsEditor } from './alert-channels.tsx';

export type Condition = { type: string; pipelineId?: string } & Record<string, unknown>;
export interface Rule {
  id: string;
  name: string;
  condition: Condition;
  severity: string;
  cooldownSeconds: number;
  channels: Channel[];
  enabled: boolean;
}

// The thresholds each condition takes (docs/operations.md#alerts), as number fields.
export const THRESHOLDS: Record<string, [string, string][]> = {
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
  stream_stale: [['minutes', 'a checkpoint within (minutes) while messages wait']],
};

/** The save's errors at `body.channels[i].<field>`, by channel and field, to show at the field. */
function channelIssuesOf(error: unknown): Record<number, Record<string, string>> {
  const out: Record<number, Record<string, string>> = {};
  if (!(error instanceof ApiError)) return out;
  for (const d of error.details) {
    const m = /^body\.channels\[(\d+)\]\.(\w+)/.exec(d.path);
    if (!m) continue;
    const at = out[Number(m[1])] ?? {};
    at[m[2]!] ??= d.message;
    out[Number(m[1])] = at;
  }
  return out;
}

export function RuleForm({
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
  const [channels, setChannels] = useState<Draft[]>(() => (rule?.channels ?? []).map(draftOf));
  const [tried, setTried] = useState(false);
  const save = useMutation({
    mutationFn: async () => {
      const condition: Record<string, unknown> = { type, ...(pipelineId ? { pipelineId } : {}) };
      for (const [k] of THRESHOLDS[type] ?? []) if (values[k]) condition[k] = Number(values[k]);
      const body = {
        name,
        condition,
        severity,
        cooldownSeconds: Number(cooldown),
        channels: channels.map(toChannel),
      };
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
        setTried(true);
        if (channels.every((d) => Object.keys(draftIssues(d)).length === 0)) save.mutate();
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
      <ChannelsEditor
        drafts={channels}
        onChange={setChannels}
        ruleId={rule?.id}
        showIssues={tried}
        serverIssues={channelIssuesOf(save.error)}
      />
      <ErrorNote error={save.error} />
      <button type="submit" disabled={save.isPending}>
        {rule ? 'Save rule' : 'Create rule'}
      </button>
    </form>
  );
}
