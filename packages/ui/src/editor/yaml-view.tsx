import type { CompletionSource } from '@codemirror/autocomplete';
import { type QueryClient, useQueryClient } from '@tanstack/react-query';
import { useMemo } from 'react';
import type { Issue } from '../api/client.ts';
import { YamlCode, type YamlProblem } from '../components/yaml-code.tsx';
import { connectorsQuery, schemaQuery } from './catalog.ts';
import { completeYaml, yamlContextAt } from './yaml-complete.ts';
import { issueProblems } from './yaml-lines.ts';
import { parseSpecYaml } from './yaml-text.ts';

/**
 * The spec as YAML: highlighted, numbered, with each problem marked at the line of its JSON path
 * (or of the parse error, as you type) and completion of connector names and config keys.
 */
export function YamlView({
  text,
  error,
  issues,
  readOnly,
  onChange,
}: {
  text: string;
  /** The parse error that stopped a switch to the form or a save. */
  error: { message: string; line: number | null; column: number | null } | null;
  /** The last check's problems, at JSON paths of the spec. */
  issues: readonly Issue[];
  readOnly: boolean;
  onChange: (text: string) => void;
}) {
  const qc = useQueryClient();
  const complete = useMemo(() => completionSource(qc), [qc]);
  const problems = useMemo((): YamlProblem[] => {
    const parsed = parseSpecYaml(text);
    if (parsed.ok) return issueProblems(text, issues);
    return parsed.line === null
      ? []
      : [{ line: parsed.line, column: parsed.column, message: parsed.message }];
  }, [text, issues]);
  return (
    <div className="yaml-view">
      <p className="hint">
        The document the API stores and <code>sluice run</code> reads; switching back to the form keeps your
        edits. Ctrl+Space completes connector names and config keys.
      </p>
      {error && (
        <div className="error" role="alert">
          {error.line !== null
            ? `Line ${error.line}${error.column !== null ? `, column ${error.column}` : ''}: ${error.message}`
            : error.message}
        </div>
      )}
      <YamlCode
        value={text}
        label="Pipeline spec (YAML)"
        readOnly={readOnly}
        onChange={onChange}
        problems={problems}
        complete={complete}
      />
    </div>
  );
}

/** completeYaml over CodeMirror, with the catalogue and the one schema it needs fetched (or cached) first. */
function completionSource(qc: QueryClient): CompletionSource {
  return async (cx) => {
    const text = cx.state.doc.toString();
    const at = yamlContextAt(text, cx.pos);
    if (!at) return null;
    const connectors = await qc.fetchQuery(connectorsQuery).catch(() => []);
    const schema =
      at.at === 'with-key'
        ? await qc.fetchQuery(schemaQuery(at.kind, at.name)).catch(() => undefined)
        : undefined;
    const found = completeYaml(text, cx.pos, { connectors, schemaOf: () => schema });
    if (!found || found.options.length === 0) return null;
    return { from: found.from, options: found.options, validFor: /^[\w.-]*$/ };
  };
}
