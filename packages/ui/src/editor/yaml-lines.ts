import { isMap, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { Issue } from '../api/client.ts';
import type { YamlProblem } from '../components/yaml-code.tsx';
import { parsePath } from './issues.ts';

// The server names each problem by a JSON path of the spec; the YAML view shows it on the line
// where that path is written. The text is re-read on every edit, so a problem follows its node
// as lines come and go above it.

export interface LinePosition {
  /** 1-based, as YamlProblem wants them. */
  line: number;
  column: number;
}

/**
 * Where `path` (`steps[1].flow[0].with.path`, with or without the API's `spec.` prefix) is
 * written in `text`: a map entry's key, a list item's first character. A path that goes past
 * what the text holds (a missing required field, a step removed since the check) lands on the
 * deepest part that exists, so the problem still shows near its cause; null when the text does
 * not parse or the path names nothing in it at all.
 */
export function lineOfPath(text: string, path: string): LinePosition | null {
  return pathLocator(text)?.(path) ?? null;
}

/** lineOfPath for many paths of one text, which is parsed once; null when it does not parse. */
export function pathLocator(text: string): ((path: string) => LinePosition | null) | null {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter });
  if (doc.errors.length > 0 || !doc.contents) return null;
  return (path) => {
    let segs = parsePath(path);
    if (segs[0] === 'spec') segs = segs.slice(1);
    if (segs[0] === '(root)') segs = [];
    let node: unknown = doc.contents;
    let offset: number | null = null;
    for (const seg of segs) {
      if (isMap(node)) {
        const pair = node.items.find((p) => keyText(p.key) === String(seg));
        if (!pair) break;
        offset = rangeStart(pair.key);
        node = pair.value;
      } else if (isSeq(node) && typeof seg === 'number' && seg < node.items.length) {
        node = node.items[seg];
        offset = rangeStart(node);
      } else break;
    }
    if (offset === null) return segs.length === 0 ? { line: 1, column: 1 } : null;
    const { line, col } = counter.linePos(offset);
    return { line, column: col };
  };
}

const keyText = (key: unknown): string | null =>
  key && typeof key === 'object' && 'value' in key ? String((key as { value: unknown }).value) : null;

const rangeStart = (node: unknown): number | null => (node as Node | null)?.range?.[0] ?? null;

/**
 * The schema check's wording for a key it does not know (after the server's `step "x": ` prefix,
 * if any); its issue's path is the map holding the key.
 */
const UNKNOWN_KEY = /(?:^|: )unknown property "(.+)"$/;

/** `issues` as problems at their lines in `text`; an unknown key is marked on the key itself. */
export function issueProblems(text: string, issues: readonly Issue[]): YamlProblem[] {
  const locate = issues.length > 0 ? pathLocator(text) : null;
  if (!locate) return [];
  return issues.flatMap((issue) => {
    const unknown = UNKNOWN_KEY.exec(issue.message);
    const at = (unknown && locate(`${issue.path}[${JSON.stringify(unknown[1])}]`)) ?? locate(issue.path);
    if (!at) return [];
    const where = issue.path.replace(/^spec\./, '');
    return [{ ...at, message: `${where}: ${issue.message}`, severity: 'error' as const }];
  });
}
