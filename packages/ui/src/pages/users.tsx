import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, get, type Role, type User } from '../api/client.ts';
import type { Page } from '../api/types.ts';
import { Empty, ErrorNote, Loading } from '../components/feedback.tsx';
import { Status, when } from '../components/status.tsx';

const ROLES: Role[] = ['admin', 'operator', 'viewer'];

interface Token {
  id: string;
  name: string;
  role: Role;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

function NewUser({ onDone }: { onDone: () => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const create = useMutation({
    mutationFn: () => api('POST', '/users', { username, password, role }),
    onSuccess: onDone,
  });
  return (
    <form
      className="row"
      aria-label="New user"
      onSubmit={(e) => {
        e.preventDefault();
        create.mutate();
      }}
    >
      <label>
        Username
        <input value={username} onChange={(e) => setUsername(e.target.value)} required autoComplete="off" />
      </label>
      <label>
        Password <small>at least 10 characters</small>
        <input
          type="password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          required
          autoComplete="new-password"
        />
      </label>
      <label>
        Role
        <select value={role} onChange={(e) => setRole(e.target.value as Role)}>
          {ROLES.map((r) => (
            <option key={r}>{r}</option>
          ))}
        </select>
      </label>
      <button type="submit" disabled={create.isPending}>
        Add user
      </button>
      <ErrorNote error={create.error} />
    </form>
  );
}

export function UsersPage() {
  const qc = useQueryClient();
  const users = useQuery({
    queryKey: ['users'],
    queryFn: () => get<Page<User & { lastLoginAt: string | null }>>('/users?limit=500'),
  });
  const tokens = useQuery({ queryKey: ['tokens'], queryFn: () => get<Page<Token>>('/tokens?limit=500') });
  const [shown, setShown] = useState<string | null>(null);
  const [tokenName, setTokenName] = useState('');
  const [tokenRole, setTokenRole] = useState<Role>('operator');
  const refresh = () => qc.invalidateQueries({ queryKey: ['users'] });
  const change = useMutation({
    mutationFn: ({ id, body }: { id: string; body: Record<string, unknown> }) =>
      api('PUT', `/users/${id}`, body),
    onSuccess: refresh,
  });
  const newToken = useMutation({
    mutationFn: () =>
      api<{ token: string }>('POST', '/tokens', { name: tokenName, role: tokenRole, expiresInDays: 90 }),
    onSuccess: (t) => {
      setShown(t.token);
      void qc.invalidateQueries({ queryKey: ['tokens'] });
    },
  });
  const revoke = useMutation({
    mutationFn: (id: string) => api('DELETE', `/tokens/${id}`),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['tokens'] }),
  });
  return (
    <>
      <h1>Users</h1>
      <section className="panel">
        <NewUser onDone={refresh} />
      </section>
      <ErrorNote error={users.error ?? change.error} />
      {users.isLoading && <Loading />}
      {users.data && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>User</th>
                <th>Role</th>
                <th>State</th>
                <th>Second factor</th>
                <th>Last login</th>
                <th>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {users.data.items.map((u) => (
                <tr key={u.id}>
                  <td>{u.username}</td>
                  <td>
                    <select
                      aria-label={`role of ${u.username}`}
                      value={u.role}
                      onChange={(e) => change.mutate({ id: u.id, body: { role: e.target.value } })}
                    >
                      {ROLES.map((r) => (
                        <option key={r}>{r}</option>
                      ))}
                    </select>
                  </td>
                  <td>
                    <Status status={u.active ? 'active' : 'disabled'} />
                  </td>
                  <td>{u.totpEnabled ? <Status status="totp" /> : <span className="muted">none</span>}</td>
                  <td>{when(u.lastLoginAt)}</td>
                  <td>
                    <details className="menu">
                      <summary aria-label={`actions for ${u.username}`}>Actions</summary>
                      <div role="menu">
                        <button
                          type="button"
                          role="menuitem"
                          onClick={(e) => {
                            e.currentTarget.closest('details')?.removeAttribute('open');
                            change.mutate({ id: u.id, body: { active: !u.active } });
                          }}
                        >
                          {u.active ? 'Disable' : 'Enable'}
                        </button>
                        {u.totpEnabled && (
                          <button
                            type="button"
                            role="menuitem"
                            onClick={(e) => {
                              e.currentTarget.closest('details')?.removeAttribute('open');
                              change.mutate({ id: u.id, body: { totp: false } });
                            }}
                          >
                            Reset TOTP
                          </button>
                        )}
                      </div>
                    </details>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h2>API tokens</h2>
      <form
        className="row panel"
        aria-label="New API token"
        onSubmit={(e) => {
          e.preventDefault();
          newToken.mutate();
        }}
      >
        <label>
          Name
          <input value={tokenName} onChange={(e) => setTokenName(e.target.value)} required />
        </label>
        <label>
          Role
          <select value={tokenRole} onChange={(e) => setTokenRole(e.target.value as Role)}>
            {ROLES.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </label>
        <button type="submit">Create token (90 days)</button>
      </form>
      <ErrorNote error={newToken.error ?? revoke.error} />
      {shown && (
        <div className="notice" role="status">
          Copy the token now, it is not shown again: <code>{shown}</code>
        </div>
      )}
      {tokens.data && tokens.data.items.length === 0 ? (
        <Empty>
          No API tokens yet. Create one above for scripts and CI: it acts with the role you give it.
        </Empty>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>Role</th>
                <th>Expires</th>
                <th>Last used</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {tokens.data?.items.map((t) => (
                <tr key={t.id}>
                  <td>{t.name}</td>
                  <td>{t.role}</td>
                  <td>{when(t.expiresAt)}</td>
                  <td>{when(t.lastUsedAt)}</td>
                  <td>
                    {t.revokedAt ? (
                      <span className="muted">revoked {when(t.revokedAt)}</span>
                    ) : (
                      <button type="button" className="danger" onClick={() => revoke.mutate(t.id)}>
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
