import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { executePipeline } from '../src/services/jobs.ts';
import { createPipeline } from '../src/services/pipelines.ts';
import { startWorker } from '../src/worker/worker.ts';
import { type TestPlatform, testPlatform, waitForJob } from './helpers/platform.ts';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: { key: string; value: Record<string, unknown> }[];
  status?: { code?: number; message?: string };
}

// A local OTLP/HTTP receiver: every batch of spans the platform exports lands here.
let receiver: Server;
const spans: OtlpSpan[] = [];
let p: TestPlatform;
beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += String(d);
    });
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        const doc = JSON.parse(body) as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] };
        for (const rs of doc.resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const { port } = receiver.address() as AddressInfo;
  p = await testPlatform('pglite', { otlpEndpoint: `http://127.0.0.1:${port}/v1/traces` });
});
afterAll(async () => {
  receiver?.close();
});

const attr = (s: OtlpSpan, key: string) => {
  const v = s.attributes.find((a) => a.key === key)?.value;
  return v ? Object.values(v)[0] : undefined;
};

it('exports a span per job with a child per step, and stores the trace id on the job', async () => {
  writeFileSync(join(p.filesDir, 'in.ndjson'), '{"n":1}\n{"n":2}\n{"n":3}\n');
  const pipeline = await createPipeline(
    p,
    {
      spec: {
        name: 'traced',
        steps: [
          {
            id: 'copy',
            flow: [
              { source: 'ndjson', with: { path: 'in.ndjson' } },
              { sink: 'ndjson', with: { path: 'out.ndjson' } },
            ],
          },
          { id: 'fail', needs: ['copy'], task: 'shell', with: { command: ['false'] } },
        ],
      },
    },
    'test',
  );
  const worker = await startWorker(p, { killGraceMs: 1000 });
  const job = await waitForJob(p, await executePipeline(p, pipeline.id, { triggerType: 'manual' }));
  await worker.stop();
  await p.close(); // flushes the exporter
  expect(job.status).toBe('failed');
  expect(job.traceId).toMatch(/^[0-9a-f]{32}$/);

  const root = spans.find((s) => s.name === 'job traced');
  expect(root, `spans received: ${spans.map((s) => s.name).join(', ')}`).toBeDefined();
  expect(root!.traceId).toBe(job.traceId);
  expect(attr(root!, 'sluice.job.id')).toBe(job.id);
  expect(attr(root!, 'sluice.status')).toBe('failed');
  expect(root!.status?.code).toBe(2); // ERROR

  const copy = spans.find((s) => s.name === 'step copy')!;
  const fail = spans.find((s) => s.name === 'step fail')!;
  for (const s of [copy, fail]) {
    expect(s.traceId).toBe(job.traceId);
    expect(s.parentSpanId).toBe(root!.spanId);
  }
  expect(attr(copy, 'sluice.connector')).toBe('ndjson → ndjson');
  expect(Number(attr(copy, 'sluice.rows.read'))).toBe(3);
  expect(Number(attr(copy, 'sluice.rows.written'))).toBe(3);
  expect(attr(fail, 'sluice.status')).toBe('failed');
  expect(fail.status?.message).toMatch(/exited with code 1/);
}, 60_000);
