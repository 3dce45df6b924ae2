import { ApiError } from '../api/client.ts';

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p className="muted" role="status">
      {what}…
    </p>
  );
}

/** An API error in words a user can act on: the server's message, and each problem at its path. */
export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  const e = error instanceof ApiError ? error : null;
  return (
    <div className="error" role="alert">
      <strong>{e ? e.message : String((error as Error).message ?? error)}</strong>
      {e && e.details.length > 0 && (
        <ul>
          {e.details.map((d) => (
            <li key={`${d.path}:${d.message}`}>
              <code>{d.path}</code> {d.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function Empty({ children }: { children: React.ReactNode }) {
  return <p className="muted empty">{children}</p>;
}

/**
 * A list's states in one place: loading, nothing there (with what to say), or its table inside a
 * scrolling wrapper. Errors stay with the page's ErrorNote, beside the errors of its actions.
 */
export function Listing<T>({
  query,
  empty,
  children,
}: {
  query: { data?: { items: T[] } | undefined; isLoading: boolean };
  empty: React.ReactNode;
  children: (items: T[]) => React.ReactNode;
}) {
  if (query.isLoading) return <Loading />;
  if (!query.data) return null;
  if (query.data.items.length === 0) return <Empty>{empty}</Empty>;
  return <div className="table-wrap">{children(query.data.items)}</div>;
}
