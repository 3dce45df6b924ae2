import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkAnswer, type Secrets } from '../../../../bench/fuzz/oracle.ts';
import { type OpenApiDocument, operations, requestText, restRequest } from '../../../../bench/fuzz/rest.ts';
import { seed } from '../../../../bench/fuzz/seed.ts';
import { injectSender, type Send, type Tokens } from '../../../../bench/fuzz/send.ts';
import { mutatedSpec, shippedSpecs, specProblems, specRequest } from '../../../../bench/fuzz/specs.ts';
import { wsFrames } from '../../../../bench/fuzz/ws.ts';
import { wsCase } from '../../../../bench/fuzz/ws-client.ts';
import { type App, buildApp } from '../../src/api/app.ts';
import { type TestPlatform, testPlatform, tokenFor } from '../helpers/platform.ts';

// Issue 13: generated hostile requests (docs/fuzzing.md). The campaign (`npm run fuzz`) sends
// thousands; this sends enough on every `npm test` to catch a regression of the oracle's rules.
// Reproduce a failure with the seed and path fast-check prints: FUZZ_SEED=<seed> npx vitest run <this file>.
// About 20 s of REST, 15 s of specs, 5 s of WebSocket here; FUZZ_SCALE=10 sends ten times as many.
const runs = (n: number) => Math.ceil(n * Number(process.env.FUZZ_SCALE ?? 1));
const seedOption = process.env.FUZZ_SEED ? { seed: Number(process.env.FUZZ_SEED) } : {};
// On a loaded machine a property stops early rather than time out; a failure found by then is
// still reported, shrunk as far as the time allowed (shrinking re-sends slow inputs).
const limits = { interruptAfterTimeLimit: 80_000, ...seedOption };
const root = fileURLToPath(new URL('../../../../', import.meta.url));

describe('hostile requests, generated from the OpenAPI document', { timeout: 150_000 }, () => {
  let p: TestPlatform;
  let app: App;
  let base: string;
  let tokens: Tokens;
  let send: Send;
  let secrets: Secrets;
  let doc: OpenApiDocument;
  let known: Awaited<ReturnType<typeof seed>>;

  beforeAll(async () => {
    p = await testPlatform('pglite');
    tokens = {
      admin: p.adminToken,
      operator: await tokenFor(p, 'operator'),
      viewer: await tokenFor(p, 'viewer'),
    };
    // No rate limit: the point is what each request does, not how many a minute are allowed.
    app = await buildApp(p, { uiDir: false, rateLimit: 1_000_000_000 });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    send = injectSender(app, () => tokens);
    secrets = {
      paths: [p.dataDir, p.filesDir, root.replace(/\/$/, '')],
      values: [p.masterKey, 'admin-password-1', 'operator-password-1', 'viewer-password-1'],
    };
    doc = JSON.parse((await app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).body);
    known = await seed(send);
  });
  afterAll(async () => {
    await app?.close();
    await p?.close();
  });

  it('answers every request without a 5xx, in the error shape, with paths, leaking nothing', async () => {
    const ops = operations(doc);
    expect(ops.length).toBeGreaterThan(50);
    await fc.assert(
      fc.asyncProperty(restRequest(ops, known), async (r) => {
        const a = await send(r);
        expect(checkAnswer(a, requestText(r), secrets), `${r.method} ${r.url} → ${a.status}`).toEqual([]);
      }),
      { numRuns: runs(1500), ...limits },
    );
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });

  it('answers every mutated pipeline spec with issues at paths or a 4xx, never a 5xx', async () => {
    const shipped = shippedSpecs(root);
    await fc.assert(
      fc.asyncProperty(mutatedSpec(shipped), fc.boolean(), async (c, create) => {
        const r = specRequest(c.spec, { create, pipelineId: known.pipelines![0]! });
        const a = await send(r);
        expect(specProblems(r, a, secrets), `${r.route} → ${a.status} ${a.text.slice(0, 300)}`).toEqual([]);
      }),
      { numRuns: runs(300), ...limits },
    );
  });

  it('answers every WebSocket frame that is not a subscription with one error, and keeps serving', async () => {
    const role = fc.constantFrom('admin', 'operator', 'viewer') as fc.Arbitrary<keyof Tokens>;
    await fc.assert(
      fc.asyncProperty(wsFrames, role, async (frames, r) => {
        expect(await wsCase(`${base.replace('http', 'ws')}/api/v1/ws?token=${tokens[r]}`, frames)).toEqual(
          [],
        );
      }),
      { numRuns: runs(150), ...limits },
    );
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });
});
