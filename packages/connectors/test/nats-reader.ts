// A process that reads the nats source until it is killed: nats.integration.test.ts starts it
// (`node --import tsx nats-reader.ts '<config as JSON>'`) and SIGKILLs it once it printed the ids
// of its first batch, so the messages it holds are neither acknowledged nor given back.
import type { SourceDefinition } from '@sluice/core';
import { natsSource } from '../src/nats/source.ts';
import { sourceContext } from './harness.ts';

const { ctx } = sourceContext(natsSource, JSON.parse(process.argv[2]!));
for await (const b of (natsSource as SourceDefinition).read(ctx)) {
  if (b.rows.length === 0) continue;
  process.stdout.write(`${JSON.stringify(b.rows.map((r) => r.id))}\n`);
  await new Promise(() => undefined);
}
