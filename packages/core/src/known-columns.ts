import type { ConnectorDefinition, KnownColumn } from './connector.ts';

/** A component as far as its columns go: its definition (if known) and config. */
interface Shaped {
  readonly def: ConnectorDefinition | undefined;
  readonly config: unknown;
}

/**
 * The columns rows carry along a flow, as its spec declares them (see KnownColumn): entry i is
 * what reaches transform i, the last entry what reaches the sinks; undefined from the first
 * component that does not say on.
 */
export function columnsAlong(
  source: Shaped,
  transforms: readonly Shaped[],
): (readonly KnownColumn[] | undefined)[] {
  let known = source.def?.kind === 'source' ? source.def.columns?.(source.config as never) : undefined;
  const along = [known];
  for (const t of transforms) {
    known = t.def?.kind === 'transform' ? t.def.columns?.(t.config as never, known) : undefined;
    along.push(known);
  }
  return along;
}

/** What a sink's context says of the columns reaching it: `{ columns }` when the spec declares them. */
export function sinkColumns(step: { readonly source: Shaped; readonly transforms: readonly Shaped[] }): {
  columns?: readonly KnownColumn[];
} {
  const columns = columnsAlong(step.source, step.transforms).at(-1);
  return columns === undefined ? {} : { columns };
}
