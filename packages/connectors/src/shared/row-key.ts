/** A string that is equal for two values exactly when they are the same value of the same type. */
export function keyPart(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return `s${v}`;
    case 'number':
    case 'bigint':
      // 1, 1.0 and 1n are one integer; -0 prints as 0.
      return `n${v}`;
    case 'boolean':
      return v ? 't' : 'f';
    case 'undefined':
      return 'z';
    default:
      if (v === null) return 'z';
      if (v instanceof Date) return `d${v.getTime()}`;
      try {
        return `j${JSON.stringify(v)}`;
      } catch {
        return `o${String(v)}`;
      }
  }
}
