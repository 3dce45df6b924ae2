import { useId } from 'react';

/** A labelled input with its problem under it, tied together for screen readers. */
export function Labelled({
  label,
  hint,
  error,
  children,
}: {
  label: string;
  hint?: string;
  error?: string;
  children: (aria: Record<string, unknown>) => React.ReactNode;
}) {
  const id = useId();
  const aria = {
    id: `${id}-control`,
    'aria-invalid': error ? true : undefined,
    'aria-describedby': error ? `${id}-err` : undefined,
  };
  return (
    <label htmlFor={`${id}-control`}>
      <span>{label}</span>
      {hint && <small>{hint}</small>}
      {children(aria)}
      {error && (
        <span className="field-error" id={`${id}-err`}>
          {error}
        </span>
      )}
    </label>
  );
}
