import { useId } from 'react';
import { useCredentialNames } from './catalog.ts';

/**
 * The optional stored credential that fills in a config at run time. Free text with the known
 * names offered (those for this connector first): a viewer may not list credentials but may still
 * read a spec that names one.
 */
export function CredentialField({
  connector,
  value,
  onChange,
  disabled,
  error,
}: {
  connector: string;
  value: string | undefined;
  onChange: (name: string | undefined) => void;
  disabled?: boolean;
  error?: string;
}) {
  const id = useId();
  const names = useCredentialNames().data ?? [];
  const sorted = [...names].sort(
    (a, b) => Number(b.connectorType === connector) - Number(a.connectorType === connector),
  );
  return (
    <label>
      <span>Credential</span>
      <small>Optional: a stored credential whose fields fill in this config; fields given here win.</small>
      <input
        list={`${id}-names`}
        value={value ?? ''}
        disabled={disabled}
        placeholder="none"
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-err` : undefined}
        onChange={(e) => onChange(e.target.value === '' ? undefined : e.target.value)}
      />
      <datalist id={`${id}-names`}>
        {sorted.map((c) => (
          <option key={c.name} value={c.name}>
            {c.connectorType}
          </option>
        ))}
      </datalist>
      {error && (
        <span className="field-error" id={`${id}-err`}>
          {error}
        </span>
      )}
    </label>
  );
}
