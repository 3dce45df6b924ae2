import { useId } from 'react';
import type { Connector } from '../api/types.ts';
import { useConnectors } from './catalog.ts';

/** A labelled choice among the catalog's connectors of one kind; a name not in it stays selectable. */
export function ConnectorPicker({
  kind,
  value,
  onChange,
  disabled,
}: {
  kind: Connector['kind'];
  value: string;
  onChange: (name: string) => void;
  disabled?: boolean;
}) {
  const id = useId();
  const catalog = useConnectors();
  const mine = (catalog.data ?? []).filter((c) => c.kind === kind);
  const known = mine.some((c) => c.name === value);
  const summary = mine.find((c) => c.name === value)?.summary;
  return (
    <label>
      <span>{kind === 'task' ? 'Task' : 'Connector'}</span>
      <select
        value={value}
        disabled={disabled}
        onChange={(e) => onChange(e.target.value)}
        aria-describedby={summary ? `${id}-summary` : undefined}
      >
        <option value="">{catalog.isPending ? 'loading…' : `choose a ${kind}…`}</option>
        {value && !known && <option value={value}>{value} (not in the catalog)</option>}
        {mine.map((c) => (
          <option key={c.name} value={c.name}>
            {c.name} {c.version}
          </option>
        ))}
      </select>
      {summary && <small id={`${id}-summary`}>{summary}</small>}
      {catalog.error && (
        <span className="field-error">
          the connector catalog did not load: {(catalog.error as Error).message}
        </span>
      )}
    </label>
  );
}
