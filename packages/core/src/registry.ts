import { distance } from 'fastest-levenshtein';
import type { ConnectorDefinition, ConnectorKind } from './connector.ts';
import { ConfigError, ErrorCode, type Issue, SluiceError } from './errors.ts';
import { type CheckOptions, componentIssues } from './internal/component-check.ts';
import { validateAgainst } from './internal/validate.ts';

/**
 * Connectors by kind and name: a source and a sink may share a name (`csv`), as a spec always
 * says which kind it wants (`source: csv`, `sink: csv`).
 */
export class Registry {
  readonly #defs = new Map<string, ConnectorDefinition>();

  register(...defs: ConnectorDefinition[]): this {
    for (const def of defs) {
      const key = `${def.kind}:${def.name}`;
      if (this.#defs.has(key)) throw new Error(`${def.kind} "${def.name}" is registered twice`);
      this.#defs.set(key, def);
    }
    return this;
  }

  list(kind?: ConnectorKind): ConnectorDefinition[] {
    const all = [...this.#defs.values()].sort(
      (a, b) => a.name.localeCompare(b.name) || a.kind.localeCompare(b.kind),
    );
    return kind ? all.filter((d) => d.kind === kind) : all;
  }

  /** Every connector called `name`, of any kind. */
  find(name: string): ConnectorDefinition[] {
    return this.list().filter((d) => d.name === name);
  }

  /** The connector called `name` of `kind`; otherwise an error that suggests the closest names. */
  get<K extends ConnectorKind>(kind: K, name: string, where = ''): Extract<ConnectorDefinition, { kind: K }> {
    const def = this.#defs.get(`${kind}:${name}`);
    if (def) return def as Extract<ConnectorDefinition, { kind: K }>;
    const names = this.list(kind).map((d) => d.name);
    const near = this.suggest(name, kind);
    const prefix = where ? `${where}: ` : '';
    const other = this.find(name)[0];
    const misplaced = other ? ` "${name}" is a ${other.kind}, not a ${kind}.` : '';
    throw new SluiceError(
      ErrorCode.UNKNOWN_CONNECTOR,
      `${prefix}unknown ${kind} "${name}".${misplaced}${didYouMean(near)} ` +
        `Known ${kind}s: ${names.join(', ')}.`,
      { issues: [{ path: where, message: `unknown ${kind} "${name}"` }] },
    );
  }

  /**
   * Known names close enough to `name` to be what was meant, closest first; none when nothing is
   * (a suggestion of an unrelated name, `csv` for `mysql`, misleads more than it helps).
   */
  suggest(name: string, kind?: ConnectorKind): string[] {
    return similarNames(name, [...new Set(this.list(kind).map((d) => d.name))]);
  }

  /**
   * Problems with `config` for `def` (empty when valid): its schema, then the component's own
   * checks (its `check`, a transform's `create`), which see the config only once the schema
   * holds. `config` gets its defaults filled in. Every path that checks a config comes here, so
   * `sluice validate`, a run and the platform's API refuse the same specs.
   */
  check(def: ConnectorDefinition, config: unknown, path: string, opts: CheckOptions = {}): Issue[] {
    const issues = validateAgainst(def.config, config, path);
    return issues.length > 0 ? issues : componentIssues(def, config, path, opts);
  }

  /** Validates and returns the config with defaults applied, or throws ConfigError with every path. */
  validate<C>(def: ConnectorDefinition, config: unknown, path: string, opts: CheckOptions = {}): C {
    const copy = structuredClone(config ?? {});
    const issues = this.check(def, copy, path, opts);
    if (issues.length > 0) throw new ConfigError(`invalid config for ${def.kind} "${def.name}"`, issues);
    return copy as C;
  }
}

/**
 * Edits that still make a typo: a third of the longer name, at least one. Short names allow one
 * (`csvv`, `jsn`, `cvs`), longer ones more (`postgress`, `keep-evn`); `mysql` is 4 edits from
 * `csv` and 5 from `ndjson`, so it matches nothing. Case is ignored (`CSV` is `csv`).
 */
function maxTypos(a: string, b: string): number {
  return Math.max(1, Math.floor(Math.max(a.length, b.length) / 3));
}

/**
 * Of `names`, those a typo away from `name`, closest first: what "did you mean" suggests for a
 * connector, an action, a field.
 */
export function similarNames(name: string, names: readonly string[]): string[] {
  const wanted = name.toLowerCase();
  return names
    .map((n) => ({ n, d: typoDistance(n.toLowerCase(), wanted) }))
    .filter(({ n, d }) => d <= maxTypos(n, wanted))
    .sort((a, b) => a.d - b.d || a.n.localeCompare(b.n))
    .map(({ n }) => n);
}

/** ` Did you mean "a" or "b"?`, or nothing when there is nothing to suggest. */
export function didYouMean(names: string[]): string {
  return names.length === 0 ? '' : ` Did you mean ${names.map((n) => `"${n}"`).join(' or ')}?`;
}

/** Edit distance with two neighbouring letters swapped (`cvs`, `ndjosn`) counted as one edit. */
function typoDistance(a: string, b: string): number {
  const d = distance(a, b);
  if (d !== 2 || a.length !== b.length) return d;
  let i = 0;
  while (a[i] === b[i]) i++;
  return a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2) ? 1 : d;
}
