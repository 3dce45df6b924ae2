import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useMemo, useRef, useState } from 'react';
import { Link, useNavigate } from 'react-router';
import type { Issue } from '../api/client.ts';
import type { PipelineSpec } from '../api/types.ts';
import { ErrorNote } from '../components/feedback.tsx';
import { clientIssues, mergeIssues, type Outcome, save, validateOnServer } from './actions.ts';
import './editor.css';
import { useLeaveGuard, useSaveShortcut } from './editor-guards.ts';
import { FormView } from './form-view.tsx';
import { IssuePaths } from './issue-list.tsx';
import { cycleSteps, groupIssues } from './issues.ts';
import { toStepsForm } from './spec-model.ts';
import { parseSpecYaml, specToYaml } from './yaml-text.ts';
import { YamlView } from './yaml-view.tsx';

type YamlError = { message: string; line: number | null; column: number | null };

/** The editor proper, for a loaded (or new) spec; `id` is absent for a new pipeline. */
export function PipelineEditor({
  id,
  initial,
  readOnly,
}: {
  id?: string;
  initial: PipelineSpec;
  readOnly: boolean;
}) {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [spec, setSpec] = useState(() => toStepsForm(initial));
  const [saved, setSaved] = useState(() => JSON.stringify(toStepsForm(initial)));
  const [mode, setMode] = useState<'form' | 'yaml'>('form');
  const [yamlText, setYamlText] = useState('');
  const [yamlError, setYamlError] = useState<YamlError | null>(null);
  const [notice, setNotice] = useState<string | null>(initial.flow && !initial.steps ? SHORT_FORM : null);
  const [checked, setChecked] = useState(false);
  const [live, setLive] = useState<Issue[]>([]);
  const [server, setServer] = useState<Issue[]>([]);
  const [failure, setFailure] = useState<unknown>(null);
  const [busy, setBusy] = useState<'validate' | 'save' | null>(null);
  const [selected, setSelected] = useState<number | null>(null);
  // Counts finished checks: after each, the settings beside the drawing turn to a problem.
  const [checks, setChecks] = useState(0);
  const leaving = useRef(false);

  const dirty = JSON.stringify(spec) !== saved || (mode === 'yaml' && yamlText !== specToYaml(spec));
  useLeaveGuard(dirty, leaving);

  // Once checked, the editor's own findings follow every edit; the server's stay until the next check.
  useEffect(() => {
    if (!checked) return;
    let stale = false;
    void clientIssues(qc, spec).then((issues) => {
      if (!stale) setLive(issues);
    });
    return () => {
      stale = true;
    };
  }, [checked, qc, spec]);

  const issues = useMemo(() => mergeIssues(checked ? live : [], server), [checked, live, server]);
  const grouped = useMemo(() => groupIssues(issues), [issues]);
  const steps = spec.steps ?? [];
  const flagged = useMemo(() => {
    const out = new Set(grouped.steps.keys());
    for (const g of grouped.global)
      for (const sid of cycleSteps(g.message)) {
        const i = steps.findIndex((s) => s.id === sid);
        if (i !== -1) out.add(i);
      }
    return out;
  }, [grouped, steps]);
  const pipelineFlagged = grouped.global.some((g) => SHOWN_ON_FIELDS.test(g.path));

  // The open settings stay open if they have a problem; otherwise the first step with one opens.
  // biome-ignore lint/correctness/useExhaustiveDependencies: only a finished check moves the selection
  useEffect(() => {
    if (checks === 0 || (selected !== null && grouped.steps.has(selected))) return;
    const first = Math.min(...flagged);
    if (Number.isFinite(first)) setSelected(first);
    else if (pipelineFlagged) setSelected(null);
  }, [checks]);

  const edit = (next: PipelineSpec) => {
    setSpec(next);
    setNotice(null);
  };

  /** The spec being edited; in the YAML view, the text's (null, with the error shown, if it does not parse). */
  const current = (): PipelineSpec | null => {
    if (mode === 'form') return spec;
    const parsed = parseSpecYaml(yamlText);
    if (!parsed.ok) {
      setYamlError(parsed);
      return null;
    }
    const next = toStepsForm(parsed.spec);
    setSpec(next);
    return next;
  };

  const switchTo = (m: 'form' | 'yaml') => {
    if (m === mode) return;
    if (m === 'yaml') {
      setYamlText(specToYaml(spec));
      setYamlError(null);
      setMode('yaml');
      return;
    }
    const parsed = parseSpecYaml(yamlText);
    if (!parsed.ok) return setYamlError(parsed);
    setYamlError(null);
    setSpec(toStepsForm(parsed.spec));
    setNotice(parsed.spec.flow && !parsed.spec.steps ? SHORT_FORM : null);
    setMode('form');
  };

  const report = (o: Outcome, ok: string) => {
    if (o.kind === 'issues') setServer(o.issues);
    else setServer([]);
    if (o.kind === 'error') setFailure(o.error);
    if (o.kind === 'ok') setNotice(ok);
  };

  /** Both actions start alike: the current draft, the editor's own checks, then `then`. */
  const checkThen = async (
    what: 'validate' | 'save',
    then: (s: PipelineSpec, mine: Issue[]) => Promise<void>,
  ) => {
    const s = current();
    if (!s || (what === 'save' && readOnly)) return;
    setBusy(what);
    setFailure(null);
    setNotice(null);
    try {
      setChecked(true);
      const mine = await clientIssues(qc, s);
      setLive(mine);
      await then(s, mine);
      setChecks((n) => n + 1);
    } finally {
      setBusy(null);
    }
  };

  const validate = () =>
    checkThen('validate', async (s, mine) => {
      if (id) return report(await validateOnServer(id, s), mine.length === 0 ? 'The spec is valid.' : '');
      setServer([]);
      if (mine.length === 0)
        setNotice(
          'No problems found in the editor. The server checks connectors, expressions and credentials when you save.',
        );
    });

  const submit = () =>
    checkThen('save', async (s, mine) => {
      if (mine.length > 0) return;
      const o = await save(id, s);
      if (o.kind !== 'saved') return report(o, '');
      setSaved(JSON.stringify(s));
      void qc.invalidateQueries({ queryKey: ['pipeline', o.pipeline.id] });
      void qc.invalidateQueries({ queryKey: ['versions', o.pipeline.id] });
      void qc.invalidateQueries({ queryKey: ['pipelines'] });
      leaving.current = true;
      void navigate(`/pipelines/${o.pipeline.id}`);
    });

  useSaveShortcut(submit);

  const count = issues.length;
  return (
    <div className="editor">
      <div className="spread">
        <h1>{id ? `Edit ${spec.name || 'pipeline'}` : 'New pipeline'}</h1>
        <div className="row" role="toolbar" aria-label="editor">
          <fieldset className="row segmented">
            <legend className="sr-only">View</legend>
            {VIEWS.map(([m, label]) => (
              <button
                key={m}
                type="button"
                className={mode === m ? '' : 'secondary'}
                aria-pressed={mode === m}
                onClick={() => switchTo(m)}
              >
                {label}
              </button>
            ))}
          </fieldset>
          <button
            type="button"
            className="secondary"
            disabled={busy !== null}
            onClick={() => void validate()}
          >
            {busy === 'validate' ? 'Checking…' : 'Validate'}
          </button>
          {!readOnly && (
            <button type="button" disabled={busy !== null} onClick={() => void submit()} title="Ctrl+S">
              {busy === 'save' ? 'Saving…' : id ? 'Save new version' : 'Create pipeline'}
            </button>
          )}
          <Link className="button secondary" to={id ? `/pipelines/${id}` : '/pipelines'}>
            Cancel
          </Link>
        </div>
      </div>
      {readOnly && <p className="notice">Your role may read pipelines but not change them.</p>}
      <div role="status" aria-live="polite">
        {notice && <p className="notice">{notice}</p>}
        {count > 0 && (
          <p className="error">
            {count} problem{count > 1 ? 's' : ''} to fix
            {mode === 'yaml'
              ? '; each is marked at its line'
              : grouped.steps.size > 0
                ? '; each is shown on the step it concerns, drawn in red'
                : ''}
            .
          </p>
        )}
      </div>
      <ErrorNote error={failure} />
      <IssuePaths
        // The YAML view has no step panels: there every problem is listed with its path.
        issues={mode === 'yaml' ? issues : grouped.global.filter((g) => !SHOWN_ON_FIELDS.test(g.path))}
      />
      {mode === 'yaml' ? (
        <section className="panel">
          <YamlView
            text={yamlText}
            error={yamlError}
            issues={issues}
            readOnly={readOnly}
            onChange={(t) => setYamlText(t)}
          />
        </section>
      ) : (
        <FormView
          spec={spec}
          issues={issues}
          grouped={grouped}
          flagged={flagged}
          pipelineFlagged={pipelineFlagged}
          selected={selected}
          readOnly={readOnly}
          onSelect={setSelected}
          onChange={edit}
          onNotice={setNotice}
          onRenumbered={() => setServer([])}
        />
      )}
    </div>
  );
}

/** Problems the pipeline fields show under themselves. */
const SHOWN_ON_FIELDS = /^(spec\.)?(name|parameters)\b/;

const VIEWS = [
  ['form', 'Form'],
  ['yaml', 'YAML'],
] as const;

const SHORT_FORM =
  'This spec used the short form (flow: at the top); the editor shows it as one step called "main" and saves it that way.';
