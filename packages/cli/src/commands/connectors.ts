import { createRegistry } from '@sluice/connectors';
import { type ConnectorDefinition, didYouMean } from '@sluice/core';
import pc from 'picocolors';
import { userSchema } from '../connector-docs.ts';
import { printError } from '../render/errors.ts';
import { table } from '../render/format.ts';

/** `sluice connectors [name]`: the catalog, or one connector's schema and example. */
export function connectorsCommand(name: string | undefined, flags: { json?: boolean }): number {
  const registry = createRegistry();
  if (!name) {
    const all = registry.list();
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(all.map(describe), null, 2)}\n`);
      return 0;
    }
    // The first sentence keeps the table one line per connector; `sluice connectors <name>` has the rest.
    const brief = (summary: string) => summary.split(/(?<=\.) /)[0]!;
    const rows = all.map((d) => [d.name, d.kind, d.version, brief(d.summary)]);
    process.stdout.write(`${table(['name', 'kind', 'version', 'summary'], rows)}\n`);
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

function describe(d: ConnectorDefinition) {
  return { name: d.name, kind: d.kind, version: d.version, summary: d.summary };
}
