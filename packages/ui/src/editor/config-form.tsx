import type { Connector } from '../api/types.ts';
import { ErrorNote, Loading } from '../components/feedback.tsx';
import { type FieldError, SchemaFields, type Value } from '../components/schema-form.tsx';
import { useConnectorSchema } from './catalog.ts';

/** A connector's config form, generated from the JSON Schema the server has for it. */
export function ConfigForm({
  kind,
  name,
  value,
  onChange,
  errors,
  disabled,
}: {
  kind: Connector['kind'];
  name: string;
  value: Value;
  onChange: (v: Value) => void;
  errors: FieldError[];
  disabled?: boolean;
}) {
  const schema = useConnectorSchema(kind, name);
  if (!name) return null;
  if (schema.isPending) return <Loading what={`Loading the ${name} settings`} />;
  if (schema.error) return <ErrorNote error={schema.error} />;
  // A disabled fieldset disables every control inside: a viewer reads the form, nothing more.
  return (
    <fieldset disabled={disabled} className="config">
      <legend>{name} settings</legend>
      <SchemaFields schema={schema.data} value={value} onChange={onChange} errors={errors} />
      {errors
        .filter((e) => e.path !== '' && !(e.path.split('.')[0]! in (schema.data.properties ?? {})))
        .map((e) => (
          <span key={`${e.path}:${e.message}`} className="field-error">
            <code>{e.path}</code> {e.message}
          </span>
        ))}
    </fieldset>
  );
}
