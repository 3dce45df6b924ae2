import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { ApiError, api } from '../api/client.ts';
import type { JsonSchema } from '../api/types.ts';
import { ErrorNote } from '../components/feedback.tsx';
import { KeyValueRows, objectOf, type Pair } from '../components/key-value-rows.tsx';
import { type FieldError, SchemaFields, type Value, validate } from '../components/schema-form.tsx';
import { useConnectors } from '../editor/catalog.ts';
import { ConnectorPicker } from '../editor/connector-picker.tsx';

// A map of strings (a shell task's `env`): edited as name/value rows, not as the JSON text
// schema-form gives maps, so its values can be masked like every other secret.
const isMap = (s: JsonSchema) =>
  s.type === 'object' && !s.properties && typeof s.additionalProperties === 'object';

/** The connector's credential schema split into the fields schema-form renders and the maps. */
function split(schema: JsonSchema) {
  const entries = Object.entries(schema.properties ?? {});
  const plain = Object.fromEntries(entries.filter(([, s]) => !isMap(s)));
  return {
    plain: { ...schema, properties: plain, required: schema.required?.filter((r) => r in plain) },
    maps: entries.filter(([, s]) => isMap(s)),
  };
}

/** The save's errors at `body.data.<field>`, as schema-form's paths (`url`), to show at the field. */
const dataIssues = (error: unknown): FieldError[] =>
  error instanceof ApiError
    ? error.details
        .filter((d) => d.path.startsWith('body.data.'))
        .map((d) => ({ path: d.path.slice('body.data.'.length), message: d.message }))
    : [];

function SchemaData({
  schema,
  value,
  maps,
  onValue,
  onMaps,
  errors,
}: {
  schema: JsonSchema;
  value: Value;
  maps: Record<string, Pair[]>;
  onValue: (v: Value) => void;
  onMaps: (m: Record<string, Pair[]>) => void;
  errors: FieldError[];
}) {
  const { plain, maps: mapFields } = split(schema);
  return (
    <>
      {Object.keys(plain.properties).length > 0 && (
        <SchemaFields schema={plain} value={value} onChange={onValue} errors={errors} />
      )}
      {mapFields.map(([name, s]) => (
        <fieldset key={name}>
          <legend>{s.title ?? name}</legend>
          {s.description && <small className="hint">{s.description}</small>}
          <KeyValueRows
            rows={maps[name] ?? []}
            onChange={(rows) => onMaps({ ...maps, [name]: rows })}
            noun={name}
            secret={s.writeOnly === true}
          />
          {errors
            .filter((e) => e.path === name || e.path.startsWith(`${name}.`))
            .map((e) => (
              <span key={e.path} className="field-error">
                {e.path.slice(name.length + 1) || name} {e.message}
              </span>
            ))}
        </fieldset>
      ))}
    </>
  );
}

export function NewCredential({ onDone }: { onDone: () => void }) {
  const catalog = useConnectors();
  const [name, setName] = useState('');
  const [connectorType, setType] = useState('');
  const [other, setOther] = useState(false);
  const [value, setValue] = useState<Value>({});
  const [maps, setMaps] = useState<Record<string, Pair[]>>({});
  const [free, setFree] = useState<Pair[]>([['', '']]);
  const [tried, setTried] = useState(false);
  // Another connector's fields mean nothing here: start its form afresh.
  const pick = (type: string) => {
    setType(type);
    setValue({});
    setMaps({});
    setTried(false);
  };
  const schema = (catalog.data ?? []).find(
    (c) => c.name === connectorType && c.credentialSchema,
  )?.credentialSchema;
  const data = (): Record<string, unknown> => {
    if (!schema) return objectOf(free);
    const out: Record<string, unknown> = { ...value };
    for (const [k, rows] of Object.entries(maps)) if (rows.some(([n]) => n.trim())) out[k] = objectOf(rows);
    return out;
  };
  const mapsMissing = schema
    ? split(schema)
        .maps.filter(([k]) => schema.required?.includes(k) && !Object.keys(objectOf(maps[k] ?? [])).length)
        .map(([k]) => ({ path: k, message: 'is required: add at least one' }))
    : [];
  const local = schema && tried ? [...validate(split(schema).plain, value), ...mapsMissing] : [];
  const create = useMutation({
    mutationFn: () => api('POST', '/credentials', { name, connectorType, data: data() }),
    onSuccess: onDone,
  });
  const errors = [...local, ...dataIssues(create.error)];
  return (
    <form
      className="stack"
      aria-label="New credential"
      onSubmit={(e) => {
        e.preventDefault();
        setTried(true);
        if (!schema || (validate(split(schema).plain, value).length === 0 && mapsMissing.length === 0))
          create.mutate();
      }}
    >
      <label>
        Name{' '}
        <small>
          Steps use it as <code>credential: {name || '<name>'}</code>.
        </small>
        <input
          value={name}
          onChange={(e) => setName(e.target.value)}
          required
          pattern="[A-Za-z0-9][A-Za-z0-9_.\-]*"
        />
      </label>
      {other ? (
        <label>
          Used by{' '}
          <small>
            Not a connector: e.g. <code>smtp</code> for an alert e-mail channel.
          </small>
          <input value={connectorType} onChange={(e) => setType(e.target.value)} required />
        </label>
      ) : (
        <ConnectorPicker value={connectorType} onChange={pick} />
      )}
      <div>
        <button type="button" className="link" onClick={() => setOther(!other)}>
          {other ? 'Pick a connector from the catalogue' : 'Not for a connector? Type a name'}
        </button>
      </div>
      {connectorType !== '' && (
        <fieldset>
          <legend>Fields (encrypted; secrets are never shown again)</legend>
          {schema ? (
            <SchemaData
              schema={schema}
              value={value}
              maps={maps}
              onValue={setValue}
              onMaps={setMaps}
              errors={errors}
            />
          ) : (
            <>
              <small className="hint">
                {connectorType} declares no credential fields: give the config fields it should fill in.
              </small>
              <KeyValueRows rows={free} onChange={setFree} noun="field" secret />
            </>
          )}
        </fieldset>
      )}
      <ErrorNote error={create.error} />
      <button type="submit" disabled={create.isPending || connectorType === ''}>
        Save credential
      </button>
    </form>
  );
}
