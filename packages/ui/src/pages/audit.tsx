import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { get } from '../api/client.ts';
import type { Page } from '../api/types.ts';
import { ErrorNote, Loading } from '../components/feedback.tsx';
import { Pager } from '../components/pager.tsx';
import { when } from '../components/status.tsx';

interface Row {
  id: number;
  at: string;
  username: string | null;
  action: string;
  resourceType: string;
  resourceId: string | null;
  oldValue: unknown;
  newValue: unknown;
  clientAddress: string | null;
}

const LIMIT = 50;

export function AuditPage() {
  const [username, setUsername] = useState('');
  const [action, setAction] = useState('');
  const [offset, setOffset] = useState(0);
  const q = new URLSearchParams({ limit: String(LIMIT), offset: String(offset) });
  if (username) q.set('username', username);
  if (action) q.set('action', action);
  const list = useQuery({ queryKey: ['audit', q.toString()], queryFn: () => get<Page<Row>>(`/audit?${q}`) });
  return (
    <>
      <h1>Audit log</h1>
      <section className="row panel" aria-label="filters">
        <label>
          User
          <input
            value={username}
            onChange={(e) => {
              setUsername(e.target.value);
              setOffset(0);
            }}
          />
        </label>
        <label>
          Action <small>e.g. pipeline.update, auth.login_failed</small>
          <input
            value={action}
            onChange={(e) => {
              setAction(e.target.value);
              setOffset(0);
            }}
          />
        </label>
      </section>
      <ErrorNote error={list.error} />
      {list.isLoading && <Loading />}
      {list.data && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>When</th>
                <th>Who</th>
                <th>Action</th>
                <th>Resource</th>
                <th>Change</th>
                <th>From</th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((r) => (
                <tr key={r.id}>
                  <td>{when(r.at)}</td>
                  <td>{r.username}</td>
                  <td>
                    <code>{r.action}</code>
                  </td>
                  <td>
                    {r.resourceType} {r.resourceId?.slice(0, 8)}
                  </td>
                  <td>
                    {r.oldValue !== null && (
                      <details>
                        <summary>before</summary>
                        <pre>{JSON.stringify(r.oldValue, null, 2)}</pre>
                      </details>
                    )}
                    {r.newValue !== null && (
                      <details>
                        <summary>after</summary>
                        <pre>{JSON.stringify(r.newValue, null, 2)}</pre>
                      </details>
                    )}
                  </td>
                  <td>{r.clientAddress}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {list.data && <Pager total={list.data.total} limit={LIMIT} offset={offset} onOffset={setOffset} />}
    </>
  );
}
