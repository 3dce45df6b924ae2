import { useId, useState } from 'react';
import type { Issue } from '../api/client.ts';
import type { JsonSchema, PipelineSpec } from '../api/types.ts';
import { withField } from './spec-model.ts';

/** Name, description and the run parameters' JSON Schema (edited as JSON). */
export function PipelineFields({
  spec,
  issues,
  readOnly,
  onChange,
}: {
  spec: PipelineSpec;
  issues: Issue[];
  readOnly: boolean;
  onChange: (spec: PipelineSpec) => void;
}) {
  const id = useId();
  const [paramsText, setParamsText] = useState(() =>
    spec.parameters ? JSON.stringify(spec.parameters, null, 2) : '',
  );
  const [paramsError, setParamsError] = useState<string | null>(null);
  const at = (p: string) =>
    issues
      .filter((i) => i.path.replace(/^spec\./, '') === p || i.path.replace(/^spec\./, '').startsWith(`${p}.`))
      .map((i) => i.message)
      .join('; ');
  const nameError = at('name');
  const paramsProblem = paramsError ?? (at('parameters') || null);
  return (
    <div className="pipeline-fields">
      <label>
        <span>
          Name <span aria-hidden="true">*</span>
        </span>
        <small>Letters, digits, _ . - ; it names the pipeline's state directory too.</small>
        <input
          value={spec.name}
          required
          disabled={readOnly}
          aria-invalid={nameError ? true : undefined}
          aria-describedby={nameError ? `${id}-name-err` : undefined}
          onChange={(e) => onChange({ ...spec, name: e.target.value })}
        />
        {nameError && (
          <span className="field-error" id={`${id}-name-err`}>
            {nameError}
          </span>
        )}
      </label>
      <label>
        <span>Description</span>
        <input
          value={spec.description ?? ''}
          disabled={readOnly}
          onChange={(e) => onChange(withField(spec, 'description', e.target.value))}
        />
      </label>
      <label>
        <span>Parameters</span>
        <small>
          Optional JSON Schema of the run parameters (an object schema: properties, required, defaults);
          expressions see them as <code>params</code>.
        </small>
        <textarea
          rows={Math.min(14, Math.max(3, paramsText.split('\n').length))}
          value={paramsText}
          disabled={readOnly}
          placeholder={
            '{ "type": "object", "properties": { "minAmount": { "type": "number", "default": 0 } } }'
          }
          aria-invalid={paramsProblem ? true : undefined}
          aria-describedby={paramsProblem ? `${id}-params-err` : undefined}
          onChange={(e) => {
            const text = e.target.value;
            setParamsText(text);
            if (text.trim() === '') {
              setParamsError(null);
              return onChange(withField(spec, 'parameters', undefined));
            }
            try {
              const parsed = JSON.parse(text) as unknown;
              if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
                return setParamsError('must be a JSON object (a JSON Schema)');
              setParamsError(null);
              onChange({ ...spec, parameters: parsed as JsonSchema });
            } catch (err) {
              setParamsError(`not valid JSON: ${(err as Error).message}`);
            }
          }}
        />
        {paramsProblem && (
          <span className="field-error" id={`${id}-params-err`}>
            {paramsProblem}
          </span>
        )}
      </label>
    </div>
  );
}
