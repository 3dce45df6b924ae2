/** Quotes an identifier with backticks so any name (case, spaces, keywords) is taken literally. */
export function quoteId(name: string): string {
  if (name.includes('\0')) throw new Error(`identifier ${JSON.stringify(name)} contains a NUL character`);
  return `\`${name.replaceAll('`', '``')}\``;
}

/** `` `a`, `b` ``: a column list. */
export function idList(names: readonly string[]): string {
  return names.map(quoteId).join(', ');
}

/** An ISO timestamp with a zone (`…T…Z`, `…+02:00`): MySQL takes none, so it is converted to UTC text. */
const ISO_ZONED = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * `2024-01-02T03:04:05.123Z` → `2024-01-02 03:04:05.123000` (UTC, the sessions' zone); other
 * strings unchanged. Microseconds beyond a Date's milliseconds are kept when the zone is Z.
 */
export function sqlDateTime(s: string): string {
  if (!ISO_ZONED.test(s)) return s;
  if (s.endsWith('Z')) return s.slice(0, -1).replace('T', ' ');
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? s : d.toISOString().slice(0, -1).replace('T', ' ');
}
