import { CST, Lexer } from 'yaml';

/**
 * Where a YAML text may nest deeper than `limit`, from its tokens alone, before the `yaml` package
 * composes it: its composer recurses per level, and near the stack's end V8 can die outright
 * (measured: `[` × 2,000, a 4 KB text, ended the process with "RegExpCompiler Allocation failed",
 * which no catch sees) where it usually throws "Maximum call stack size exceeded".
 *
 * The bound is flow depth (`[`, `{`) plus, outside flow collections, the line's indentation and the
 * block indicators (`-`, `?`, `:`) so far on the line: each block level takes one or the other.
 * Scalars (block scalars, quoted strings) are single tokens, so their contents never count. Returns
 * the offset where the bound first exceeds `limit`, or -1. The lexer does not recurse.
 */
export function yamlTooDeepAt(text: string, limit: number): number {
  let offset = 0;
  let flow = 0;
  let indent = 0;
  let indicators = 0;
  let lineStart = true;
  let scalarNext = false;
  for (const token of new Lexer().lex(text)) {
    const at = offset;
    // The lexer's markers (document, flow end, scalar) are not in the text.
    if (token.length === 1 && token < ' ' && token !== '\n' && token !== '\t') {
      if (token === CST.SCALAR) scalarNext = true;
      continue;
    }
    offset += token.length;
    if (scalarNext) {
      scalarNext = false;
      lineStart = false;
      continue;
    }
    switch (CST.tokenType(token)) {
      case 'newline':
        lineStart = true;
        indent = 0;
        indicators = 0;
        continue;
      case 'space':
        if (lineStart) indent = token.length;
        continue;
      case 'flow-map-start':
      case 'flow-seq-start':
        flow++;
        break;
      case 'flow-map-end':
      case 'flow-seq-end':
        flow = Math.max(0, flow - 1);
        break;
      case 'seq-item-ind':
      case 'explicit-key-ind':
      case 'map-value-ind':
        if (flow === 0) indicators++;
        break;
    }
    lineStart = false;
    if (flow + indent + indicators > limit) return at;
  }
  return -1;
}
