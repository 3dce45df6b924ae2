import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { can } from '../access.ts';
import { api, currentSession, get } from '../api/client.ts';
import type { Page } from '../api/types.ts';
import { ErrorNote, Listing } from '../components/feedback.tsx';
import { when } from '../components/status.tsx';
import { useConnectors } from '../editor/catalog.ts';
import { NewCredential } from './credential-form.tsx';

interface Credential {
  id: string;
  name: string;
  connectorType: string;
  description: string;
  fields: Record<string, string>;
  updatedAt: string;
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
  const catalog = useConnectors();
  // What a test needs beyond the credential: a file credential is tested against a path, an HTTP
  // one (which holds only the auth) against a url.
  const [targets, setTargets] = useState<Record<string, string>>({});
  const connectorOf = (c: Credential) =>
    (catalog.data ?? []).find((k) => k.name === c.connectorType && k.connectionCheck);
  const checkOf = (c: Credential) => connectorOf(c)?.connectionCheck;
  const targetOf = (c: Credential): 'path' | 'url' | undefined => {
    const k = connectorOf(c);
    const held = k?.credentialSchema?.properties ?? {};
    return (['path', 'url'] as const).find((f) => k?.connectionCheck?.properties?.[f] && !held[f]);
  };
  const test = useMutation({
    mutationFn: (c: Credential) => {
      const field = targetOf(c);
      return api<{ ok: boolean; message: string }>(
        'POST',
        `/credentials/${c.id}/test`,
        field ? { config: { [field]: targets[c.id] ?? '' } } : {},
      );
    },
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
                        {targetOf(c) && (
                          <input
                            aria-label={`${targetOf(c) === 'path' ? 'Path' : 'URL'} to test ${c.name} against`}
                            placeholder={
                              targetOf(c) === 'path'
                                ? 's3://bucket/in/ or a path'
                                : 'https://api.example.com/v1/items'
                            }
                            value={targets[c.id] ?? ''}
                            onChange={(e) => setTargets((p) => ({ ...p, [c.id]: e.target.value }))}
                          />
                        )}
                        <button
                          type="button"
                          className="secondary"
                          disabled={!checkOf(c) || (targetOf(c) !== undefined && !targets[c.id])}
                          title={
                            checkOf(c)
                              ? 'Connect with this credential'
                              : `${c.connectorType} has no connection check`
                          }
                          onClick={() => test.mutate(c)}
                        >
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
