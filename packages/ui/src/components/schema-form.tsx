import { useId, useState } from 'react';
import type { JsonSchema } from '../api/types.ts';
import { SecretInput } from './secret-input.tsx';

// The server's wording (core's ajvIssues): a word as itself, anything else as JSON.
const show = (v: unknown) =>
  typeof v === 'string' && /^[A-Za-z][\w.-]*$/.test(v) ? v : (JSON.stringify(v) ?? String(v));

// A form generated from a JSON Schema (connector configs, pipeline parameters): the common
// shapes get real controls, anything else (unions, maps, arrays of objects) a JSON field, so no
// schema is ever unrepresentable. The server validates again; this gives messages as you type.

export type Value = Record<string, unknown>;
export interface FieldError {
  path: string;
  message: string;
}

const typeOf = (s: JsonSchema): string | undefined => {
  if (Array.isArray(s.type)) return s.type.find((t) => t !== 'null');
  if (s.type) return s.type;
  if (s.enum) return 'enum';
  if (s.const !== undefined) return 'const';
  return undefined;
};

/** Enum choices from `enum` or a union of `const`s (how TypeBox writes literal unions). */
function choices(s: JsonSchema): unknown[] | null {
  if (s.enum) return s.enum;
  const alts = s.anyOf ?? s.oneOf;
  if (alts?.every((a) => a.const !== undefined)) return alts.map((a) => a.const);
  return null;
}

const isPrimitiveArray = (s: JsonSchema) =>
  typeOf(s) === 'array' && ['string', 'number', 'integer'].includes(typeOf(s.items ?? {}) ?? '');

/** The types of a union of plain strings and numbers (a duration: `30000` or `"30s"`), else null. */
function primitiveUnion(s: JsonSchema): string[] | null {
  const alts = s.anyOf ?? s.oneOf;
  if (!alts || alts.length === 0) return null;
  const types = alts.map((a) =>
    typeof a.type === 'string' && a.const === undefined && !a.enum ? a.type : '',
  );
  return types.every((t) => ['string', 'number', 'integer'].includes(t)) ? types : null;
}

/** A required property with a default is filled in by the server: the user need not give it. */
const mustGive = (parent: JsonSchema, name: string) =>
  (parent.required ?? []).includes(name) && parent.properties?.[name]?.default === undefined;

/** Client-side problems of `value` against `schema`, with paths like `where`, `set.total`. */
export function validate(schema: JsonSchema, value: unknown, path = ''): FieldError[] {
  const out: FieldError[] = [];
  const at = (p: string) => (path ? `${path}.${p}` : p);
  if (typeOf(schema) === 'object' && schema.properties) {
    const v = (value ?? {}) as Value;
    for (const r of schema.required ?? [])
      if (mustGive(schema, r) && (v[r] === undefined || v[r] === ''))
        out.push({ path: at(r), message: 'is required' });
    for (const [k, sub] of Object.entries(schema.properties))
      if (v[k] !== undefined) out.push(...validate(sub, v[k], at(k)));
    return out;
  }
  const options = choices(schema);
  if (options && value !== undefined && !options.includes(value))
    out.push({ path, message: `must be one of: ${options.map(show).join(', ')}` });
  const union = primitiveUnion(schema);
  if (union) {
    const fits = (schema.anyOf ?? schema.oneOf ?? []).some(
      (alt) => validate(alt, value).length === 0 && matchesType(alt, value),
    );
    if (!fits) out.push({ path, message: describeUnion(schema.anyOf ?? schema.oneOf ?? []) });
    return out;
  }
  const t = typeOf(schema);
  if ((t === 'integer' || t === 'number') && typeof value === 'number') {
    if (t === 'integer' && !Number.isInteger(value)) out.push({ path, message: 'must be a whole number' });
    if (schema.minimum !== undefined && value < schema.minimum)
      out.push({ path, message: `must be ≥ ${schema.minimum}` });
    if (schema.maximum !== undefined && value > schema.maximum)
      out.push({ path, message: `must be ≤ ${schema.maximum}` });
  }
  if (t === 'string' && typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength)
      out.push({ path, message: `needs at least ${schema.minLength} characters` });
    if (schema.pattern && !new RegExp(schema.pattern).test(value))
      out.push({ path, message: `must match ${schema.pattern}` });
  }
  return out;
}

function matchesType(s: JsonSchema, v: unknown): boolean {
  const t = typeOf(s);
  if (t === 'string') return typeof v === 'string';
  if (t === 'integer') return typeof v === 'number' && Number.isInteger(v);
  if (t === 'number') return typeof v === 'number';
  return true;
}

function describeUnion(alts: JsonSchema[]): string {
  const noun: Record<string, string> = { integer: 'a whole number', number: 'a number', string: 'text' };
  const parts = alts.map((a) => {
    const base = noun[typeOf(a) ?? ''] ?? 'a value';
    return a.pattern ? `${base} matching ${a.pattern}` : base;
  });
  return `must be ${parts.join(' or ')}`;
}

interface FieldProps {
  name: string;
  schema: JsonSchema;
  value: unknown;
  required: boolean;
  onChange: (v: unknown) => void;
  errors: FieldError[];
  path: string;
}

function JsonField({ name, schema, value, onChange, label }: FieldProps & { label: React.ReactNode }) {
  const [text, setText] = useState(() => (value === undefined ? '' : JSON.stringify(value, null, 2)));
  const [bad, setBad] = useState<string | null>(null);
  return (
    <label>
      {label}
      <textarea
        name={name}
        rows={Math.min(10, Math.max(2, text.split('\n').length))}
        value={text}
        placeholder={schema.default === undefined ? 'JSON' : JSON.stringify(schema.default)}
        onChange={(e) => {
          setText(e.target.value);
          if (e.target.value.trim() === '') {
            setBad(null);
            return onChange(undefined);
          }
          try {
            onChange(JSON.parse(e.target.value));
            setBad(null);
          } catch (err) {
            setBad(`not valid JSON: ${(err as Error).message}`);
          }
        }}
      />
      {bad && <span className="field-error">{bad}</span>}
    </label>
  );
}

interface TextControlProps {
  id: string;
  schema: JsonSchema;
  name: string;
  value: unknown;
  onChange: (v: unknown) => void;
  aria: Record<string, unknown>;
}

const placeholderOf = (s: JsonSchema): string =>
  s.default === undefined ? '' : Array.isArray(s.default) ? s.default.join('\n') : String(s.default);

/**
 * A list of strings or numbers, one per line. The text is kept as typed (a blank line, a half
 * typed "1.") and only the finished items reach the value: numbers would otherwise turn a new
 * empty line into 0 under the cursor.
 */
function LinesField({ id, schema, name, value, onChange, aria }: TextControlProps) {
  const numeric = typeOf(schema.items ?? {}) !== 'string';
  const [text, setText] = useState(() => (Array.isArray(value) ? value.map(String).join('\n') : ''));
  return (
    <textarea
      id={id}
      name={name}
      rows={Math.max(2, text.split('\n').length)}
      value={text}
      placeholder={placeholderOf(schema)}
      onChange={(e) => {
        setText(e.target.value);
        const items = e.target.value.split('\n').filter((x) => x.trim() !== '');
        if (items.length === 0) return onChange(undefined);
        onChange(numeric ? items.map((x) => Number(x.trim())) : items);
      }}
      {...aria}
    />
  );
}

/** A union of text and numbers (a duration): digits only become a number when the union takes one. */
function UnionField({ id, schema, name, value, onChange, aria }: TextControlProps) {
  const types = primitiveUnion(schema) ?? [];
  const numeric = types.includes('number') || types.includes('integer');
  return (
    <input
      id={id}
      name={name}
      value={value === undefined ? '' : String(value)}
      placeholder={placeholderOf(schema)}
      onChange={(e) => {
        const v = e.target.value;
        if (v === '') return onChange(undefined);
        const n = Number(v);
        onChange(
          numeric && v.trim() !== '' && Number.isFinite(n) && /^-?[\d.]+(e-?\d+)?$/i.test(v.trim()) ? n : v,
        );
      }}
      {...aria}
    />
  );
}

function Field(props: FieldProps) {
  const { name, schema, value, required, onChange, errors, path } = props;
  const id = useId();
  const mine = errors.filter((e) => e.path === path);
  const label = (
    <>
      <span>
        {schema.title ?? name}
        {required && <span aria-hidden="true"> *</span>}
      </span>
      {schema.description && <small>{schema.description}</small>}
    </>
  );
  const messages = mine.length > 0 && (
    <span className="field-error" id={`${id}-err`}>
      {mine.map((e) => e.message).join('; ')}
    </span>
  );
  const aria = {
    'aria-invalid': mine.length > 0,
    'aria-describedby': mine.length ? `${id}-err` : undefined,
    'aria-required': required,
  };
  const options = choices(schema);
  const t = typeOf(schema);
  if (options) {
    return (
      <label>
        {label}
        <select
          name={name}
          value={value === undefined ? '' : String(value)}
          onChange={(e) =>
            onChange(e.target.value === '' ? undefined : options.find((o) => String(o) === e.target.value))
          }
          {...aria}
        >
          <option value="">
            {schema.default === undefined ? '—' : `default (${String(schema.default)})`}
          </option>
          {options.map((o) => (
            <option key={String(o)} value={String(o)}>
              {String(o)}
            </option>
          ))}
        </select>
        {messages}
      </label>
    );
  }
  if (t === 'boolean') {
    return (
      <label className="inline">
        <input
          type="checkbox"
          name={name}
          checked={value === undefined ? schema.default === true : value === true}
          onChange={(e) => onChange(e.target.checked)}
          {...aria}
        />
        {label}
        {messages}
      </label>
    );
  }
  if (t === 'integer' || t === 'number') {
    return (
      <label>
        {label}
        <input
          type="number"
          name={name}
          step={t === 'integer' ? 1 : 'any'}
          min={schema.minimum}
          max={schema.maximum}
          value={value === undefined ? '' : String(value)}
          placeholder={schema.default === undefined ? '' : String(schema.default)}
          onChange={(e) => onChange(e.target.value === '' ? undefined : Number(e.target.value))}
          {...aria}
        />
        {messages}
      </label>
    );
  }
  if (t === 'string') {
    const text = {
      id: `${id}-control`,
      name,
      value: value === undefined ? '' : String(value),
      placeholder: schema.default === undefined ? '' : String(schema.default),
      ...aria,
    };
    const set = (v: string) => onChange(v === '' ? undefined : v);
    return (
      <label htmlFor={text.id}>
        {label}
        {schema.writeOnly || schema.format === 'password' ? (
          <SecretInput label={schema.title ?? name} onChange={set} {...text} />
        ) : (
          <input onChange={(e) => set(e.target.value)} {...text} />
        )}
        {messages}
      </label>
    );
  }
  const Text = isPrimitiveArray(schema) ? LinesField : primitiveUnion(schema) ? UnionField : null;
  if (Text) {
    const control = { id: `${id}-control`, schema, name, value, onChange, aria };
    return (
      <label htmlFor={control.id}>
        {label}
        {Text === LinesField && <small>One per line.</small>}
        <Text {...control} />
        {messages}
      </label>
    );
  }
  if (t === 'object' && schema.properties) {
    return (
      <fieldset>
        <legend>
          {schema.title ?? name}
          {required && <span aria-hidden="true"> *</span>}
        </legend>
        {schema.description && <small className="hint">{schema.description}</small>}
        {messages}
        <SchemaFields
          schema={schema}
          value={(value ?? {}) as Value}
          onChange={(v) => onChange(Object.keys(v).length ? v : undefined)}
          errors={errors}
          path={path}
        />
      </fieldset>
    );
  }
  return (
    <>
      <JsonField {...props} label={label} />
      {messages}
    </>
  );
}

export function SchemaFields({
  schema,
  value,
  onChange,
  errors = [],
  path = '',
}: {
  schema: JsonSchema;
  value: Value;
  onChange: (v: Value) => void;
  errors?: FieldError[];
  path?: string;
}) {
  const props = schema.properties ?? {};
  if (Object.keys(props).length === 0) return <p className="muted">No settings.</p>;
  return (
    <>
      {Object.entries(props).map(([name, sub]) => (
        <Field
          key={name}
          name={name}
          schema={sub}
          value={value[name]}
          required={mustGive(schema, name)}
          path={path ? `${path}.${name}` : name}
          errors={errors}
          onChange={(v) => {
            const next = { ...value };
            if (v === undefined) delete next[name];
            else next[name] = v;
            onChange(next);
          }}
        />
      ))}
    </>
  );
}
