/**
 * What every answer to hostile input must satisfy, shared by the property tests (which assert that
 * no problem is found) and the campaign (which counts and reports them).
 */
import { ErrorCode } from '@sluice/core';

export type ProblemKind =
  /** The server process exited, or a run threw something that is not a SluiceError. */
  | 'crash'
  | '5xx'
  /** No answer within the limit. */
  | 'hang'
  /** INTERNAL for something the caller got wrong (a spec, a data file). */
  | 'internal'
  /** SQL, a server path, a stack trace or a secret in an answer. */
  | 'leak'
  /** A 4xx not in api-v1.md's `{error: {code, message, details}}` with a Sluice code. */
  | 'shape'
  /** A refusal that does not say where the problem is. */
  | 'no-path'
  /** Rows in ≠ rows out + quarantined, or a run that claims success with a failed reconciliation. */
  | 'rows';

export interface Problem {
  kind: ProblemKind;
  detail: string;
}

/** What must never appear in an answer: the server's directories and secrets. */
export interface Secrets {
  /** Absolute directories of the server: data dir, files dir, the repository. */
  paths: readonly string[];
  /** Exact secret values: the master key, passwords. */
  values: readonly string[];
}

const CODES = new Set<string>(Object.values(ErrorCode));

const LEAK_PATTERNS: readonly [string, RegExp][] = [
  // Drizzle's and PostgreSQL's SQL: `select "id", … from "users"`, not English ("select one from").
  ['SQL', /\bselect\s+(?:"|\*|distinct\b|count\()[^\n]{0,400}?\bfrom\b/i],
  ['SQL', /\binsert\s+into\b/i],
  ['SQL', /\bdelete\s+from\b/i],
  ['SQL', /\bupdate\s+"?\w+"?\s+set\b/i],
  ['SQL', /\bfrom\s+"\w+"/i],
  ['SQL', /Failed query/i],
  ['SQL', /password_hash|totp_secret/i],
  ['stack trace', /\n\s+at\s+(?:async\s+)?\S[^\n]*:\d+:\d+\)?/],
  ['stack trace', /node:internal\//],
];

/** Leaks in an answer's text; what the request itself said is not a leak when echoed. */
export function leaks(text: string, sent: string, secrets: Secrets): Problem[] {
  const out: Problem[] = [];
  for (const [what, re] of LEAK_PATTERNS) {
    const m = re.exec(text);
    if (m && !sent.toLowerCase().includes(m[0].toLowerCase()))
      out.push({ kind: 'leak', detail: `${what}: …${around(text, m.index)}…` });
  }
  for (const p of secrets.paths)
    if (p.length > 1 && text.includes(p) && !sent.includes(p))
      out.push({ kind: 'leak', detail: `server path ${p}: …${around(text, text.indexOf(p))}…` });
  for (const s of secrets.values)
    if (s.length >= 8 && text.includes(s))
      out.push({ kind: 'leak', detail: 'a secret value (master key or password)' });
  return out;
}

const around = (text: string, at: number) => text.slice(Math.max(0, at - 60), at + 100).replace(/\s+/g, ' ');

type ErrorBody = { error?: { code?: unknown; message?: unknown; details?: unknown } };

/** The error body of a 4xx, or what is wrong with its shape. */
const AT_FAULT = new Set([400, 413, 414, 415, 431]);

export function errorShape(status: number, text: string): Problem[] {
  let body: ErrorBody;
  try {
    body = JSON.parse(text) as ErrorBody;
  } catch {
    return [{ kind: 'shape', detail: `${status} answer is not JSON: ${text.slice(0, 120)}` }];
  }
  const e = body?.error;
  if (!e || typeof e !== 'object')
    return [{ kind: 'shape', detail: `${status} answer has no "error" object: ${text.slice(0, 120)}` }];
  const out: Problem[] = [];
  if (typeof e.code !== 'string' || !CODES.has(e.code))
    out.push({
      kind: 'shape',
      detail: `${status} answer's code ${JSON.stringify(e.code)} is not a Sluice code`,
    });
  if (typeof e.message !== 'string' || e.message.length === 0)
    out.push({ kind: 'shape', detail: `${status} ${String(e.code)} answer has no message` });
  const details = e.details;
  if (details !== undefined && !Array.isArray(details))
    out.push({ kind: 'shape', detail: `${status} ${String(e.code)}: "details" is not an array` });
  // A request the server refuses for what it holds names the part at fault: the field, or the
  // body, URL or header when it could not be read at all.
  if (AT_FAULT.has(status)) {
    const paths = Array.isArray(details) ? details.map((d) => (d as { path?: unknown })?.path) : [];
    if (paths.length === 0 || paths.some((p) => typeof p !== 'string' || p.length === 0))
      out.push({
        kind: 'no-path',
        detail: `${status} ${String(e.code)} without a path in every details[] entry: ${text.slice(0, 200)}`,
      });
  }
  return out;
}

export interface Answer {
  status: number;
  text: string;
  ms: number;
}

/** Limits of the oracle. */
export const LIMITS = {
  /** An answer slower than this is a hang. */
  hangMs: 5_000,
} as const;

/** Every problem with one REST answer. */
export function checkAnswer(a: Answer, sent: string, secrets: Secrets): Problem[] {
  const out: Problem[] = [];
  if (a.ms > LIMITS.hangMs) out.push({ kind: 'hang', detail: `answered after ${a.ms} ms` });
  if (a.status < 100) out.push({ kind: '5xx', detail: `no HTTP answer: ${a.text.slice(0, 200)}` });
  else if (a.status >= 500) out.push({ kind: '5xx', detail: `${a.status} ${a.text.slice(0, 300)}` });
  else if (a.status >= 400) out.push(...errorShape(a.status, a.text));
  out.push(...leaks(a.text, sent, secrets));
  return out;
}

/** `POST /pipelines/{id}/validate`'s 200: `{ok, issues}`, every issue at a path. */
export function checkValidation(text: string): Problem[] {
  const body = JSON.parse(text) as { ok?: unknown; issues?: { path?: unknown; message?: unknown }[] };
  if (typeof body.ok !== 'boolean' || !Array.isArray(body.issues))
    return [{ kind: 'shape', detail: `validate answered 200 without {ok, issues}: ${text.slice(0, 200)}` }];
  const out: Problem[] = [];
  if (!body.ok && body.issues.length === 0)
    out.push({ kind: 'no-path', detail: 'validate answered ok: false with no issue' });
  for (const i of body.issues) {
    if (typeof i.path !== 'string' || i.path.length === 0)
      out.push({ kind: 'no-path', detail: `an issue without a path: ${JSON.stringify(i).slice(0, 200)}` });
    if (
      typeof i.message === 'string' &&
      /\bINTERNAL\b|Maximum call stack|Cannot read propert/.test(i.message)
    )
      out.push({
        kind: 'internal',
        detail: `an issue reads as an internal error: ${i.message.slice(0, 200)}`,
      });
  }
  return out;
}
