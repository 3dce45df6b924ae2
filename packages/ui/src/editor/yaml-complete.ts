import type { Connector, JsonSchema } from '../api/types.ts';

// Completion in the YAML view, read from the lines around the cursor rather than a parse: the
// text being typed rarely parses. Two places are known: the value after `source:`, `transform:`,
// `sink:` or `task:` (a connector of that kind), and a key under a component's or task's `with:`
// (a property of that connector's config schema).

export type Kind = Connector['kind'];

export type YamlContext =
  | { at: 'connector'; kind: Kind; from: number }
  | { at: 'with-key'; kind: Kind; name: string; from: number; present: string[] };

export interface Catalogue {
  connectors: readonly Connector[];
  /** The config schema of a connector, when known (the caller fetches it first). */
  schemaOf: (kind: Kind, name: string) => JsonSchema | undefined;
}

export interface Suggestion {
  label: string;
  /** What the cursor's word is replaced with. */
  apply: string;
  detail?: string;
  info?: string;
  type: 'class' | 'property';
}

export interface Completions {
  /** Offset where the replaced word starts. */
  from: number;
  options: Suggestion[];
}

const KINDS = ['source', 'transform', 'sink', 'task'] as const;
const CONNECTOR_AT = /^(\s*(?:-\s+)?)(source|transform|sink|task):[ \t]+([\w.-]*)$/;
const KEY_AT = /^(\s*)([\w-]*)$/;
/** A line's key: its indent (list dashes count as indent, as YAML nests by them) and name. */
const KEY_LINE = /^(\s*(?:-\s+)*)([\w-]+)\s*:(.*)$/;

/** What may be completed at offset `pos` of `text`, or null where nothing is known. */
export function yamlContextAt(text: string, pos: number): YamlContext | null {
  const lineStart = text.lastIndexOf('\n', pos - 1) + 1;
  const before = text.slice(lineStart, pos);
  const value = CONNECTOR_AT.exec(before);
  if (value) return { at: 'connector', kind: value[2] as Kind, from: pos - value[3]!.length };
  const key = KEY_AT.exec(before);
  if (!key) return null;
  const lines = text.split('\n');
  const row = text.slice(0, lineStart).split('\n').length - 1;
  const indent = key[1]!.length;
  const parent = parentOf(lines, row, indent);
  if (parent?.name !== 'with' || parent.rest.trim() !== '') return null;
  const siblings = childrenOf(lines, parent.row, parent.indent, parent.row);
  const owner = KINDS.find((k) => siblings.has(k) && siblings.get(k) !== '');
  if (!owner) return null;
  const present = [...childrenOf(lines, parent.row + 1, indent, row).keys()];
  return { at: 'with-key', kind: owner, name: siblings.get(owner)!, from: pos - key[2]!.length, present };
}

/** The completions at `pos`: connector names of the kind the key asks for, or config keys. */
export function completeYaml(text: string, pos: number, catalogue: Catalogue): Completions | null {
  const ctx = yamlContextAt(text, pos);
  if (!ctx) return null;
  if (ctx.at === 'connector') {
    const seen = new Set<string>();
    const options = catalogue.connectors
      .filter((c) => c.kind === ctx.kind && !seen.has(c.name) && seen.add(c.name))
      .map(
        (c): Suggestion => ({
          label: c.name,
          apply: c.name,
          detail: c.version,
          info: c.summary,
          type: 'class',
        }),
      );
    return { from: ctx.from, options };
  }
  const props = catalogue.schemaOf(ctx.kind, ctx.name)?.properties ?? {};
  const options = Object.entries(props)
    .filter(([k]) => !ctx.present.includes(k))
    .map(
      ([k, s]): Suggestion => ({
        label: k,
        apply: `${k}: `,
        ...(typeof s.type === 'string' ? { detail: s.type } : {}),
        ...(s.description ? { info: s.description } : {}),
        type: 'property',
      }),
    );
  return { from: ctx.from, options };
}

interface KeyLine {
  row: number;
  indent: number;
  name: string;
  rest: string;
}

function keyLine(lines: string[], row: number): KeyLine | null {
  const m = KEY_LINE.exec(lines[row] ?? '');
  return m ? { row, indent: m[1]!.length, name: m[2]!, rest: m[3]! } : null;
}

/** An inline value without its quotes or trailing comment. */
const scalar = (rest: string) =>
  rest
    .replace(/\s+#.*$/, '')
    .trim()
    .replace(/^(["'])(.*)\1$/, '$2');
const blank = (line: string) => line.trim() === '' || line.trim().startsWith('#');
const indentOf = (line: string) => line.length - line.trimStart().length;

/** The nearest key above `row` indented less than `indent`: the map the cursor's key goes in. */
function parentOf(lines: string[], row: number, indent: number): KeyLine | null {
  for (let r = row - 1; r >= 0; r--) {
    const line = lines[r]!;
    if (blank(line)) continue;
    const k = keyLine(lines, r);
    if (k && k.indent < indent) return k;
    if (indentOf(line) < indent && !k) return null;
  }
  return null;
}

/**
 * The keys at exactly `indent` in the block around `row` (with their inline values), skipping
 * `skip`: a key's siblings. A list item's first key (`- source: csv`) counts at the indent of
 * its name, like the keys under it.
 */
function childrenOf(lines: string[], row: number, indent: number, skip: number): Map<string, string> {
  const out = new Map<string, string>();
  const take = (r: number) => {
    const k = keyLine(lines, r);
    if (k && k.indent === indent && r !== skip) out.set(k.name, scalar(k.rest));
  };
  // Up to the line that opens the block (a list item's dash line is its first key).
  for (let r = row; r >= 0; r--) {
    const line = lines[r]!;
    if (blank(line)) continue;
    if (indentOf(line) < indent) {
      take(r);
      break;
    }
    take(r);
  }
  for (let r = row + 1; r < lines.length; r++) {
    const line = lines[r]!;
    if (blank(line)) continue;
    if (indentOf(line) < indent) break;
    take(r);
  }
  return out;
}
