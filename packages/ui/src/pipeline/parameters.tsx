import type { JsonSchema } from '../api/types.ts';
import { Empty } from '../components/feedback.tsx';

/** What a value of this schema may be, in a few words: its type(s), or the values an enum allows. */
export function typeOf(s: JsonSchema): string {
  if (s.enum) return `one of ${s.enum.map((v) => JSON.stringify(v)).join(', ')}`;
  if (s.const !== undefined) return `exactly ${JSON.stringify(s.const)}`;
  const alts = s.anyOf ?? s.oneOf;
  if (alts) return alts.map(typeOf).join(' or ');
  const type = Array.isArray(s.type) ? s.type.join(' or ') : (s.type ?? 'any');
  return type === 'array' && s.items ? `array of ${typeOf(s.items)}` : type;
}

/** Bounds and patterns a run's value is checked against, so the table says why a run was refused. */
function limits(s: JsonSchema): string {
  return [
    s.minimum !== undefined && `≥ ${s.minimum}`,
    s.maximum !== undefined && `≤ ${s.maximum}`,
    s.minLength !== undefined && `at least ${s.minLength} characters`,
    s.pattern !== undefined && `matches /${s.pattern}/`,
  ]
    .filter(Boolean)
    .join(', ');
}

/** The run parameters a pipeline declares (its parameter schema's properties). */
export function ParametersTable({ schema }: { schema: JsonSchema | null | undefined }) {
  const entries = Object.entries(schema?.properties ?? {});
  const required = new Set(schema?.required ?? []);
  return (
    <section className="panel" aria-labelledby="parameters-heading">
      <h2 id="parameters-heading">Parameters</h2>
      {entries.length ? (
        <div className="scroll-x">
          <table aria-label="parameters">
            <thead>
              <tr>
                <th>Name</th>
                <th>Type</th>
                <th>Required</th>
                <th>Default</th>
                <th>Description</th>
              </tr>
            </thead>
            <tbody>
              {entries.map(([name, s]) => (
                <tr key={name}>
                  <td>
                    <code>{name}</code>
                  </td>
                  <td>
                    {typeOf(s)}
                    {limits(s) && <div className="muted">{limits(s)}</div>}
                  </td>
                  <td>{required.has(name) ? 'yes' : 'no'}</td>
                  <td>{s.default === undefined ? '—' : <code>{JSON.stringify(s.default)}</code>}</td>
                  <td>{s.description ?? s.title ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <Empty>This pipeline takes no parameters.</Empty>
      )}
    </section>
  );
}
