import type { Row } from '@sluice/core';

/**
 * Where a lookup finds rows. The transform calls `fetch` at most once per batch, with the distinct
 * keys its cache lacks; never twice at once.
 */
export interface LookupBackend {
  /**
   * The rows found for `keys` (distinct, non-empty text forms of the rows' key values), already
   * mapped to the row fields they set (see `projector`), by key. A key absent from the map was not
   * found. Throws a SluiceError saying where and why for anything but a key that is not there.
   */
  fetch(keys: string[]): Promise<Map<string, Row>>;
  /**
   * The row fields a found row sets, once known (at the latest after the first `fetch`): with
   * `onMiss: keep` a missed row gets them as null, so every row leaving the step has the same shape.
   */
  fields(): readonly string[] | undefined;
  /** Releases connections; called once, whether the flow succeeded or not. */
  close(): Promise<void>;
}

/**
 * What a looked-up record becomes in the row: `fields` (column → row field) when configured,
 * otherwise every column but the key under its own name.
 */
export function projector(
  fields: Record<string, string> | undefined,
  keyColumn: string,
): (rec: Record<string, unknown>) => Row {
  if (fields) {
    const pairs = Object.entries(fields);
    return (rec) => {
      const out: Row = {};
      for (const [col, field] of pairs) out[field] = rec[col] ?? null;
      return out;
    };
  }
  return (rec) => {
    const out: Row = {};
    for (const col in rec) if (col !== keyColumn) out[col] = rec[col];
    return out;
  };
}
