import { SecretInput } from './secret-input.tsx';

export type Pair = [string, string];

/**
 * Named values edited as rows (HTTP headers, environment variables, a credential's free fields),
 * with add and remove. Kept as pairs, not an object, while typing: two rows may briefly share a
 * name, and a row whose name is still empty must not vanish.
 */
export function KeyValueRows({
  rows,
  onChange,
  noun,
  secret,
  namePlaceholder,
}: {
  rows: Pair[];
  onChange: (rows: Pair[]) => void;
  /** What a row is, for labels and the add button: "header", "field". */
  noun: string;
  /** Values are masked, each with a Show toggle. */
  secret?: boolean;
  namePlaceholder?: string;
}) {
  const set = (i: number, pair: Pair) => onChange(rows.map((r, j) => (j === i ? pair : r)));
  return (
    <>
      {rows.map(([k, v], i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: a row's position is its identity while its name is typed
        <div className="row" key={i}>
          <input
            aria-label={`${noun} ${i + 1} name`}
            placeholder={namePlaceholder ?? 'name'}
            value={k}
            onChange={(e) => set(i, [e.target.value, v])}
          />
          {secret ? (
            <SecretInput label={`${noun} ${i + 1} value`} value={v} onChange={(x) => set(i, [k, x])} />
          ) : (
            <input
              aria-label={`${noun} ${i + 1} value`}
              value={v}
              onChange={(e) => set(i, [k, e.target.value])}
            />
          )}
          <button
            type="button"
            className="secondary"
            aria-label={`Remove ${noun} ${i + 1}`}
            onClick={() => onChange(rows.filter((_, j) => j !== i))}
          >
            Remove
          </button>
        </div>
      ))}
      <div>
        <button type="button" className="secondary" onClick={() => onChange([...rows, ['', '']])}>
          Add {noun}
        </button>
      </div>
    </>
  );
}

export const pairsOf = (o: Record<string, string> | undefined): Pair[] => Object.entries(o ?? {});
/** The object the API takes: rows without a name are dropped. */
export const objectOf = (rows: Pair[]): Record<string, string> =>
  Object.fromEntries(rows.filter(([k]) => k.trim() !== '').map(([k, v]) => [k.trim(), v]));
