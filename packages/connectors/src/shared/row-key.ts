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
      // Typed all the way down: JSON.stringify made NaN, undefined and null one value, a Date
      // its text, and gave up on a bigint (then every object was "[object Object]").
      if (v instanceof Uint8Array)
        return `b${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')}`;
      if (Array.isArray(v)) return `a${JSON.stringify(v.map(keyPart))}`;
      if (typeof v === 'object') {
        const parts: string[] = [];
        for (const [k, x] of Object.entries(v)) parts.push(k, keyPart(x));
        return `o${JSON.stringify(parts)}`;
      }
      return `x${String(v)}`;
  }
}
