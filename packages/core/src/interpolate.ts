import type { Issue } from './errors.ts';

const PLACEHOLDER = /\$\{(env|params)\.([A-Za-z_][A-Za-z0-9_]*)\}/g;
const WHOLE = /^\$\{(env|params)\.([A-Za-z_][A-Za-z0-9_]*)\}$/;

export interface Scope {
  env: Readonly<Record<string, string | undefined>>;
  params: Readonly<Record<string, unknown>>;
  /** Said after "environment variable X is not set": where the variables come from. */
  envNote?: string;
}

/**
 * Replaces `${env.X}` and `${params.x}` in every string of `value`. A string that is exactly one
 * `${params.x}` takes the parameter's own type (a number stays a number); elsewhere values are
 * spliced in as text. `$${` escapes a literal `${`.
 */
export function interpolate(
  value: unknown,
  scope: Scope,
  path: string,
  issues: Issue[],
  raw?: readonly string[],
): unknown {
  if (typeof value === 'string') return interpolateString(value, scope, path, issues);
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, scope, `${path}[${i}]`, issues));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value))
      out[k] = raw?.includes(k)
        ? checkRaw(v, scope, `${path}.${k}`, issues)
        : interpolate(v, scope, `${path}.${k}`, issues);
    return out;
  }
  return value;
}

function lookup(kind: string, name: string, scope: Scope, path: string, issues: Issue[]): unknown {
  if (kind === 'env') {
    const v = scope.env[name];
    if (v === undefined)
      issues.push({
        path,
        message: `environment variable ${name} is not set${scope.envNote ? `; ${scope.envNote}` : ''}`,
      });
    return v ?? '';
  }
  if (!(name in scope.params)) {
    issues.push({ path, message: `parameter "${name}" is not given and has no default in \`parameters\`` });
    return '';
  }
  return scope.params[name];
}

function interpolateString(s: string, scope: Scope, path: string, issues: Issue[]): unknown {
  if (!s.includes('${')) return s;
  const whole = WHOLE.exec(s);
  if (whole) return lookup(whole[1]!, whole[2]!, scope, path, issues);
  const escaped = s.split('$${');
  return escaped
    .map((part) =>
      part.replace(PLACEHOLDER, (_m, kind: string, name: string) => {
        const v = lookup(kind, name, scope, path, issues);
        return typeof v === 'string' ? v : JSON.stringify(v);
      }),
    )
    .join('${');
}

/**
 * A raw field (see TaskDefinition.rawFields) keeps its text: the component binds each
 * `${params.x}` as a value. Only the names are checked here, so a missing parameter is found
 * when the spec is checked, as anywhere else; `${env.X}` is refused, as no value can be bound for it.
 */
function checkRaw(value: unknown, scope: Scope, path: string, issues: Issue[]): unknown {
  if (typeof value !== 'string') return value;
  for (const part of value.split('$${')) {
    for (const [, kind, name] of part.matchAll(PLACEHOLDER)) {
      if (kind === 'env')
        issues.push({
          path,
          message:
            `\`\${env.${name}}\` cannot be used here: this text is not interpolated, its \`\${params.x}\` are ` +
            'bound as values; declare a parameter and pass the variable as its value',
        });
      else lookup(kind!, name!, scope, path, issues);
    }
  }
  return value;
}
