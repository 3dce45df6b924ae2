import type { Location } from './issues.ts';

/** Problems of a step or component, each with what it concerns (`needs[1]`, `timeout`). */
export function IssueList({ items }: { items: Location[] }) {
  if (items.length === 0) return null;
  return (
    <ul className="error issues" role="alert">
      {items.map((l) => (
        <li key={`${l.rest}:${l.message}`}>
          {l.rest && <code>{l.rest}</code>} {l.message}
        </li>
      ))}
    </ul>
  );
}
