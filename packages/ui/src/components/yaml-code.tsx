import { autocompletion, type CompletionSource } from '@codemirror/autocomplete';
import { yaml } from '@codemirror/lang-yaml';
import { type Diagnostic, lintGutter, setDiagnostics } from '@codemirror/lint';
import { Compartment, EditorState, type Text } from '@codemirror/state';
import { EditorView } from '@codemirror/view';
import { basicSetup } from 'codemirror';
import { useEffect, useRef } from 'react';

/** A problem to show in the text: 1-based line and column, as the API's errors give them. */
export interface YamlProblem {
  line: number;
  column?: number | null;
  message: string;
  severity?: 'error' | 'warning';
}

export interface YamlCodeProps {
  value: string;
  /** Names the text for assistive technology (the editor is not a form control). */
  label: string;
  readOnly?: boolean;
  onChange?: (text: string) => void;
  problems?: readonly YamlProblem[];
  /** Completion of names and keys; the caller knows the connectors' schemas. */
  complete?: CompletionSource;
}

/** Where a 1-based line and column fall in the document, clamped to it: a stale problem still shows. */
export function problemRange(doc: Text, p: YamlProblem): { from: number; to: number } {
  const line = doc.line(Math.min(Math.max(1, p.line), doc.lines));
  const from = Math.min(line.to, line.from + Math.max(0, (p.column ?? 1) - 1));
  // An error at a position marks the rest of its line, so it is visible wherever it points.
  return { from, to: line.to };
}

const theme = EditorView.theme({
  '&': { fontSize: '13px', border: '1px solid var(--border, #ccc)', borderRadius: '6px' },
  '.cm-scroller': { fontFamily: 'var(--mono, ui-monospace, monospace)', maxHeight: '70vh' },
  '&.cm-focused': { outline: '2px solid var(--focus, #2563eb)' },
});

/**
 * YAML with highlighting, line numbers, folding and search (CodeMirror 6); editable with
 * completion and problems marked in place, or read-only. The document follows `value` when the
 * caller changes it; edits go out through `onChange`.
 */
export function YamlCode({ value, label, readOnly = false, onChange, problems, complete }: YamlCodeProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const editable = useRef(new Compartment());
  const completion = useRef(new Compartment());
  const changed = useRef(onChange);
  changed.current = onChange;

  // biome-ignore lint/correctness/useExhaustiveDependencies: the view is made once; later props reach it through the effects below
  useEffect(() => {
    const v = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: value,
        extensions: [
          basicSetup,
          yaml(),
          lintGutter(),
          theme,
          EditorView.contentAttributes.of({ 'aria-label': label }),
          editable.current.of(editableExtensions(readOnly)),
          completion.current.of(complete ? autocompletion({ override: [complete] }) : []),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) changed.current?.(u.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = v;
    return () => {
      v.destroy();
      view.current = null;
    };
  }, []);

  useEffect(() => {
    const v = view.current;
    if (!v || v.state.doc.toString() === value) return;
    v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: value } });
  }, [value]);

  useEffect(() => {
    view.current?.dispatch({ effects: editable.current.reconfigure(editableExtensions(readOnly)) });
  }, [readOnly]);

  useEffect(() => {
    view.current?.dispatch({
      effects: completion.current.reconfigure(complete ? autocompletion({ override: [complete] }) : []),
    });
  }, [complete]);

  useEffect(() => {
    const v = view.current;
    if (!v) return;
    const diagnostics: Diagnostic[] = (problems ?? []).map((p) => ({
      ...problemRange(v.state.doc, p),
      severity: p.severity ?? 'error',
      message: p.message,
    }));
    v.dispatch(setDiagnostics(v.state, diagnostics));
  }, [problems]);

  return <div ref={host} className="yaml-code" data-readonly={readOnly || undefined} />;
}

function editableExtensions(readOnly: boolean) {
  return [EditorState.readOnly.of(readOnly), EditorView.editable.of(!readOnly)];
}
