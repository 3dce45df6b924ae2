// The example pipeline built in code instead of YAML: same connectors, typed configs, same runner.
// Run it with `npx tsx examples/from-code.ts`.
import { fileURLToPath } from 'node:url';
import { csvSource, filterTransform, mapTransform, ndjsonSink, shellTask } from '@sluice/connectors';
import { pipeline, type RunReport, runPipeline } from '@sluice/core';

export async function runOrdersFromCode(stateDir?: string): Promise<RunReport> {
  const { spec, registry } = pipeline('orders-from-code')
    .parameters({ type: 'object', properties: { minAmount: { type: 'number', default: 10 } } })
    .flow('load-orders', (f) =>
      f
        .from(csvSource, {
          path: 'data/orders.csv',
          schema: { id: 'integer', amount: 'number', quantity: 'integer', active: 'boolean' },
        })
        .through(filterTransform, { where: 'active == true && amount >= params.minAmount' })
        .through(mapTransform, { set: { total: 'amount * quantity' }, drop: ['notes'] })
        .to(ndjsonSink, { path: 'out/orders-from-code.ndjson' }),
    )
    .task(
      'count-lines',
      shellTask,
      { command: ['wc', '-l', 'out/orders-from-code.ndjson'] },
      { needs: ['load-orders'] },
    )
    .build();
  const baseDir = fileURLToPath(new URL('.', import.meta.url));
  return runPipeline(spec, { registry, baseDir, ...(stateDir ? { stateDir } : {}) });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const report = await runOrdersFromCode();
  console.log(
    JSON.stringify(report.steps.map((s) => ({ id: s.id, status: s.status, written: s.rowsWritten }))),
  );
}
