import { useState } from 'react';

/**
 * A secret typed into a form (a password, a token, a URL holding one): masked by default, with a
 * Show/Hide toggle so a long value can be checked before it is saved. `autoComplete` is off: the
 * browser must not offer a saved login here nor save this value as one.
 */
export function SecretInput({
  value,
  onChange,
  label,
  ...rest
}: {
  value: string;
  onChange: (v: string) => void;
  /** Names the input and its toggle for assistive technology ("Show <label>"). */
  label: string;
} & Omit<React.InputHTMLAttributes<HTMLInputElement>, 'value' | 'onChange' | 'type'>) {
  const [shown, setShown] = useState(false);
  return (
    <span className="row secret">
      <input
        {...rest}
        aria-label={rest['aria-label'] ?? label}
        type={shown ? 'text' : 'password'}
        autoComplete="new-password"
        spellCheck={false}
        value={value}
        onChange={(e) => onChange(e.target.value)}
      />
      <button
        type="button"
        className="secondary"
        aria-pressed={shown}
        aria-label={`${shown ? 'Hide' : 'Show'} ${label}`}
        onClick={() => setShown(!shown)}
      >
        {shown ? 'Hide' : 'Show'}
      </button>
    </span>
  );
}
