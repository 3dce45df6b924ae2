import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { can } from '../access.ts';
import { currentSession, get } from '../api/client.ts';
import type { Page, Pipeline } from '../api/types.ts';
import { ErrorNote, Listing } from '../components/feedback.tsx';
import { Pager } from '../components/pager.tsx';
import { Status, when } from '../components/status.tsx';

const LIMIT = 25;

export function PipelinesPage() {
  const [q, setQ] = useState('');
  const [offset, setOffset] = useState(0);
  const list = useQuery({
    queryKey: ['pipelines', q, offset],
    queryFn: () =>
      get<Page<Pipeline>>(
        `/pipelines?limit=${LIMIT}&offset=${offset}${q ? `&q=${encodeURIComponent(q)}` : ''}`,
      ),
  });
  const role = currentSession()?.user.role;
  return (
    <>
      <div className="spread">
        <h1>Pipelines</h1>
        {can(role, 'pipelines:write') && (
          <Link className="button" to="/pipelines/new">
            New pipeline
          </Link>
        )}
      </div>
      <label className="inline">
        Search
        <input
          type="search"
          value={q}
          onChange={(e) => {
            setQ(e.target.value);
            setOffset(0);
          }}
          placeholder="name contains…"
        />
      </label>
      <ErrorNote error={list.error} />
      <Listing query={list} empty={<>No pipelines{q ? ` matching “${q}”` : ''}.</>}>
        {(items) => (
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>Version</th>
                <th>Last run</th>
                <th>Next scheduled run</th>
                <th>Updated</th>
              </tr>
            </thead>
            <tbody>
              {items.map((p) => (
                <tr key={p.id}>
                  <td>
                    <Link to={`/pipelines/${p.id}`}>{p.name}</Link>
                    {p.description && <div className="muted">{p.description}</div>}
                  </td>
                  <td>v{p.version}</td>
                  <td>
                    {p.lastRun ? (
                      <Link to={`/jobs/${p.lastRun.id}`}>
                        <Status status={p.lastRun.status} /> {when(p.lastRun.createdAt)}
                      </Link>
                    ) : (
                      <span className="muted">never</span>
                    )}
                  </td>
                  <td>{when(p.nextRunAt)}</td>
                  <td>{when(p.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Listing>
      {list.data && <Pager total={list.data.total} limit={LIMIT} offset={offset} onOffset={setOffset} />}
    </>
  );
}
