// The one way the UI talks to the server: /api/v1 with the session's bearer token, one silent
// refresh on 401, and errors as ApiError carrying api-v1.md's {code, message, details}.

export interface Issue {
  path: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Issue[] = [],
  ) {
    super(message);
  }
}

export type Role = 'admin' | 'operator' | 'viewer';
export interface User {
  id: string;
  username: string;
  role: Role;
  active: boolean;
  totpEnabled: boolean;
}
export interface Session {
  accessToken: string;
  refreshToken: string;
  user: User;
}

const KEY = 'sluice.session';
let session: Session | null = read();
const listeners = new Set<(s: Session | null) => void>();

function read(): Session | null {
  try {
    return JSON.parse(localStorage.getItem(KEY) ?? 'null') as Session | null;
  } catch {
    return null;
  }
}

export function currentSession(): Session | null {
  return session;
}

export function setSession(s: Session | null): void {
  session = s;
  if (s) localStorage.setItem(KEY, JSON.stringify(s));
  else localStorage.removeItem(KEY);
  for (const l of listeners) l(s);
}

export function onSession(l: (s: Session | null) => void): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

async function errorOf(r: Response): Promise<ApiError> {
  try {
    const b = (await r.json()) as { error?: { code: string; message: string; details?: Issue[] } };
    if (b.error) return new ApiError(r.status, b.error.code, b.error.message, b.error.details ?? []);
  } catch {
    // not JSON: fall through
  }
  return new ApiError(r.status, 'HTTP_ERROR', `the server answered ${r.status} ${r.statusText}`);
}

// Concurrent 401s share one refresh: a refresh token is good for one use only.
let refreshing: Promise<boolean> | null = null;
function refresh(): Promise<boolean> {
  refreshing ??= (async () => {
    const s = session;
    if (!s) return false;
    const r = await fetch('/api/v1/auth/refresh', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refreshToken: s.refreshToken }),
    });
    if (!r.ok) {
      setSession(null);
      return false;
    }
    setSession((await r.json()) as Session);
    return true;
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

async function send(method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = {};
  if (session) headers.authorization = `Bearer ${session.accessToken}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  return fetch(`/api/v1${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

export async function api<T>(
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<T> {
  let r = await send(method, path, body);
  if (r.status === 401 && session && (await refresh())) r = await send(method, path, body);
  if (!r.ok) throw await errorOf(r);
  if (r.status === 204) return undefined as T;
  return (await r.json()) as T;
}

export const get = <T>(path: string) => api<T>('GET', path);

export async function login(username: string, password: string, totp?: string): Promise<Session> {
  const r = await fetch('/api/v1/auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password, ...(totp ? { totp } : {}) }),
  });
  if (!r.ok) throw await errorOf(r);
  const s = (await r.json()) as Session;
  setSession(s);
  return s;
}

export async function logout(): Promise<void> {
  const s = session;
  setSession(null);
  if (s)
    await fetch('/api/v1/auth/logout', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refreshToken: s.refreshToken }),
    }).catch(() => undefined);
}

/** Downloads with the bearer (a plain link cannot carry it). */
export async function download(path: string, name: string): Promise<void> {
  let r = await send('GET', path);
  if (r.status === 401 && (await refresh())) r = await send('GET', path);
  if (!r.ok) throw await errorOf(r);
  const url = URL.createObjectURL(await r.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  URL.revokeObjectURL(url);
}
