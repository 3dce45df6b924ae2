import type { Issue } from './errors.ts';
import { appendKey } from './internal/json-path.ts';

/**
 * What ajvIssues reads of an error: Ajv 8's `ErrorObject` and Fastify's
 * `FastifySchemaValidationError` (`err.validation`) both fit.
 */
export interface AjvError {
  keyword: string;
  instancePath: string;
  schemaPath: string;
  params: object;
  message?: string;
}

export interface AjvIssuesOptions {
  /**
   * Put a missing required property's issue at the property's path (`body.name`: "is required")
   * rather than at the object's (`body`: `missing required property "name"`).
   * @defaultValue false
   */
  missingAtProperty?: boolean;
}

/**
 * Ajv's errors as issues a user can act on, one per problem, each at a JSON path under `base`
 * (`''` for a spec's root, `body` or `querystring` for an HTTP request):
 *
 * - A value that matches no branch of an `anyOf`/`oneOf` gets no line per branch and no "must match
 *   a schema in anyOf": when every branch failed on the value's type or a constant (a TypeBox union of
 *   literals), one issue says what it may be ("must be one of: a, b"); otherwise the issues of the
 *   branch that came closest (its type matched, its errors went deepest, then the fewest).
 * - `if`/`then`'s summary ("must match then schema") is dropped: the `then` error says what is wrong.
 * - `required` and `additionalProperties` name the property; identical issues appear once.
 *
 * Works on errors from any Ajv 8 instance, with or without `allErrors`.
 */
export function ajvIssues(
  errors: readonly AjvError[] | null | undefined,
  base = '',
  options: AjvIssuesOptions = {},
): Issue[] {
  const seen = new Set<string>();
  const issues: Issue[] = [];
  for (const p of ajvProblems(errors ?? [], options)) {
    const path = pointerToPath(p.pointer, base) || base || '(root)';
    const key = `${path}\n${p.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push({ path, message: p.message });
  }
  return issues;
}

/** A simplified problem: where in the data (a JSON pointer) and what is wrong. */
export interface PointerProblem {
  pointer: string;
  message: string;
}

interface Entry {
  pointer: string;
  schemaPath: string;
  keyword: string;
  params: Record<string, unknown>;
  message: string | undefined;
  /** Set on the entry that stands for a whole union whose branches failed on the value itself. */
  union?: { types: string[]; values: unknown[] };
}

/** ajvIssues without the paths: the data's JSON pointers, for callers that nest the result. */
export function ajvProblems(errors: readonly AjvError[], options: AjvIssuesOptions = {}): PointerProblem[] {
  let list: Entry[] = errors
    .filter((e) => e.keyword !== 'if')
    .map((e) => {
      const params = (e.params ?? {}) as Record<string, unknown>;
      const missing = params.missingProperty;
      if (options.missingAtProperty && e.keyword === 'required' && typeof missing === 'string') {
        const pointer = `${e.instancePath}/${missing.replace(/~/g, '~0').replace(/\//g, '~1')}`;
        return { pointer, schemaPath: e.schemaPath, keyword: 'x-required', params, message: 'is required' };
      }
      return {
        pointer: e.instancePath,
        schemaPath: e.schemaPath,
        keyword: e.keyword,
        params,
        message: e.message,
      };
    });
  // Ajv reports a union's branch errors just before the union's own error; a nested union comes
  // before the union holding it, so collapsing in order handles the inner one first.
  for (let k = 0; k < list.length; k++) {
    const u = list[k]!;
    if (u.keyword !== 'anyOf' && u.keyword !== 'oneOf') continue;
    let start = k;
    while (start > 0 && isBranchError(list[start - 1]!, u)) start--;
    const replacement = collapse(u, list.slice(start, k));
    // Not splice(…, ...replacement): it may hold an error per item of a long array.
    list = list.slice(0, start).concat(replacement, list.slice(k + 1));
    k = start + replacement.length - 1;
  }
  return list.map((e) => ({ pointer: e.pointer, message: describe(e) }));
}

const within = (pointer: string, at: string) => pointer === at || pointer.startsWith(`${at}/`);
const REF_TARGET = /^(?:definitions|\$defs)\//;

/**
 * Whether `e`, reported before union `u`, came from one of its branches. Its schema path says so,
 * unless the branch is a `$ref`: Ajv then reports the target's path (`#/definitions/x/enum`), which
 * is told from a sibling keyword of the union (evaluated before it, e.g. `enum`) by where it points.
 */
function isBranchError(e: Entry, u: Entry): boolean {
  if (!within(e.pointer, u.pointer)) return false;
  if (e.schemaPath.startsWith(`${u.schemaPath}/`)) return true;
  const parent = u.schemaPath.slice(0, u.schemaPath.lastIndexOf('/'));
  if (e.schemaPath.startsWith(`${parent}/`) && !REF_TARGET.test(e.schemaPath.slice(parent.length + 1)))
    return false;
  return e.pointer !== u.pointer || /\/(?:definitions|\$defs)\//.test(e.schemaPath);
}

interface Branch {
  entries: Entry[];
  /** All its errors are about the value itself: its type, a constant, a nested union of those. */
  shallow: boolean;
  typeMismatch: boolean;
  depth: number;
}

function collapse(u: Entry, members: Entry[]): Entry[] {
  const passing = u.params.passingSchemas;
  if (u.keyword === 'oneOf' && Array.isArray(passing))
    return [
      {
        ...u,
        message: `matches more than one of the allowed forms (oneOf branches ${passing.join(' and ')}); it must match exactly one`,
      },
    ];
  if (members.length === 0) return [u];
  const branches = groupBranches(u, members).map((entries) => branch(u, entries));
  if (branches.every((b) => b.shallow)) {
    const types: string[] = [];
    const values: unknown[] = [];
    for (const b of branches) {
      const listed = b.entries.flatMap(allowedValues);
      // A literal's branch also fails on type ("must be string"); its value says it all.
      for (const e of b.entries) {
        if (e.union) for (const t of e.union.types) types.push(t);
        else if (e.keyword === 'type' && listed.length === 0)
          for (const t of typeNames(e.params.type)) types.push(t);
      }
      for (const v of listed) values.push(v);
    }
    return [{ ...u, keyword: 'x-union', union: { types: unique(types), values: uniqueValues(values) } }];
  }
  const best = [...branches].sort(
    (a, b) =>
      Number(a.typeMismatch) - Number(b.typeMismatch) ||
      b.depth - a.depth ||
      a.entries.length - b.entries.length,
  )[0]!;
  return best.entries;
}

/**
 * Splits a union's errors by branch (`…/anyOf/<i>/…`). Errors reached through a `$ref` carry no
 * branch number: a run of them between two errors of one branch belongs to it; otherwise it is a
 * branch of its own (a branch that is just a `$ref`, as in JSON Schema's meta-schema), split again
 * where a schema location reports a second time other than for a sibling value (the `$ref` of
 * the next branch: `type: "x"` fails `enum` at `/type`, then `items` → `enum` at `/type/1`).
 */
function groupBranches(u: Entry, members: Entry[]): Entry[][] {
  const prefix = `${u.schemaPath}/`;
  const index = members.map((e) =>
    e.schemaPath.startsWith(prefix) ? e.schemaPath.slice(prefix.length).split('/')[0]! : null,
  );
  const keys: string[] = [];
  let refs = 0;
  for (let i = 0; i < members.length; i++) {
    if (index[i] !== null) {
      keys.push(`#${index[i]}`);
      continue;
    }
    let j = i;
    while (j < members.length && index[j] === null) j++;
    const before = index[i - 1];
    if (before != null && before === index[j]) {
      for (; i < j; i++) keys.push(`#${before}`);
    } else {
      let seen = new Map<string, string>();
      refs++;
      for (; i < j; i++) {
        const e = members[i]!;
        const earlier = seen.get(e.schemaPath);
        if (earlier !== undefined && parentOf(earlier) !== parentOf(e.pointer)) {
          refs++;
          seen = new Map();
        }
        seen.set(e.schemaPath, e.pointer);
        keys.push(`ref${refs}`);
      }
    }
    i--;
  }
  const groups = new Map<string, Entry[]>();
  members.forEach((e, i) => {
    const g = groups.get(keys[i]!);
    if (g) g.push(e);
    else groups.set(keys[i]!, [e]);
  });
  return [...groups.values()];
}

const parentOf = (pointer: string) => pointer.slice(0, pointer.lastIndexOf('/'));

function branch(u: Entry, entries: Entry[]): Branch {
  const atValue = (e: Entry) => e.pointer === u.pointer;
  return {
    entries,
    shallow: entries.every(
      (e) => atValue(e) && (e.union !== undefined || ['type', 'const', 'enum'].includes(e.keyword)),
    ),
    typeMismatch: entries.some((e) => atValue(e) && e.keyword === 'type'),
    // Not Math.max(...): a union over a long array reports an error per item, past what spreading
    // into arguments allows (a fuzzed `type: [0, 0, …]` of 200,000 overflowed the stack).
    depth: entries.reduce((d, e) => Math.max(d, e.pointer.split('/').length), 0),
  };
}

function allowedValues(e: Entry): unknown[] {
  if (e.union) return e.union.values;
  if (e.keyword === 'const') return [e.params.allowedValue];
  if (e.keyword === 'enum' && Array.isArray(e.params.allowedValues)) return e.params.allowedValues;
  return [];
}

function typeNames(t: unknown): string[] {
  if (Array.isArray(t)) return t.map(String);
  return typeof t === 'string' ? t.split(',') : [];
}

const unique = <T>(xs: T[]): T[] => [...new Set(xs)];
function uniqueValues(xs: unknown[]): unknown[] {
  const seen = new Set<string>();
  return xs.filter((x) => {
    const k = JSON.stringify(x);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

// A word reads as itself (must be one of: admin, operator, viewer); anything else as JSON, so a
// number, a string with spaces and the empty string stay told apart.
const show = (v: unknown) =>
  typeof v === 'string' && /^[A-Za-z][\w.-]*$/.test(v) ? v : (JSON.stringify(v) ?? String(v));

function describe(e: Entry): string {
  const p = e.params;
  if (e.union) {
    const { types, values } = e.union;
    // A single value stays quoted: "must be object or none" would read as two types.
    const oneOf =
      values.length === 1
        ? (JSON.stringify(values[0]) ?? String(values[0]))
        : `one of: ${values.map(show).join(', ')}`;
    if (types.length === 0) return `must be ${oneOf}`;
    return values.length === 0
      ? `must be ${types.join(' or ')}`
      : `must be ${types.join(' or ')} or ${oneOf}`;
  }
  switch (e.keyword) {
    case 'additionalProperties':
      return `unknown property "${String(p.additionalProperty)}"`;
    case 'required':
      return `missing required property "${String(p.missingProperty)}"`;
    case 'enum':
      return `must be one of: ${(p.allowedValues as unknown[]).map(show).join(', ')}`;
    case 'const':
      return `must be ${show(p.allowedValue)}`;
    case 'type':
      return `must be ${typeNames(p.type).join(' or ')}`;
    case 'uniqueItems':
      return `must not list an item twice ([${String(p.j)}] and [${String(p.i)}] are the same)`;
    default:
      return e.message ?? e.keyword;
  }
}

/**
 * `/steps/0/with/x` → `steps[0].with.x`, prefixed with `base` (`body` → `body.steps[0]…`). Names
 * that are not identifiers are quoted: `/with/unit price` → `with["unit price"]`.
 */
export function pointerToPath(pointer: string, base: string): string {
  let out = base;
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out = appendKey(out, /^\d+$/.test(seg) ? Number(seg) : seg);
  }
  return out;
}
