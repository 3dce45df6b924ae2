import type { Issue } from '../api/client.ts';
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

/** Problems with their JSON paths, for those that concern no one step. */
export function IssuePaths({ issues }: { issues: Issue[] }) {
  if (issues.length === 0) return null;
  return (
    <ul className="error issues">
      {issues.map((g) => (
        <li key={`${g.path}:${g.message}`}>
          <code>{g.path.replace(/^spec\./, '')}</code> {g.message}
        </li>
      ))}
    </ul>
  );
}
