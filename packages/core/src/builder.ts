import type { Static, TSchema } from '@sinclair/typebox';
import type {
  ConnectorDefinition,
  SinkDefinition,
  SourceDefinition,
  TaskDefinition,
  TransformDefinition,
} from './connector.ts';
import { Registry } from './registry.ts';
import type { ComponentSpec, PipelineSpec, StepSpec } from './spec.ts';

type StepOptions = Omit<StepSpec, 'id' | 'flow' | 'task' | 'with'>;

/**
 * A connector's config as written in code. Defaults are invisible to TypeScript (a TypeBox
 * `default` does not change the static type), so top-level fields are optional here and the
 * runner's validation reports a missing required one with its path, as for a YAML spec.
 */
export type ConfigInput<S extends TSchema> = Partial<Static<S>>;

/** A flow under construction: `from` a source, `through` transforms, `to` one or more sinks. */
export class FlowBuilder {
  readonly components: ComponentSpec[] = [];
  readonly defs: ConnectorDefinition[] = [];

  from<S extends TSchema>(source: SourceDefinition<S>, config: ConfigInput<S>): this {
    return this.#add({ source: source.name, with: config as Record<string, unknown> }, source);
  }

  through<S extends TSchema>(transform: TransformDefinition<S>, config: ConfigInput<S>): this {
    return this.#add({ transform: transform.name, with: config as Record<string, unknown> }, transform);
  }

  to<S extends TSchema>(sink: SinkDefinition<S>, config: ConfigInput<S>): this {
    return this.#add({ sink: sink.name, with: config as Record<string, unknown> }, sink);
  }

  #add(c: ComponentSpec, def: ConnectorDefinition): this {
    this.components.push(c);
    this.defs.push(def);
    return this;
  }
}

/**
 * Builds in code the same document a YAML spec holds, with configs typed by each connector's
 * schema. `build()` returns the spec and a registry holding exactly the connectors used.
 */
export class PipelineBuilder {
  readonly #spec: PipelineSpec;
  readonly #defs: ConnectorDefinition[] = [];

  constructor(name: string) {
    this.#spec = { name, steps: [] };
  }

  describe(description: string): this {
    this.#spec.description = description;
    return this;
  }

  parameters(schema: Record<string, unknown>): this {
    this.#spec.parameters = schema;
    return this;
  }

  flow(id: string, build: (f: FlowBuilder) => FlowBuilder, options: StepOptions = {}): this {
    const f = build(new FlowBuilder());
    this.#defs.push(...f.defs);
    this.#spec.steps!.push({ id, flow: f.components, ...options });
    return this;
  }

  task<S extends TSchema>(
    id: string,
    task: TaskDefinition<S>,
    config: ConfigInput<S>,
    options: StepOptions = {},
  ): this {
    this.#defs.push(task);
    this.#spec.steps!.push({ id, task: task.name, with: config as Record<string, unknown>, ...options });
    return this;
  }

  build(): { spec: PipelineSpec; registry: Registry } {
    const registry = new Registry();
    const seen = new Set<ConnectorDefinition>();
    for (const d of this.#defs) {
      if (!seen.has(d)) registry.register(d);
      seen.add(d);
    }
    return { spec: structuredClone(this.#spec), registry };
  }
}

export function pipeline(name: string): PipelineBuilder {
  return new PipelineBuilder(name);
}
