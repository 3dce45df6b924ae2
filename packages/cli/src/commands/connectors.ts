import { readFileSync } from 'node:fs';
import { createRegistry } from '@sluice/connectors';
import { type ConnectorDefinition, checkConnectorConnection, didYouMean, type Registry } from '@sluice/core';
import pc from 'picocolors';
import { userSchema } from '../connector-docs.ts';
import { printError } from '../render/errors.ts';
import { table } from '../render/format.ts';

/**
 * `sluice connectors [name]`: the catalog, or one connector's schema and example; with `--check`,
 * its connection check run on `--with` (a JSON object, or @file holding one).
 */
export async function connectorsCommand(
  name: string | undefined,
  flags: { json?: boolean; check?: boolean; with?: string },
): Promise<number> {
  const registry = createRegistry();
  if (flags.check) return checkCommand(registry, name, flags);
  if (!name) {
    const all = registry.list();
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(all.map(describe), null, 2)}\n`);
      return 0;
    }
    // The first sentence keeps the table one line per connector; `sluice connectors <name>` has the rest.
    const brief = (summary: string) => summary.split(/(?<=\.) /)[0]!;
    const checks = (d: ConnectorDefinition) => ('connection' in d && d.connection ? 'yes' : '');
    const rows = all.map((d) => [d.name, d.kind, d.version, checks(d), brief(d.summary)]);
    process.stdout.write(`${table(['name', 'kind', 'version', 'check', 'summary'], rows)}\n`);
    return 0;
  }
  const found = registry.find(name);
  if (found.length === 0) {
    printError(
      new Error(
        `unknown connector "${name}".${didYouMean(registry.suggest(name))} Run \`sluice connectors\` for the list.`,
      ),
    );
    return 2;
  }
  if (flags.json) {
    process.stdout.write(
      `${JSON.stringify(
        found.map((d) => ({
          ...describe(d),
          schema: userSchema(d.config),
          ...(d.credentialSchema ? { credentialSchema: userSchema(d.credentialSchema) } : {}),
          example: d.example,
        })),
        null,
        2,
      )}\n`,
    );
    return 0;
  }
  for (const d of found) {
    process.stdout.write(`${pc.bold(`${d.kind} ${d.name}`)} ${pc.dim(`v${d.version}`)}\n${d.summary}\n\n`);
    process.stdout.write(`${pc.bold('config schema')}\n${JSON.stringify(userSchema(d.config), null, 2)}\n`);
    if (d.credentialSchema)
      process.stdout.write(
        `\n${pc.bold('credential fields')} ${pc.dim('(a stored credential may supply these; writeOnly ones are secret)')}\n${JSON.stringify(userSchema(d.credentialSchema), null, 2)}\n`,
      );
    if (d.example !== undefined) {
      process.stdout.write(
        `\n${pc.bold('example')}\n  - ${d.kind}: ${d.name}\n    with: ${JSON.stringify(d.example)}\n`,
      );
    }
    process.stdout.write('\n');
  }
  return 0;
}

async function checkCommand(
  registry: Registry,
  name: string | undefined,
  flags: { json?: boolean; with?: string },
): Promise<number> {
  try {
    if (!name)
      throw new Error(
        '--check needs a connector name: sluice connectors postgres --check --with \'{"url": "…"}\'',
      );
    const config = readWith(flags.with);
    const r = await checkConnectorConnection(
      registry,
      name,
      config,
      { baseDir: process.cwd(), stepId: `check ${name}`, signal: AbortSignal.timeout(CHECK_TIMEOUT_MS) },
      { name: 'name', config: '--with' },
    );
    if (flags.json) process.stdout.write(`${JSON.stringify({ ok: true, message: r.message })}\n`);
    else process.stdout.write(`${pc.green('ok')} ${r.connector.kind} ${name}: ${r.message}\n`);
    return 0;
  } catch (err) {
    if (flags.json)
      process.stdout.write(`${JSON.stringify({ ok: false, message: (err as Error).message })}\n`);
    else printError(err);
    return 1;
  }
}

const CHECK_TIMEOUT_MS = 30_000;

/** `--with`: a JSON object, or `@file` holding one (secrets then stay out of the shell history). */
function readWith(arg: string | undefined): Record<string, unknown> {
  if (arg === undefined) return {};
  const text = arg.startsWith('@') ? readFileSync(arg.slice(1), 'utf8') : arg;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`--with is not JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error('--with must be a JSON object of config fields, e.g. {"path": "s3://bucket/in/"}');
  return value as Record<string, unknown>;
}

function describe(d: ConnectorDefinition) {
  return { name: d.name, kind: d.kind, version: d.version, summary: d.summary };
}
