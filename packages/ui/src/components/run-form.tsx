import { useState } from 'react';
import { useNavigate } from 'react-router';
import { api } from '../api/client.ts';
import type { JsonSchema } from '../api/types.ts';
import { ErrorNote } from './feedback.tsx';
import { type FieldError, SchemaFields, type Value, validate } from './schema-form.tsx';

/** Runs a pipeline with parameters from a form generated from its parameter schema. */
export function RunForm({
  pipelineId,
  schema,
  onDone,
}: {
  pipelineId: string;
  schema: JsonSchema | null;
  onDone: () => void;
}) {
  const [params, setParams] = useState<Value>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [shown, setShown] = useState<FieldError[]>([]);
  const navigate = useNavigate();
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    const problems = schema ? validate(schema, params) : [];
    setShown(problems);
    if (problems.length) return;
    setBusy(true);
    setError(null);
    try {
      const r = await api<{ jobId: string }>('POST', `/pipelines/${pipelineId}/execute`, {
        parameters: params,
        triggerType: 'manual',
      });
      onDone();
      void navigate(`/jobs/${r.jobId}`);
    } catch (err) {
      setError(err);
      // Parameter errors come back at paths like body.parameters.minAmount: show them on the field.
      const details = (err as { details?: FieldError[] }).details ?? [];
      setShown(
        details.map((d) => ({ path: d.path.replace(/^(body\.)?parameters\.?/, ''), message: d.message })),
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="stack" onSubmit={submit} aria-label="Run parameters">
      {schema?.properties && Object.keys(schema.properties).length > 0 ? (
        <SchemaFields schema={schema} value={params} onChange={setParams} errors={shown} />
      ) : (
        <p className="muted">This pipeline takes no parameters.</p>
      )}
      <ErrorNote error={error} />
      <div className="row">
        <button type="submit" disabled={busy}>
          {busy ? 'Starting…' : 'Start run'}
        </button>
        <button type="button" className="secondary" onClick={onDone}>
          Close
        </button>
      </div>
    </form>
  );
}
