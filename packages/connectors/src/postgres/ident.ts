/** Quotes an identifier so any name (mixed case, spaces, quotes, keywords) is taken literally. */
export function quoteIdent(name: string): string {
  if (name.includes('\0')) throw new Error(`identifier ${JSON.stringify(name)} contains a NUL character`);
  return `"${name.replaceAll('"', '""')}"`;
}

/** `"schema"."table"`. */
export function qualified(schema: string, table: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(table)}`;
}

/** `"a", "b"`: a column list. */
export function identList(names: readonly string[]): string {
  return names.map(quoteIdent).join(', ');
}
