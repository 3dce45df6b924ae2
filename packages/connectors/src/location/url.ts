const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;

/** The scheme of a `path`: `file` for a local path (with or without `file://`). */
export function schemeOf(path: string): string {
  return SCHEME.exec(path)?.[1]?.toLowerCase() ?? 'file';
}

/** A path without `file://`, for the local location; URLs of other schemes unchanged. */
export function plainPath(path: string): string {
  return schemeOf(path) === 'file' && SCHEME.test(path) ? decodeURIComponent(new URL(path).pathname) : path;
}
