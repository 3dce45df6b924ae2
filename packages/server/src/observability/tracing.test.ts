import { expect, it } from 'vitest';
import { startJobSpan, startTracing } from './tracing.ts';

it('makes spans with ids and exports nowhere without an endpoint', async () => {
  const t = await startTracing({ version: '0.0.0', env: {} });
  expect(t.exportsTo).toBeNull();
  const span = startJobSpan(t.tracer, 'job x', null, { 'sluice.job.id': 'j' });
  expect(span.spanContext().traceId).toMatch(/^[0-9a-f]{32}$/);
  span.end();
  await t.shutdown();
});

it('exports to OTEL_EXPORTER_OTLP_ENDPOINT/v1/traces when it is set', async () => {
  const t = await startTracing({
    version: '0.0.0',
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9/' },
  });
  expect(t.exportsTo).toBe('http://127.0.0.1:9/v1/traces');
  await t.shutdown();
});
