import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { useState } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import type { JsonSchema } from '../src/api/types.ts';
import { type FieldError, SchemaFields, type Value, validate } from '../src/components/schema-form.tsx';

afterEach(cleanup);

// A connector-like config schema with one property of each shape SchemaFields draws.
const schema: JsonSchema = {
  type: 'object',
  required: ['path', 'schema', 'mode'],
  properties: {
    path: { type: 'string', description: 'File to read.', minLength: 1 },
    schema: { type: 'string', default: 'public', description: 'Target schema.' },
    batchRows: { type: 'integer', minimum: 1, maximum: 1000, default: 500, description: 'Rows per batch.' },
    ratio: { type: 'number' },
    header: { type: 'boolean', default: true, description: 'First line names the columns.' },
    mode: { type: 'string', enum: ['append', 'truncate', 'upsert'], default: 'append' },
    onError: { anyOf: [{ const: 'quarantine' }, { const: 'fail' }] },
    key: { type: 'array', items: { type: 'string' }, description: 'Key columns.' },
    ports: { type: 'array', items: { type: 'integer' } },
    timeout: {
      anyOf: [
        { type: 'integer', minimum: 0 },
        { type: 'string', pattern: '^\\d+(ms|s|m|h)$' },
      ],
    },
    tls: {
      type: 'object',
      description: 'TLS settings.',
      required: ['ca'],
      properties: { ca: { type: 'string', description: 'CA file.' }, verify: { type: 'boolean' } },
    },
    set: { type: 'object', additionalProperties: { type: 'string' }, description: 'Columns to compute.' },
  },
};

function Harness({
  initial = {},
  errors,
  onValue,
}: {
  initial?: Value;
  errors?: FieldError[];
  onValue?: (v: Value) => void;
}) {
  const [value, setValue] = useState<Value>(initial);
  return (
    <form>
      <SchemaFields
        schema={schema}
        value={value}
        errors={errors ?? validate(schema, value)}
        onChange={(v) => {
          setValue(v);
          onValue?.(v);
        }}
      />
    </form>
  );
}

const control = (name: string) => {
  const el = document.querySelector(`[name="${name}"]`);
  if (!el) throw new Error(`no control named ${name}`);
  return el as HTMLInputElement;
};

describe('SchemaFields', () => {
  it('draws a control per type', () => {
    render(<Harness />);
    expect(control('path').type).toBe('text');
    expect(control('batchRows').type).toBe('number');
    expect(control('batchRows').step).toBe('1');
    expect(control('batchRows').min).toBe('1');
    expect(control('ratio').step).toBe('any');
    expect(control('header').type).toBe('checkbox');
    expect(control('mode').tagName).toBe('SELECT');
    expect(control('onError').tagName).toBe('SELECT');
    expect(control('key').tagName).toBe('TEXTAREA');
    expect(control('timeout').tagName).toBe('INPUT');
    // An object with properties is a fieldset of its own fields; a map is edited as JSON.
    expect(screen.getByRole('group', { name: /tls/ })).toBeTruthy();
    expect(control('ca').type).toBe('text');
    expect(control('set').tagName).toBe('TEXTAREA');
    expect(control('set').placeholder).toBe('JSON');
  });

  it('labels controls with their names, descriptions and required markers', () => {
    render(<Harness />);
    expect(screen.getByLabelText(/^path/).getAttribute('name')).toBe('path');
    expect(screen.getByText('File to read.')).toBeTruthy();
    expect(screen.getByText('Rows per batch.')).toBeTruthy();
    expect(screen.getByText('TLS settings.')).toBeTruthy();
    expect(control('path').getAttribute('aria-required')).toBe('true');
    // Required but with a default: the server fills it in, so it is not marked.
    expect(control('schema').getAttribute('aria-required')).toBe('false');
    expect(control('mode').getAttribute('aria-required')).toBe('false');
  });

  it('shows defaults as placeholders, the default choice and the default checkbox state', () => {
    render(<Harness />);
    expect(control('schema').placeholder).toBe('public');
    expect(control('batchRows').placeholder).toBe('500');
    expect(control('header').checked).toBe(true);
    expect((control('mode') as unknown as HTMLSelectElement).options[0]!.text).toBe('default (append)');
    expect(control('mode').value).toBe('');
  });

  it('offers the choices of an enum and of a union of consts', () => {
    render(<Harness />);
    const texts = (name: string) =>
      [...(control(name) as unknown as HTMLSelectElement).options].map((o) => o.value);
    expect(texts('mode')).toEqual(['', 'append', 'truncate', 'upsert']);
    expect(texts('onError')).toEqual(['', 'quarantine', 'fail']);
  });

  it('turns input into typed values and drops emptied fields', () => {
    const seen: Value[] = [];
    render(<Harness onValue={(v) => seen.push(v)} />);
    fireEvent.change(control('path'), { target: { value: 'a.csv' } });
    fireEvent.change(control('batchRows'), { target: { value: '20' } });
    fireEvent.change(control('mode'), { target: { value: 'upsert' } });
    fireEvent.click(control('header'));
    fireEvent.change(control('ca'), { target: { value: 'ca.pem' } });
    fireEvent.change(control('set'), { target: { value: '{"total": "a * b"}' } });
    expect(seen.at(-1)).toEqual({
      path: 'a.csv',
      batchRows: 20,
      mode: 'upsert',
      header: false,
      tls: { ca: 'ca.pem' },
      set: { total: 'a * b' },
    });
    fireEvent.change(control('path'), { target: { value: '' } });
    fireEvent.change(control('ca'), { target: { value: '' } });
    expect(seen.at(-1)).not.toHaveProperty('path');
    expect(seen.at(-1)).not.toHaveProperty('tls');
  });

  it('edits a list one item per line, keeping a half-typed line', () => {
    const seen: Value[] = [];
    render(<Harness onValue={(v) => seen.push(v)} />);
    fireEvent.change(control('key'), { target: { value: 'id\nregion\n' } });
    expect(seen.at(-1)?.key).toEqual(['id', 'region']);
    expect(control('key').value).toBe('id\nregion\n');
    fireEvent.change(control('ports'), { target: { value: '80\n' } });
    expect(seen.at(-1)?.ports).toEqual([80]);
    expect(control('ports').value).toBe('80\n');
  });

  it('reads a number in a union that takes one, text otherwise', () => {
    const seen: Value[] = [];
    render(<Harness onValue={(v) => seen.push(v)} />);
    fireEvent.change(control('timeout'), { target: { value: '30000' } });
    expect(seen.at(-1)?.timeout).toBe(30000);
    fireEvent.change(control('timeout'), { target: { value: '30s' } });
    expect(seen.at(-1)?.timeout).toBe('30s');
  });

  it('says when JSON does not parse', () => {
    render(<Harness />);
    fireEvent.change(control('set'), { target: { value: '{"total": ' } });
    expect(screen.getByText(/not valid JSON/)).toBeTruthy();
  });

  it('shows validation messages under their fields, tied by aria-describedby', () => {
    render(<Harness initial={{ batchRows: 0, tls: {}, timeout: 'soon' }} />);
    const rows = control('batchRows');
    expect(rows.getAttribute('aria-invalid')).toBe('true');
    const described = document.getElementById(rows.getAttribute('aria-describedby')!);
    expect(described?.textContent).toBe('must be ≥ 1');
    expect(control('path').getAttribute('aria-invalid')).toBe('true');
    expect(control('ca').getAttribute('aria-invalid')).toBe('true');
    expect(control('timeout').getAttribute('aria-invalid')).toBe('true');
    expect(control('schema').getAttribute('aria-invalid')).toBe('false');
  });

  it('shows problems the server found, at their paths (nested ones too)', () => {
    render(
      <Harness
        initial={{ path: 'x' }}
        errors={[
          { path: 'path', message: 'file x does not exist' },
          { path: 'tls.ca', message: 'is not a PEM file' },
          { path: 'set', message: 'must be object' },
        ]}
      />,
    );
    expect(screen.getByText('file x does not exist')).toBeTruthy();
    expect(screen.getByText('is not a PEM file')).toBeTruthy();
    expect(screen.getByText('must be object')).toBeTruthy();
    expect(control('ca').getAttribute('aria-invalid')).toBe('true');
  });

  it('says so when a connector has no settings', () => {
    render(<SchemaFields schema={{ type: 'object', properties: {} }} value={{}} onChange={() => {}} />);
    expect(screen.getByText('No settings.')).toBeTruthy();
  });
});

describe('validate', () => {
  it('reports what is missing, out of range, off pattern or off the list, with paths', () => {
    const issues = validate(schema, {
      batchRows: 1.5,
      ratio: 2,
      mode: 'merge',
      onError: 'ignore',
      timeout: '10 minutes',
      tls: { verify: true },
    });
    expect(issues).toEqual(
      expect.arrayContaining([
        { path: 'path', message: 'is required' },
        { path: 'batchRows', message: 'must be a whole number' },
        { path: 'mode', message: 'must be one of: append, truncate, upsert' },
        { path: 'onError', message: 'must be one of: quarantine, fail' },
        { path: 'tls.ca', message: 'is required' },
      ]),
    );
    expect(issues.find((i) => i.path === 'timeout')?.message).toMatch(/whole number or text matching/);
    // Required with a default: not the user's to give.
    expect(issues.filter((i) => i.message === 'is required').map((i) => i.path)).toEqual(['path', 'tls.ca']);
  });

  it('accepts a valid config', () => {
    expect(validate(schema, { path: 'a.csv', batchRows: 10, timeout: 5000, tls: { ca: 'x' } })).toEqual([]);
    expect(validate(schema, { path: 'a.csv', timeout: '5m' })).toEqual([]);
  });

  it('checks string length and pattern', () => {
    const s: JsonSchema = {
      type: 'object',
      properties: { a: { type: 'string', minLength: 3, pattern: '^x' } },
    };
    expect(validate(s, { a: 'y' })).toEqual([
      { path: 'a', message: 'needs at least 3 characters' },
      { path: 'a', message: 'must match ^x' },
    ]);
  });
});

const secretSchema: JsonSchema = {
  type: 'object',
  required: ['url'],
  properties: { url: { type: 'string', writeOnly: true, description: 'Connection url.' } },
};

function SecretHarness({ onValue }: { onValue: (v: Value) => void }) {
  const [value, setValue] = useState<Value>({});
  return (
    <SchemaFields
      schema={secretSchema}
      value={value}
      onChange={(v) => {
        onValue(v);
        setValue(v);
      }}
    />
  );
}

describe('secret fields', () => {
  it('masks a writeOnly string while it is typed, with a Show/Hide toggle', () => {
    let last: Value = {};
    render(<SecretHarness onValue={(v) => (last = v)} />);
    const input = screen.getByLabelText('url') as HTMLInputElement;
    expect(input.type).toBe('password');
    fireEvent.change(input, { target: { value: 'postgres://u:pw@db/x' } });
    expect(last).toEqual({ url: 'postgres://u:pw@db/x' });
    fireEvent.click(screen.getByRole('button', { name: 'Show url' }));
    expect(input.type).toBe('text');
    fireEvent.click(screen.getByRole('button', { name: 'Hide url' }));
    expect(input.type).toBe('password');
  });
});
