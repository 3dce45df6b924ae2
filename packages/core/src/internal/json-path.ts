/** `path` with `key` appended as our JSON paths write it: `a.b`, `a[0]`, `a["unit price"]`. */
export function appendKey(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  if (/^[A-Za-z_$][\w$-]*$/.test(key)) return path ? `${path}.${key}` : key;
  return `${path}[${JSON.stringify(key)}]`;
}
