import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { get } from '../api/client.ts';
import type { Connector } from '../api/types.ts';
import { ErrorNote, Loading } from '../components/feedback.tsx';

interface Detail extends Connector {
  schema: unknown;
  example: unknown;
}

export function ConnectorsPage() {
  const list = useQuery({
    queryKey: ['connectors'],
    queryFn: () => get<{ items: Connector[] }>('/connectors'),
  });
  const [open, setOpen] = useState<Connector | null>(null);
  const detail = useQuery({
    queryKey: ['connector', open?.name, open?.kind],
    enabled: open !== null,
    queryFn: () => get<Detail>(`/connectors/${open!.name}?kind=${open!.kind}`),
  });
  return (
    <>
      <h1>Connectors</h1>
      <ErrorNote error={list.error ?? detail.error} />
      {list.isLoading && <Loading />}
      <div className="cols">
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>Kind</th>
                <th>Version</th>
                <th>Summary</th>
              </tr>
            </thead>
            <tbody>
              {list.data?.items.map((c) => (
                <tr key={`${c.kind}:${c.name}`}>
                  <td>
                    <button type="button" className="link" onClick={() => setOpen(c)}>
                      {c.name}
                    </button>
                  </td>
                  <td>{c.kind}</td>
                  <td>{c.version}</td>
                  <td>{c.summary}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {open && (
          <section className="panel" aria-label={`${open.kind} ${open.name}`}>
            <h2>
              {open.kind} {open.name}
            </h2>
            {detail.data ? (
              <>
                <h3>Example</h3>
                <pre>{JSON.stringify(detail.data.example, null, 2)}</pre>
                <h3>Config schema</h3>
                <pre>{JSON.stringify(detail.data.schema, null, 2)}</pre>
                {open.credentialSchema && (
                  <>
                    <h3>Credential fields</h3>
                    <p className="muted">
                      A stored credential for {open.name} may supply these (secret ones are{' '}
                      <code>writeOnly</code>).
                    </p>
                    <pre>{JSON.stringify(open.credentialSchema, null, 2)}</pre>
                  </>
                )}
              </>
            ) : (
              <Loading />
            )}
          </section>
        )}
      </div>
    </>
  );
}
