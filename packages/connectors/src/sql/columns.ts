import type { DuckDBConnection } from '@duckdb/node-api';

/** A name as DuckDB compares identifiers: ASCII letters fold, others (É and é) stay apart. */
export const foldCase = (name: string): string => name.replace(/[A-Z]+/g, (m) => m.toLowerCase());

/**
 * The names (case-folded, see foldCase) a query may read from `input`, from DuckDB's parse tree
 * (json_serialize_sql), or undefined when it may read every column. Fields the query never names
 * are then not loaded: in W3 (10 fields, 2 used) loading was most of the stage's time.
 *
 * Loading too few columns must never change a result silently, so any construct that reads
 * columns it does not name means "all": `*` and COLUMNS(…), positional references (#1), NATURAL
 * joins, PIVOT/UNPIVOT (which group by the columns left over), column aliases on a table
 * (`input AS t(a, b)` renames by position), table functions (one could name `input` in a string),
 * and a bare name that is a table's name or alias (`SELECT t FROM input t` is the whole row).
 * Names are taken wherever they appear (a qualifier, a lambda's parameter), which can only load
 * more. A name the query uses but no row has still fails to bind, as it should.
 */
export async function referencedColumns(
  conn: DuckDBConnection,
  query: string,
): Promise<Set<string> | undefined> {
  const parsed = await conn.runAndReadAll(`SELECT json_serialize_sql('${query.replaceAll("'", "''")}')`);
  const tree = JSON.parse(String(parsed.getRows()[0]![0])) as { error?: boolean };
  if (tree.error) return undefined;
  const names = new Set<string>();
  const singles: string[] = [];
  const relations = new Set<string>();
  let all = false;
  const stack: unknown[] = [tree];
  while (stack.length > 0 && !all) {
    const node = stack.pop();
    if (Array.isArray(node)) {
      for (const x of node) stack.push(x);
      continue;
    }
    if (typeof node !== 'object' || node === null) continue;
    const n = node as Record<string, unknown>;
    const cls = n.class;
    const type = n.type;
    if (cls === 'STAR' || cls === 'POSITIONAL_REFERENCE') all = true;
    else if (type === 'PIVOT' || type === 'UNPIVOT' || type === 'TABLE_FUNCTION') all = true;
    else if (n.ref_type === 'NATURAL') all = true;
    else if (Array.isArray(n.column_name_alias) && n.column_name_alias.length > 0) all = true;
    if (cls === 'COLUMN_REF' && Array.isArray(n.column_names)) {
      const parts = n.column_names.map((p) => foldCase(String(p)));
      for (const p of parts) names.add(p);
      if (parts.length === 1) singles.push(parts[0]!);
    }
    if (Array.isArray(n.using_columns)) for (const c of n.using_columns) names.add(foldCase(String(c)));
    if (typeof n.table_name === 'string') relations.add(foldCase(n.table_name));
    if (typeof n.alias === 'string' && n.alias !== '' && cls === undefined) relations.add(foldCase(n.alias));
    if (n.cte_map && typeof n.cte_map === 'object') {
      const map = (n.cte_map as { map?: { key?: unknown }[] }).map ?? [];
      for (const e of map) if (typeof e.key === 'string') relations.add(foldCase(e.key));
    }
    for (const v of Object.values(n)) if (typeof v === 'object' && v !== null) stack.push(v);
  }
  if (all || singles.some((s) => relations.has(s))) return undefined;
  return names;
}
