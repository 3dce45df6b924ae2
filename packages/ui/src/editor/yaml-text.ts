import { parse, stringify, YAMLParseError } from 'yaml';
import type { PipelineSpec } from '../api/types.ts';

// The YAML view shows the very document the API stores (JSON is YAML), so `sluice run` takes a
// copy of it unchanged.

export function specToYaml(spec: PipelineSpec): string {
  // No anchors or aliases: a repeated config object is written out in full where it is used.
  return stringify(canonical(spec), { aliasDuplicateObjects: false, lineWidth: 0 });
}

// The server stores specs as jsonb, which sorts keys by length: `with:` would come back above
// `source:`. The YAML view puts them in the order docs/pipeline-spec.md writes them.
const DOC = ['name', 'description', 'parameters', 'steps', 'flow'];
const STEP = [
  'id',
  'needs',
  'flow',
  'task',
  'credential',
  'with',
  'retry',
  'timeout',
  'maxQuarantine',
  'checkpointEvery',
  'checkpointInterval',
];
const COMPONENT = ['source', 'transform', 'sink', 'id', 'credential', 'with'];

function ordered<T extends object>(o: T, keys: string[]): T {
  const rec = o as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of keys) if (k in rec) out[k] = rec[k];
  for (const k of Object.keys(rec)) if (!(k in out)) out[k] = rec[k];
  return out as T;
}

/** The same spec with its keys in the documented order (values untouched). */
export function canonical(spec: PipelineSpec): PipelineSpec {
  const flow = (f: PipelineSpec['flow']) => f?.map((c) => ordered(c, COMPONENT));
  const out = ordered(spec, DOC);
  if (spec.steps)
    out.steps = spec.steps.map((s) => ({ ...ordered(s, STEP), ...(s.flow ? { flow: flow(s.flow) } : {}) }));
  if (spec.flow) out.flow = flow(spec.flow);
  return out;
}

export type ParsedYaml =
  | { ok: true; spec: PipelineSpec }
  | { ok: false; message: string; line: number | null; column: number | null };

export function parseSpecYaml(text: string): ParsedYaml {
  let doc: unknown;
  try {
    doc = parse(text, { prettyErrors: true });
  } catch (err) {
    if (err instanceof YAMLParseError) {
      // prettyErrors appends "at line L, column C:" and a code excerpt; line and column are kept apart.
      const first = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      return {
        ok: false,
        message: first,
        line: err.linePos?.[0]?.line ?? null,
        column: err.linePos?.[0]?.col ?? null,
      };
    }
    return { ok: false, message: (err as Error).message, line: null, column: null };
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    return { ok: false, message: 'the document must be a mapping (name:, steps: …)', line: 1, column: 1 };
  return { ok: true, spec: doc as PipelineSpec };
}
