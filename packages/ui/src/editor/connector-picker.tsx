import { useId } from 'react';
import type { Connector } from '../api/types.ts';
import { useConnectors } from './catalog.ts';

/**
 * A labelled choice among the catalog's connectors of one kind, or of every kind by name when
 * `kind` is absent (a credential is for "postgres", source and sink alike); a name not in the
 * catalog stays selectable.
 */
export function ConnectorPicker({
  kind,
  value,
  onChange,
  disabled,
}: {
  kind?: Connector['kind'];
  value: string;
  onChange: (name: string) => void;
  disabled?: boolean;
}) {
  const id = useId();
  const catalog = useConnectors();
  const mine = (catalog.data ?? []).filter((c, i, all) =>
    kind ? c.kind === kind : all.findIndex((o) => o.name === c.name) === i,
  );
  const known = mine.some((c) => c.name === value);
  // A name's summary is one kind's (postgres: "Reads rows…"): only shown when a kind was asked for.
  const summary = kind && mine.find((c) => c.name === value)?.summary;
  return (
    <label>
      <span>{kind === 'task' ? 'Task' : 'Connector'}</span>
      <select
        value={value}
        disabled={disabled}
        onChange={(e) => onChange(e.target.value)}
        aria-describedby={summary ? `${id}-summary` : undefined}
      >
        <option value="">{catalog.isPending ? 'loading…' : `choose a ${kind ?? 'connector'}…`}</option>
        {value && !known && <option value={value}>{value} (not in the catalog)</option>}
        {mine.map((c) => (
          <option key={c.name} value={c.name}>
            {kind ? `${c.name} ${c.version}` : c.name}
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
