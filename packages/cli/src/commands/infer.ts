import { type CastType, createRegistry, type InferredSchema, sampleSchema } from '@sluice/connectors';
import {
  ConfigError,
  coerceParams,
  type Json,
  type PlannedFlow,
  planPipeline,
  type SourceContext,
  type SourceDefinition,
} from '@sluice/core';
import { loadSpec } from '../load-spec.ts';
import { printError } from '../render/errors.ts';

export interface InferFlags {
  step?: string;
  json?: boolean;
  param: Record<string, string>;
}

interface SourceConfig {
  path?: string;
  infer: boolean;
  inferRows: number;
  schema?: Record<string, CastType>;
}

/** What `sluice infer` found for one source. */
interface Found {
  step: string;
  source: string;
  path: string | null;
  /** Declared types first, then the inferred ones: what `schema:` would hold. */
  schema: Record<string, string>;
  declared: string[];
  undecided: Record<string, string>;
  rows: number;
}

/** A source that can infer types: its config has `inferRows` (csv, json, ndjson). */
function infers(def: SourceDefinition): boolean {
  const props = (def.config as { properties?: Record<string, unknown> }).properties;
  return props !== undefined && 'inferRows' in props;
}

/**
 * `sluice infer <spec>`: reads the first `inferRows` rows of every file source that can infer types
 * (with `infer: true` or not) and prints the types as YAML to paste under the source's `with:`.
 * 0 when it printed some, 2 when the spec, the step or a file is wrong.
 */
export async function inferCommand(specPath: string, flags: InferFlags): Promise<number> {
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  try {
    const { doc, baseDir } = await loadSpec(specPath);
    const registry = createRegistry();
    const params = coerceParams((doc as { parameters?: object } | null)?.parameters, flags.param);
    const plan = planPipeline(doc, { registry, params });
    const ids = plan.steps.map((s) => s.id);
    if (flags.step !== undefined && !ids.includes(flags.step)) {
      throw new ConfigError(
        `no step "${flags.step}" in pipeline "${plan.name}" (its steps: ${ids.join(', ')})`,
        [],
      );
    }
    const flows = plan.steps.filter(
      (s): s is PlannedFlow & typeof s =>
        s.kind === 'flow' && (flags.step === undefined || s.id === flags.step),
    );
    const found: Found[] = [];
    for (const step of flows) {
      const src = step.source;
      if (!infers(src.def)) continue;
      const config = registry.validate<SourceConfig>(src.def, src.config, `${src.path}.with`);
      const state = new Map<string, Json>();
      const ctx: SourceContext<SourceConfig> = {
        config,
        signal: abort.signal,
        stepId: step.id,
        componentId: src.id,
        baseDir,
        params: plan.params,
        log: {
          debug() {},
          info() {},
          warn: (m) => process.stderr.write(`${m}\n`),
          error: (m) => process.stderr.write(`${m}\n`),
        },
        quarantine: () => undefined,
        resumeFrom: undefined,
        state: { get: (k) => state.get(k), set: (k, v) => void state.set(k, v) },
        setOrigin: () => undefined,
      };
      const s: InferredSchema = await sampleSchema(
        ctx,
        src.def.read as (c: typeof ctx) => AsyncGenerator<never>,
      );
      const declared = config.schema ?? {};
      found.push({
        step: step.id,
        source: src.def.name,
        path: config.path ?? null,
        schema: { ...declared, ...s.types },
        declared: Object.keys(declared),
        undecided: s.undecided,
        rows: s.rows,
      });
    }
    if (found.length === 0) {
      throw new ConfigError(
        `${specPath}: no csv, json or ndjson source${flags.step === undefined ? '' : ` in step "${flags.step}"`}: ` +
          'sluice infer reads the types of file sources only',
        [],
      );
    }
    process.stdout.write(flags.json ? `${JSON.stringify(found, null, 2)}\n` : found.map(toYaml).join('\n'));
    return 0;
  } catch (err) {
    printError(err);
    return 2;
  } finally {
    process.off('SIGINT', onSignal);
  }
}

function toYaml(f: Found): string {
  const head =
    `# step ${f.step}, ${f.source} source${f.path === null ? '' : ` ${f.path}`}: types of the first ${f.rows} ` +
    `rows${f.declared.length > 0 ? ` (declared: ${f.declared.join(', ')})` : ''}; paste under the source's with:\n`;
  const fields = Object.entries(f.schema).map(([field, type]) => `  ${yamlKey(field)}: ${type}\n`);
  const body = fields.length > 0 ? `schema:\n${fields.join('')}` : 'schema: {}\n';
  const left = Object.entries(f.undecided).map(([field, why]) => `#   ${field}: ${why}\n`);
  return head + body + (left.length > 0 ? `# left as read:\n${left.join('')}` : '');
}

/** A field name as a YAML key: bare when YAML reads it back as that string, quoted otherwise. */
function yamlKey(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_ .-]*$/.test(name) && !/ $|^(true|false|null|yes|no|on|off|y|n)$/i.test(name)
    ? name
    : JSON.stringify(name);
}
