import { useId } from 'react';

/** The spec as YAML text; a parse problem is shown with its line, and the caret can jump there. */
export function YamlView({
  text,
  error,
  readOnly,
  onChange,
}: {
  text: string;
  error: { message: string; line: number | null; column: number | null } | null;
  readOnly: boolean;
  onChange: (text: string) => void;
}) {
  const id = useId();
  const goTo = (line: number) => {
    const area = document.getElementById(`${id}-text`) as HTMLTextAreaElement | null;
    if (!area) return;
    const start =
      text
        .split('\n')
        .slice(0, line - 1)
        .join('\n').length + (line > 1 ? 1 : 0);
    area.focus();
    area.setSelectionRange(start, start);
  };
  return (
    <div className="yaml-view">
      <label htmlFor={`${id}-text`}>
        <span>Pipeline spec (YAML)</span>
        <small>
          The document the API stores and `sluice run` reads; switching back to the form keeps your edits.
        </small>
      </label>
      {error && (
        <div className="error" role="alert" id={`${id}-err`}>
          {error.line !== null ? (
            <>
              Line {error.line}
              {error.column !== null && `, column ${error.column}`}: {error.message}{' '}
              <button type="button" className="link" onClick={() => goTo(error.line!)}>
                go to line {error.line}
              </button>
            </>
          ) : (
            error.message
          )}
        </div>
      )}
      <textarea
        id={`${id}-text`}
        className="yaml"
        spellCheck={false}
        rows={Math.min(40, Math.max(12, text.split('\n').length + 1))}
        value={text}
        readOnly={readOnly}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-err` : undefined}
        onChange={(e) => onChange(e.target.value)}
      />
    </div>
  );
}
