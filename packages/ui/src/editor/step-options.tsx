import { useId, useState } from 'react';
import type { PipelineSpec, StepSpec } from '../api/types.ts';
import { Labelled } from '../components/labelled.tsx';
import type { Location } from './issues.ts';
import { addNeed, cycleIf, removeNeed, renameStep, updateStep, withField } from './spec-model.ts';

const DIGITS = /^\d+$/;

/** id, needs, retry attempts and timeout: what every step has, flow or task; a flow's partitions. */
export function StepOptions({
  spec,
  index: i,
  issues,
  readOnly,
  onChange,
}: {
  spec: PipelineSpec;
  index: number;
  issues: Location[];
  readOnly: boolean;
  onChange: (spec: PipelineSpec) => void;
}) {
  const step = spec.steps![i]!;
  const others = (spec.steps ?? []).filter((_, k) => k !== i);
  const errorAt = (field: string) =>
    issues
      .filter((l) => l.rest === field || l.rest.startsWith(`${field}.`) || l.rest.startsWith(`${field}[`))
      .map((l) => l.message)
      .join('; ') || undefined;
  const set = (f: (s: StepSpec) => StepSpec) => onChange(updateStep(spec, i, f));
  const needsId = useId();
  const [refused, setRefused] = useState<string | null>(null);
  const needsError = [refused, errorAt('needs')].filter(Boolean).join('; ') || undefined;
  return (
    <div className="grid step-options">
      <Labelled
        label="Step id"
        hint="Letters, digits, _ . - ; other steps' needs follow a rename."
        error={errorAt('id')}
      >
        {(aria) => (
          <input
            value={step.id}
            required
            disabled={readOnly}
            onChange={(e) => onChange(renameStep(spec, i, e.target.value))}
            {...aria}
          />
        )}
      </Labelled>
      <fieldset aria-describedby={needsError ? `${needsId}-err` : undefined}>
        <legend>Needs</legend>
        <small className="hint">Steps that must succeed first (or draw an edge into this step).</small>
        {others.length === 0 && <small className="muted">No other steps.</small>}
        {others.map((o) => (
          <label key={o.id} className="inline">
            <input
              type="checkbox"
              disabled={readOnly || !o.id}
              checked={step.needs?.includes(o.id) ?? false}
              onChange={(e) => {
                if (!e.target.checked) return onChange(removeNeed(spec, o.id, step.id));
                const cycle = cycleIf(spec, o.id, step.id);
                setRefused(cycle);
                if (!cycle) onChange(addNeed(spec, o.id, step.id));
              }}
            />
            {o.id || '(no id)'}
          </label>
        ))}
        {(step.needs ?? [])
          .filter((n) => !others.some((o) => o.id === n))
          .map((n) => (
            <label key={n} className="inline">
              <input
                type="checkbox"
                checked
                disabled={readOnly}
                onChange={() => onChange(removeNeed(spec, n, step.id))}
              />
              {n} <small className="muted">(no such step)</small>
            </label>
          ))}
        {needsError && (
          <span className="field-error" id={`${needsId}-err`}>
            {needsError}
          </span>
        )}
      </fieldset>
      <Labelled
        label="Retry attempts"
        hint="Total attempts, the first included (default 3)."
        error={errorAt('retry')}
      >
        {(aria) => (
          <input
            type="number"
            min={1}
            step={1}
            placeholder="3"
            disabled={readOnly}
            value={step.retry?.attempts ?? ''}
            onChange={(e) =>
              set((s) => {
                if (e.target.value !== '')
                  return { ...s, retry: { ...s.retry, attempts: Number(e.target.value) } };
                // A backoff written in YAML stays (with the default attempts: retry needs them).
                const { attempts, ...rest } = s.retry ?? { attempts: 3 };
                void attempts;
                return withField(s, 'retry', Object.keys(rest).length ? { ...rest, attempts: 3 } : undefined);
              })
            }
            {...aria}
          />
        )}
      </Labelled>
      <Labelled
        label="Timeout"
        hint="Milliseconds or 500ms, 30s, 5m, 1h; none by default."
        error={errorAt('timeout')}
      >
        {(aria) => (
          <input
            value={step.timeout === undefined ? '' : String(step.timeout)}
            placeholder="e.g. 10m"
            disabled={readOnly}
            onChange={(e) => {
              const v = e.target.value.trim();
              set((s) => withField(s, 'timeout', DIGITS.test(v) ? Number(v) : v));
            }}
            {...aria}
          />
        )}
      </Labelled>
      {step.flow && (
        <Labelled
          label="Partitions"
          hint="Platform: cut the input into this many parts (2–256), run by every worker; none by default."
          error={errorAt('partitions')}
        >
          {(aria) => (
            <input
              type="number"
              min={2}
              max={256}
              step={1}
              placeholder="none"
              disabled={readOnly}
              value={step.partitions ?? ''}
              onChange={(e) =>
                set((s) =>
                  withField(s, 'partitions', e.target.value === '' ? undefined : Number(e.target.value)),
                )
              }
              {...aria}
            />
          )}
        </Labelled>
      )}
    </div>
  );
}
