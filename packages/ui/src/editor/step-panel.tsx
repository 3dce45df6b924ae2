import { useId } from 'react';
import type { PipelineSpec, StepSpec } from '../api/types.ts';
import type { Value } from '../components/schema-form.tsx';
import { ComponentEditor } from './component-editor.tsx';
import { ConfigForm } from './config-form.tsx';
import { ConnectorPicker } from './connector-picker.tsx';
import { CredentialField } from './credential-field.tsx';
import { IssueList } from './issue-list.tsx';
import type { StepIssues } from './issues.ts';
import {
  addComponent,
  connectorOf,
  moveComponent,
  ROLES,
  removeComponent,
  roleOf,
  setStepKind,
  stepKind,
  updateComponent,
  updateStep,
  withField,
} from './spec-model.ts';
import { StepOptions } from './step-options.tsx';

export interface StepPanelProps {
  spec: PipelineSpec;
  index: number;
  issues: StepIssues | undefined;
  readOnly: boolean;
  onChange: (spec: PipelineSpec) => void;
  onRemove: () => void;
}

/** One step: its options, then its flow's components or its task, with the problems found in it. */
export function StepPanel(props: StepPanelProps) {
  const { spec, index: i, issues, readOnly, onChange } = props;
  const step = spec.steps![i]!;
  const kind = stepKind(step);
  const headingId = useId();
  const set = (f: (s: StepSpec) => StepSpec) => onChange(updateStep(spec, i, f));
  const own = issues?.own ?? [];
  // Problems of fields drawn in StepOptions show there; the rest (flow order, `with`…) above.
  const optionKeys = [
    'id',
    'needs',
    'retry',
    'timeout',
    ...(kind === 'task' ? ['credential'] : ['partitions']),
  ];
  const shownAbove = own.filter((l) => !optionKeys.includes(l.rest.split(/[.[]/)[0]!));
  return (
    <section className={`panel step-panel${issues?.count ? ' has-issues' : ''}`} aria-labelledby={headingId}>
      <div className="spread">
        <h3 id={headingId}>
          Step {i + 1}: {step.id || '(no id)'} <small className="muted">{kind}</small>
          {issues?.count ? (
            <span className="status status-failed">
              {issues.count} problem{issues.count > 1 ? 's' : ''}
            </span>
          ) : null}
        </h3>
        <div className="row">
          <label className="inline">
            <span>Kind</span>
            <select
              value={kind}
              disabled={readOnly}
              onChange={(e) => onChange(setStepKind(spec, i, e.target.value as 'flow' | 'task'))}
            >
              <option value="flow">flow (source → transforms → sinks)</option>
              <option value="task">task (one action)</option>
            </select>
          </label>
          <button type="button" className="secondary" disabled={readOnly} onClick={props.onRemove}>
            Remove step
          </button>
        </div>
      </div>
      <IssueList items={shownAbove} />
      <StepOptions spec={spec} index={i} issues={own} readOnly={readOnly} onChange={onChange} />
      {kind === 'task' ? (
        <div className="stack">
          <div className="grid">
            <ConnectorPicker
              kind="task"
              value={step.task ?? ''}
              disabled={readOnly}
              onChange={(task) => set((s) => ({ ...s, task, with: {} }))}
            />
            <CredentialField
              connector={step.task ?? ''}
              value={step.credential}
              disabled={readOnly}
              error={own.find((l) => l.rest === 'credential')?.message}
              onChange={(credential) => set((s) => withField(s, 'credential', credential))}
            />
          </div>
          <ConfigForm
            kind="task"
            name={step.task ?? ''}
            value={(step.with ?? {}) as Value}
            errors={issues?.config ?? []}
            disabled={readOnly}
            onChange={(v) => set((s) => ({ ...s, with: v }))}
          />
        </div>
      ) : (
        <>
          <h4>Components</h4>
          <ol className="components">
            {(step.flow ?? []).map((c, j, flow) => (
              <ComponentEditor
                // Index, role and connector: a reorder or a new connector remounts the form's local text.
                // biome-ignore lint/suspicious/noArrayIndexKey: components have no identity of their own
                key={`${j}:${roleOf(c)}:${connectorOf(c)}`}
                component={c}
                index={j}
                count={flow.length}
                stepId={step.id}
                issues={issues?.components.get(j)}
                readOnly={readOnly}
                onChange={(next) => onChange(updateComponent(spec, i, j, () => next))}
                onMove={(by) => onChange(moveComponent(spec, i, j, by))}
                onRemove={() => onChange(removeComponent(spec, i, j))}
              />
            ))}
          </ol>
          <div className="row">
            {ROLES.filter(
              (r) => r !== 'source' || !(step.flow ?? []).some((c) => roleOf(c) === 'source'),
            ).map((r) => (
              <button
                key={r}
                type="button"
                className="secondary"
                disabled={readOnly}
                onClick={() => onChange(addComponent(spec, i, r))}
              >
                Add {r}
              </button>
            ))}
          </div>
        </>
      )}
    </section>
  );
}
