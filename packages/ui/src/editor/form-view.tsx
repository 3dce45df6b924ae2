import { type ReactNode, useEffect, useId, useRef } from 'react';
import type { Issue } from '../api/client.ts';
import type { PipelineSpec } from '../api/types.ts';
import { Canvas } from './canvas.tsx';
import type { GroupedIssues } from './issues.ts';
import { PipelineFields } from './pipeline-fields.tsx';
import { addNeed, addStep, cycleIf, newStep, removeNeed, removeStep } from './spec-model.ts';
import { StepPanel } from './step-panel.tsx';

export interface FormViewProps {
  spec: PipelineSpec;
  issues: Issue[];
  grouped: GroupedIssues;
  /** Steps drawn in red: those with problems, and those a reported cycle runs through. */
  flagged: Set<number>;
  /** Whether the pipeline's own fields (name, parameters) have problems. */
  pipelineFlagged: boolean;
  /** The step whose settings are open; null for the pipeline's. */
  selected: number | null;
  readOnly: boolean;
  onSelect: (i: number | null) => void;
  onChange: (spec: PipelineSpec) => void;
  onNotice: (text: string) => void;
  /** After a removal: the server's problems count steps by index, so they point elsewhere now. */
  onRenumbered: () => void;
}

/**
 * The drawing of the steps, filling the page, and beside it (below it on a narrow screen) the
 * settings of the one selected: a step's options and components, or the pipeline's fields.
 */
export function FormView(props: FormViewProps) {
  const { spec, grouped, flagged, selected, readOnly, onSelect, onChange } = props;
  const steps = spec.steps ?? [];
  const headingId = useId();
  const side = useRef<HTMLElement>(null);
  const open = selected !== null && steps[selected] ? selected : null;

  // On a narrow screen the settings sit below the drawing: bring them into view when they change.
  // biome-ignore lint/correctness/useExhaustiveDependencies: `open` is the trigger, not an input
  useEffect(() => {
    const el = side.current;
    if (el && el.getBoundingClientRect?.().top > window.innerHeight)
      el.scrollIntoView?.({ block: 'start', behavior: 'smooth' });
  }, [open]);

  const add = (kind: 'flow' | 'task') => {
    onChange(addStep(spec, newStep(spec, kind)));
    onSelect(steps.length);
  };

  return (
    <div className="editor-workspace">
      <section className="panel editor-main" aria-labelledby={headingId}>
        <h2 id={headingId} className="sr-only">
          Steps
        </h2>
        <div className="spread">
          {/* The drawing's nodes, as buttons: for the keyboard, and for steps off-screen in a big one. */}
          <fieldset className="row step-tabs">
            <legend className="sr-only">Open the settings of</legend>
            <Tab pressed={open === null} flagged={props.pipelineFlagged} onClick={() => onSelect(null)}>
              Pipeline
            </Tab>
            {steps.map((s, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: steps are known by position while their id is typed
              <Tab key={i} pressed={open === i} flagged={flagged.has(i)} onClick={() => onSelect(i)}>
                {s.id || `step ${i + 1}`}
              </Tab>
            ))}
          </fieldset>
          <div className="row">
            {(['flow', 'task'] as const).map((k) => (
              <button key={k} type="button" className="secondary" disabled={readOnly} onClick={() => add(k)}>
                Add {k} step
              </button>
            ))}
          </div>
        </div>
        <p className="hint">
          Click a step to open its settings, the background for the pipeline's. Drag from a step's right
          handle to another's left handle: the second then needs the first. Select an edge and press Delete to
          remove it.
        </p>
        <Canvas
          spec={spec}
          selected={open}
          flagged={flagged}
          readOnly={readOnly}
          onSelect={onSelect}
          onConnect={(from, to) => {
            const cycle = cycleIf(spec, from, to);
            if (cycle) props.onNotice(cycle);
            else onChange(addNeed(spec, from, to));
          }}
          onDisconnect={(from, to) => onChange(removeNeed(spec, from, to))}
        />
        {steps.length === 0 && (
          <p className="muted empty">No steps yet: add a flow step (source → sinks) or a task.</p>
        )}
      </section>
      <aside className="editor-side" ref={side} aria-label="settings">
        {open === null ? (
          <section className="panel" aria-label="pipeline">
            <h2>Pipeline</h2>
            <PipelineFields spec={spec} issues={props.issues} readOnly={readOnly} onChange={onChange} />
          </section>
        ) : (
          <StepPanel
            // A step of its own: its components' local text must not carry over to another step.
            key={open}
            spec={spec}
            index={open}
            issues={grouped.steps.get(open)}
            readOnly={readOnly}
            onChange={onChange}
            onRemove={() => {
              if (!window.confirm(`Remove step "${steps[open]!.id}"?`)) return;
              onChange(removeStep(spec, open));
              props.onRenumbered();
              onSelect(null);
            }}
          />
        )}
      </aside>
    </div>
  );
}

function Tab(props: { pressed: boolean; flagged: boolean; onClick: () => void; children: ReactNode }) {
  return (
    <button
      type="button"
      className={`${props.pressed ? '' : 'secondary'}${props.flagged ? ' flagged' : ''}`}
      aria-pressed={props.pressed}
      onClick={props.onClick}
    >
      {props.children}
      {props.flagged && <span className="sr-only">, has problems</span>}
    </button>
  );
}
