import { useMutation } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { api } from '../api/client.ts';
import { KeyValueRows } from '../components/key-value-rows.tsx';
import { Labelled } from '../components/labelled.tsx';
import { SecretInput } from '../components/secret-input.tsx';
import { useCredentialNames } from '../editor/catalog.ts';
import {
  CHANNEL_TYPES,
  type ChannelType,
  type Draft,
  draftIssues,
  draftOf,
  toChannel,
} from './alert-channel-draft.ts';

/** One delivery's outcome, as POST /alerts/channels/test and the history answer it. */
export interface Delivery {
  channel: number;
  type: string;
  notice: string;
  target: string;
  ok: boolean;
  attempts: number;
  error?: string;
}

function TypeFields({
  d,
  set,
  err,
}: {
  d: Draft;
  set: (p: Partial<Draft>) => void;
  err: Record<string, string>;
}) {
  const names = useCredentialNames().data ?? [];
  const listId = useId();
  if (d.type !== 'email')
    return (
      <>
        <Labelled
          label={d.type === 'slack' ? 'Incoming webhook URL' : 'URL'}
          hint={
            d.type === 'slack'
              ? 'Its path is the secret: masked once saved.'
              : 'The event is POSTed here as JSON.'
          }
          error={err.url}
        >
          {(aria) =>
            d.type === 'slack' ? (
              <SecretInput label="webhook URL" value={d.url} onChange={(url) => set({ url })} {...aria} />
            ) : (
              <input type="url" value={d.url} onChange={(e) => set({ url: e.target.value })} {...aria} />
            )
          }
        </Labelled>
        {d.type === 'webhook' && (
          <fieldset>
            <legend>Headers</legend>
            <small className="hint">
              Sent with every notice, e.g. <code>Authorization: Bearer …</code>; values are secrets.
            </small>
            <KeyValueRows rows={d.headers} onChange={(headers) => set({ headers })} noun="header" secret />
            {err.headers && <span className="field-error">{err.headers}</span>}
          </fieldset>
        )}
      </>
    );
  return (
    <>
      <Labelled label="To" hint="Addresses, separated by commas." error={err.to}>
        {(aria) => <input value={d.to} onChange={(e) => set({ to: e.target.value })} {...aria} />}
      </Labelled>
      <div className="row">
        <Labelled label="SMTP server" error={err.host}>
          {(aria) => <input value={d.host} onChange={(e) => set({ host: e.target.value })} {...aria} />}
        </Labelled>
        <Labelled label="Port" error={err.port}>
          {(aria) => (
            <input
              type="number"
              min={1}
              max={65535}
              placeholder="587"
              value={d.port}
              onChange={(e) => set({ port: e.target.value })}
              {...aria}
            />
          )}
        </Labelled>
      </div>
      <label className="inline">
        <input type="checkbox" checked={d.secure} onChange={(e) => set({ secure: e.target.checked })} />
        TLS from the start (port 465); otherwise STARTTLS when the server offers it
      </label>
      <Labelled label="From" error={err.from}>
        {(aria) => (
          <input
            placeholder="sluice@localhost"
            value={d.from}
            onChange={(e) => set({ from: e.target.value })}
            {...aria}
          />
        )}
      </Labelled>
      <Labelled
        label="Credential"
        hint="A stored credential with user and password fields (preferred)."
        error={err.credential}
      >
        {(aria) => (
          <>
            <input
              list={listId}
              value={d.credential}
              onChange={(e) => set({ credential: e.target.value })}
              {...aria}
            />
            <datalist id={listId}>
              {names.map((c) => (
                <option key={c.name} value={c.name} />
              ))}
            </datalist>
          </>
        )}
      </Labelled>
      <div className="row">
        <Labelled label="User" error={err.user}>
          {(aria) => <input value={d.user} onChange={(e) => set({ user: e.target.value })} {...aria} />}
        </Labelled>
        <Labelled label="Password" error={err.password}>
          {(aria) => (
            <SecretInput
              label="SMTP password"
              value={d.password}
              onChange={(password) => set({ password })}
              {...aria}
            />
          )}
        </Labelled>
      </div>
    </>
  );
}

function ChannelEditor({
  d,
  index,
  ruleId,
  showIssues,
  serverIssues,
  onChange,
  onRemove,
}: {
  d: Draft;
  index: number;
  ruleId: string | undefined;
  showIssues: boolean;
  serverIssues: Record<string, string>;
  onChange: (d: Draft) => void;
  onRemove: () => void;
}) {
  const own = draftIssues(d);
  // Messages wait until the user tries to save or test: a half-typed URL is not yet a mistake.
  const [tried, setTried] = useState(false);
  const err = { ...serverIssues, ...(showIssues || tried ? own : {}) };
  // The rule's id and the channel's place let a masked secret stand for the stored one.
  const test = useMutation({
    mutationFn: () =>
      api<Delivery>('POST', '/alerts/channels/test', {
        channel: toChannel(d),
        ...(ruleId ? { ruleId, index } : {}),
      }),
  });
  const set = (p: Partial<Draft>) => {
    test.reset();
    onChange({ ...d, ...p });
  };
  const result = test.data;
  return (
    <fieldset aria-label={`Channel ${index + 1}`}>
      <legend>Channel {index + 1}</legend>
      <div className="spread">
        <label>
          <span>Type</span>
          <select value={d.type} onChange={(e) => set({ type: e.target.value as ChannelType })}>
            {CHANNEL_TYPES.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
        <button type="button" className="danger" onClick={onRemove}>
          Remove channel
        </button>
      </div>
      <TypeFields d={d} set={set} err={err} />
      <div className="row">
        <button
          type="button"
          className="secondary"
          disabled={test.isPending}
          onClick={() => {
            setTried(true);
            if (Object.keys(own).length === 0) test.mutate();
          }}
        >
          {test.isPending ? 'Sending…' : 'Send test'}
        </button>
        <span role="status" aria-label={`Channel ${index + 1} test result`}>
          {result &&
            (result.ok ? (
              <span className="ok">ok — delivered to {result.target}</span>
            ) : (
              <span className="field-error">
                failed ({result.target}): {result.error}
              </span>
            ))}
          {test.error && <span className="field-error">{(test.error as Error).message}</span>}
        </span>
      </div>
    </fieldset>
  );
}

/**
 * A rule's channels as forms, one per channel, each with its own "Send test" (before the rule is
 * saved). `serverIssues` are the save's errors by channel and field (body.channels[1].url).
 */
export function ChannelsEditor({
  drafts,
  onChange,
  ruleId,
  showIssues,
  serverIssues,
}: {
  drafts: Draft[];
  onChange: (d: Draft[]) => void;
  ruleId: string | undefined;
  showIssues: boolean;
  serverIssues: Record<number, Record<string, string>>;
}) {
  return (
    <fieldset>
      <legend>Channels</legend>
      {drafts.length === 0 && (
        <small className="hint">No channels: events are only kept in the history.</small>
      )}
      {drafts.map((d, i) => (
        <ChannelEditor
          key={d.key}
          d={d}
          index={i}
          ruleId={ruleId}
          showIssues={showIssues}
          serverIssues={serverIssues[i] ?? {}}
          onChange={(x) => onChange(drafts.map((y) => (y.key === d.key ? x : y)))}
          onRemove={() => onChange(drafts.filter((y) => y.key !== d.key))}
        />
      ))}
      <div>
        <button type="button" className="secondary" onClick={() => onChange([...drafts, draftOf(null)])}>
          Add channel
        </button>
      </div>
    </fieldset>
  );
}
