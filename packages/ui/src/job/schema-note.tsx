import type { SchemaChange } from '../api/types.ts';
import { count } from '../components/status.tsx';

/** One line of a sink's schema change, as the CLI summary words it. */
export function schemaChangeText(c: SchemaChange): string {
  switch (c.change) {
    case 'column_added':
      return `added column "${c.column}" (${c.type})`;
    case 'type_widened':
      return `widened column "${c.column}" from ${c.from} to ${c.type}`;
    case 'rows_discarded':
      return `discarded ${count(c.count ?? 0)} rows for field "${c.column}"`;
    case 'values_dropped':
      return `dropped ${count(c.count ?? 0)} values of field "${c.column}"`;
  }
}

/** The schema changes a step's sinks made (see "Schema contracts" in docs/pipeline-spec.md). */
export function SchemaNote({ report }: { report: Record<string, unknown> | null }) {
  const components = (report?.components ?? []) as { id: string; schemaChanges?: SchemaChange[] }[];
  const lines = components.flatMap((c) =>
    (c.schemaChanges ?? []).map((change) => `${c.id}: ${schemaChangeText(change)}`),
  );
  if (lines.length === 0) return null;
  return (
    <ul className="muted" aria-label="schema changes">
      {lines.map((l) => (
        <li key={l}>{l}</li>
      ))}
    </ul>
  );
}
