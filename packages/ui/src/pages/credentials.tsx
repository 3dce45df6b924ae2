import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { can } from '../access.ts';
import { api, currentSession, get } from '../api/client.ts';
import type { Page } from '../api/types.ts';
import { ErrorNote, Listing } from '../components/feedback.tsx';
import { when } from '../components/status.tsx';

interface Credential {
  id: string;
  name: string;
  connectorType: string;
  description: string;
  fields: Record<string, string>;
  updatedAt: string;
}

function NewCredential({ onDone }: { onDone: () => void }) {
  const [name, setName] = useState('');
  const [connectorType, setType] = useState('postgres');
  const [fields, setFields] = useState<[string, string][]>([['url', '']]);
  const create = useMutation({
    mutationFn: () =>
      api('POST', '/credentials', {
        name,
        connectorType,
        data: Object.fromEntries(fields.filter(([k]) => k.trim())),
      }),
    onSuccess: onDone,
  });
  return (
    <form
      className="stack"
      aria-label="New credential"
      onSubmit={(e) => {
        e.preventDefault();
        create.mutate();
      }}
    >
      <label>
        Name <small>what steps write after credential:</small>
        <input
          value={name}
          onChange={(e) => setName(e.target.value)}
          required
          pattern="[A-Za-z0-9][A-Za-z0-9_.\-]*"
        />
      </label>
      <label>
        For connector
        <input value={connectorType} onChange={(e) => setType(e.target.value)} required />
      </label>
      <fieldset>
        <legend>Secret fields (encrypted, never shown again)</legend>
        {fields.map(([k, v], i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: a row's position is its identity while its name is typed
          <div className="row" key={i}>
            <input
              aria-label={`field ${i + 1} name`}
              value={k}
              onChange={(e) => setFields(fields.map((f, j) => (j === i ? [e.target.value, f[1]] : f)))}
            />
            <input
              aria-label={`field ${i + 1} value`}
              type="password"
              autoComplete="new-password"
              value={v}
              onChange={(e) => setFields(fields.map((f, j) => (j === i ? [f[0], e.target.value] : f)))}
            />
          </div>
        ))}
        <button type="button" className="secondary" onClick={() => setFields([...fields, ['', '']])}>
          Add field
        </button>
      </fieldset>
      <ErrorNote error={create.error} />
      <button type="submit" disabled={create.isPending}>
        Save credential
      </button>
    </form>
  );
}

export function CredentialsPage() {
  const qc = useQueryClient();
  const role = currentSession()?.user.role;
  const [adding, setAdding] = useState(false);
  const [tested, setTested] = useState<Record<string, { ok: boolean; message: string }>>({});
  const list = useQuery({
    queryKey: ['credentials'],
    queryFn: () => get<Page<Credential>>('/credentials?limit=500'),
  });
  const refresh = () => qc.invalidateQueries({ queryKey: ['credentials'] });
  const test = useMutation({
    mutationFn: (c: Credential) => api<{ ok: boolean; message: string }>('POST', `/credentials/${c.id}/test`),
    onSuccess: (r, c) => setTested((t) => ({ ...t, [c.id]: r })),
  });
  const remove = useMutation({
    mutationFn: (c: Credential) => api('DELETE', `/credentials/${c.id}`),
    onSuccess: refresh,
  });
  return (
    <>
      <div className="spread">
        <h1>Credentials</h1>
        {can(role, 'credentials:write') && !adding && (
          <button type="button" onClick={() => setAdding(true)}>
            New credential
          </button>
        )}
      </div>
      {adding && (
        <section className="panel">
          <NewCredential
            onDone={() => {
              setAdding(false);
              void refresh();
            }}
          />
        </section>
      )}
      <ErrorNote error={list.error ?? test.error ?? remove.error} />
      <Listing query={list} empty="No credentials.">
        {(items) => (
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>Connector</th>
                <th>Fields</th>
                <th>Updated</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {items.map((c) => (
                <tr key={c.id}>
                  <td>
                    {c.name}
                    {c.description && <div className="muted">{c.description}</div>}
                  </td>
                  <td>{c.connectorType}</td>
                  <td>
                    {Object.entries(c.fields).map(([k, v]) => (
                      <div key={k}>
                        <code>{k}</code>: {v}
                      </div>
                    ))}
                  </td>
                  <td>{when(c.updatedAt)}</td>
                  <td>
                    {can(role, 'credentials:write') && (
                      <div className="row">
                        <button type="button" className="secondary" onClick={() => test.mutate(c)}>
                          Test
                        </button>
                        <button
                          type="button"
                          className="danger"
                          onClick={() => confirm(`Delete ${c.name}?`) && remove.mutate(c)}
                        >
                          Delete
                        </button>
                      </div>
                    )}
                    {tested[c.id] && (
                      <div className={tested[c.id]!.ok ? 'notice' : 'error'} role="status">
                        {tested[c.id]!.message}
                      </div>
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
