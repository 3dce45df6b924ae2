import type { Issue } from './errors.ts';
import { appendKey } from './internal/json-path.ts';

/**
 * How deeply a pipeline spec may nest objects and arrays (the document itself is level 1). Real
 * specs stay under ~10; the limit keeps every recursive walk over a spec (validation, interpolation,
 * cloning) far from the stack's end: ~2,000 levels overflowed it.
 */
export const MAX_SPEC_DEPTH = 64;

type Node = { value: object; depth: number; parent: Node | undefined; key: string | number };

/**
 * The first place in `value` nested deeper than `max` levels, as an issue at its JSON path under
 * `base` (`steps[0].with.x…`, or `body.spec…` for a request body), or null when there is none.
 * Walks iteratively, so it cannot overflow the stack itself, and visits each object at most `max`
 * times: shared (YAML aliases) and cyclic references are fine, a cycle counts as too deep.
 */
export function nestingDepthIssue(value: unknown, max: number, base = ''): Issue | null {
  if (!isContainer(value)) return null;
  const deepest = new Map<object, number>();
  const stack: Node[] = [{ value, depth: 1, parent: undefined, key: '' }];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.depth > max) {
      return { path: pathOf(node, base) || '(root)', message: `nested deeper than ${max} levels` };
    }
    if ((deepest.get(node.value) ?? 0) >= node.depth) continue;
    deepest.set(node.value, node.depth);
    const keys = Array.isArray(node.value) ? node.value.keys() : Object.keys(node.value);
    const children: Node[] = [];
    for (const key of keys) {
      const child = (node.value as Record<string | number, unknown>)[key];
      if (isContainer(child)) children.push({ value: child, depth: node.depth + 1, parent: node, key });
    }
    // Reversed, so the walk meets the document's first deep place first.
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
  return null;
}

const isContainer = (v: unknown): v is object => typeof v === 'object' && v !== null;

function pathOf(node: Node, base: string): string {
  const keys: (string | number)[] = [];
  for (let n: Node | undefined = node; n?.parent; n = n.parent) keys.push(n.key);
  return keys.reverse().reduce<string>(appendKey, base);
}
