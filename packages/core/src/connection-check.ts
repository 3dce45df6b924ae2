import type { ConnectionCheckContext, ConnectorDefinition } from './connector.ts';
import { ConfigError } from './errors.ts';
import { validateAgainst } from './internal/validate.ts';
import { didYouMean, type Registry } from './registry.ts';

/**
 * Runs the connection check of connector `name` on `config` (a credential's fields already merged
 * in): the source's when the name has one, else the sink's or the task's. A config that fails
 * the schema is refused with every issue under `configPath`; a name with no such connector, or
 * none with a check, is refused at `namePath`.
 */
export async function checkConnectorConnection(
  registry: Registry,
  name: string,
  config: Record<string, unknown>,
  ctx: ConnectionCheckContext,
  paths: { name: string; config: string },
): Promise<{ connector: ConnectorDefinition; message: string }> {
  const defs = registry.find(name);
  if (defs.length === 0) {
    const message = `unknown connector "${name}".${didYouMean(registry.suggest(name))}`;
    throw new ConfigError(message, [{ path: paths.name, message }]);
  }
  const order = ['source', 'sink', 'task'];
  const def = defs
    .filter((d) => 'connection' in d && d.connection)
    .sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind))[0];
  const connection = def && 'connection' in def ? def.connection : undefined;
  if (def === undefined || connection === undefined) {
    const message = `connector "${name}" has no connection check: it reaches no external system to test`;
    throw new ConfigError(message, [{ path: paths.name, message }]);
  }
  const valid = structuredClone(config);
  const issues = validateAgainst(connection.config, valid, paths.config, { missingAtProperty: true });
  if (issues.length > 0) throw new ConfigError(`invalid config for the ${def.name} connection check`, issues);
  return { connector: def, message: await connection.check(valid, ctx) };
}
