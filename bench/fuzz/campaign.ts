/**
 * `npm run fuzz -- --cases 10000`: the long fuzzing campaign of issue 13 (docs/fuzzing.md). Starts
 * a real `sluice serve` (child process, embedded PGlite), spreads the cases over REST, WebSocket,
 * pipeline specs and data files with the generators the property tests use, and writes
 * bench/FUZZ.md: inputs per area, crashes, 5xx, hangs, INTERNAL errors, leaks, with the smallest
 * reproducer of each kind of finding.
 *
 * Options: --cases N (10000), --seed S (random), --out FILE (bench/FUZZ.md), and, to replay one
 * case of a report, --area rest|spec|ws|data --index I with the report's --seed.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { builtinConnectors } from '@sluice/connectors';
import { Registry } from '@sluice/core';
import fc from 'fast-check';
import { hostileDataFile, runDataFile } from './data.ts';
import { abbreviate } from './hostile.ts';
import { checkAnswer, LIMITS, leaks, type Problem, type Secrets } from './oracle.ts';
import { type Finding, renderReport, Tally } from './report.ts';
import { type FuzzRequest, type OpenApiDocument, operations, requestText, restRequest } from './rest.ts';
import { seed } from './seed.ts';
import { httpSender, type Send, type Tokens } from './send.ts';
import { type LiveServer, startServer } from './server.ts';
import { mutatedSpec, shippedSpecs, specProblems, specRequest } from './specs.ts';
import { wsFrames } from './ws.ts';
import { wsCase } from './ws-client.ts';

const { values: args } = parseArgs({
  options: {
    cases: { type: 'string', default: '10000' },
    seed: { type: 'string' },
    out: { type: 'string' },
    area: { type: 'string' },
    index: { type: 'string' },
  },
});
const root = fileURLToPath(new URL('../../', import.meta.url));
const cases = Number(args.cases);
const seedValue = args.seed === undefined ? randomBytes(4).readUInt32BE() >>> 1 : Number(args.seed);
const out = args.out ?? join(root, 'bench/FUZZ.md');
const only = args.area as Area | undefined;
const onlyIndex = args.index === undefined ? undefined : Number(args.index);

type Area = 'rest' | 'spec' | 'ws' | 'data';
/** Shares of the cases: REST is the widest surface. */
const SHARES: Record<Area, number> = { rest: 0.55, spec: 0.2, ws: 0.1, data: 0.15 };
/** One data case in this many also runs as a job on the platform (a step process each: slow). */
const DATA_JOB_EVERY = 25;

const work = mkdtempSync(join(tmpdir(), 'sluice-fuzz-'));
const dataDir = join(work, 'data');
const filesDir = join(work, 'files');
const adminPassword = `fuzz-admin-${randomBytes(6).toString('hex')}`;
const masterKey = randomBytes(32).toString('base64');
const secrets: Secrets = {
  paths: [dataDir, filesDir, work, root.replace(/\/$/, '')],
  values: [masterKey, adminPassword, 'operator-password-1', 'viewer-password-1'],
};
const serverOptions = {
  root,
  dataDir,
  filesDir,
  adminPassword,
  masterKey,
  logFile: join(work, 'server.log'),
};

let server: LiveServer = await startServer(serverOptions);
let tokens: Tokens = { admin: '', operator: '', viewer: '' };
const send: Send = (r) => httpSender(server.url, () => tokens)(r);
const tally = new Tally();

async function login(username: string, password: string): Promise<string> {
  const a = await send({
    method: 'POST',
    url: '/api/v1/auth/login',
    role: 'none',
    route: 'login',
    body: JSON.stringify({ username, password }),
    contentType: 'application/json',
  });
  if (a.status !== 200) throw new Error(`login ${username}: ${a.status} ${a.text}`);
  return (JSON.parse(a.text) as { accessToken: string }).accessToken;
}

/** Access tokens last 15 minutes: signed in again every 10. */
async function signIn(): Promise<void> {
  tokens = { ...tokens, admin: await login('admin', adminPassword) };
  for (const role of ['operator', 'viewer'] as const) {
    await send({
      method: 'POST',
      url: '/api/v1/users',
      role: 'admin',
      route: 'setup',
      body: JSON.stringify({ username: role, password: `${role}-password-1`, role }),
      contentType: 'application/json',
    });
    tokens = { ...tokens, [role]: await login(role, `${role}-password-1`) };
  }
}
await signIn();
let signedInAt = Date.now();
const doc = JSON.parse(
  (await send({ method: 'GET', url: '/api/v1/openapi.json', role: 'none', route: 'doc' })).text,
) as OpenApiDocument;
const known = await seed(send);
const ops = operations(doc);
const specs = shippedSpecs(root);
const registry = new Registry().register(...builtinConnectors);

const ARBITRARIES = {
  rest: restRequest(ops, known),
  spec: mutatedSpec(specs),
  ws: fc.tuple(wsFrames, fc.constantFrom('admin', 'operator', 'viewer') as fc.Arbitrary<keyof Tokens>),
  data: hostileDataFile,
};
/** Case `index` of an area, the same for the same seed: what a reproducer names. */
const generate = <A extends Area>(area: A, index: number) =>
  fc.sample(ARBITRARIES[area] as fc.Arbitrary<unknown>, { seed: seedValue + index, numRuns: 1 })[0];

/** After a case: did the server die? Then it is a crash of this input, and the server starts again. */
async function survived(area: Area, group: string, input: string, index: number): Promise<boolean> {
  const exit = server.exited();
  const health = exit
    ? null
    : await fetch(`${server.url}/health`).then(
        (r) => r.status,
        () => 0,
      );
  if (!exit && health === 200) return true;
  tally.find({
    area,
    kind: 'crash',
    group,
    detail: `server ${exit ? `exited (${JSON.stringify(exit)})` : `answered /health with ${health}`}`,
    input,
    index,
  });
  await server.stop();
  server = await startServer(serverOptions);
  await signIn();
  return false;
}

const report = (area: Area, group: string, input: string, index: number, problems: Problem[]) => {
  for (const p of problems)
    tally.find({ area, kind: p.kind, group, detail: p.detail, input, index } satisfies Finding);
};

async function restCase(index: number) {
  const r = generate('rest', index) as FuzzRequest;
  const a = await send(r);
  const input = `${r.method} ${r.url} as ${r.role}${r.body === undefined ? '' : `\ncontent-type: ${r.contentType}\n${Buffer.isBuffer(r.body) ? `<bytes ${r.body.toString('hex')}>` : r.body}`}`;
  report('rest', r.route, input, index, checkAnswer(a, requestText(r), secrets));
  tally.answer('rest', a.status);
  await survived('rest', r.route, input, index);
}

async function specCase(index: number) {
  const c = generate('spec', index) as { spec: unknown };
  const r = specRequest(c.spec, { create: index % 4 === 0, pipelineId: known.pipelines![0]! });
  const a = await send(r);
  report('spec', r.route, r.body as string, index, specProblems(r, a, secrets));
  tally.answer('spec', a.status);
  await survived('spec', r.route, r.body as string, index);
}

async function wsRun(index: number) {
  const [frames, role] = generate('ws', index) as [Parameters<typeof wsCase>[1], keyof Tokens];
  const input = `as ${role}: ${frames.map((f) => ('text' in f ? f.text : `<binary ${f.binary.toString('hex')}>`)).join('\n')}`;
  const problems = await wsCase(
    `${server.url.replace('http', 'ws')}/api/v1/ws?token=${tokens[role]}`,
    frames,
  );
  report('ws', 'frames', input, index, problems);
  tally.answer('ws', problems.length === 0 ? 'passed' : 'failed');
  await survived('ws', 'frames', input, index);
}

async function dataCase(index: number, dataIndex: number) {
  const f = generate('data', index) as Awaited<
    typeof hostileDataFile extends fc.Arbitrary<infer T> ? T : never
  >;
  const o = await runDataFile(f, join(work, 'engine', String(index)), registry);
  const job = dataIndex % DATA_JOB_EVERY === 0;
  // Only written out when needed: squeezing a 2 MB file for a passed case costs more than the run.
  const input =
    o.problems.length > 0 || job
      ? `${f.format} ${f.name} with ${JSON.stringify(f.config)}:\n${abbreviate(f.bytes.toString('latin1'), 1_500)}`
      : '';
  report('data', f.format, input, index, o.problems);
  tally.answer('data', o.problems.length === 0 ? 'passed' : 'failed');
  if (job) await dataJob(index, f, input);
}

/** The same file as a job on the platform: a user's mistake fails it with a code, paths relative. */
async function dataJob(
  index: number,
  f: { format: string; name: string; bytes: Buffer; config: object },
  input: string,
) {
  const dir = `fuzz-data/${index}`;
  mkdirSync(join(filesDir, dir), { recursive: true });
  writeFileSync(join(filesDir, dir, f.name), f.bytes);
  const spec = {
    name: `fuzz-data-${index}`,
    flow: [
      { source: f.format, with: { path: `${dir}/${f.name}`, ...f.config } },
      { sink: 'ndjson', with: { path: `${dir}/out.ndjson` } },
    ],
  };
  const api = (method: string, url: string, body?: unknown) =>
    send({
      method,
      url,
      role: 'admin',
      route: 'data job',
      ...(body ? { body: JSON.stringify(body), contentType: 'application/json' } : {}),
    });
  const created = await api('POST', '/api/v1/pipelines', { spec });
  if (created.status !== 201) {
    report('data', `${f.format} job`, input, index, checkAnswer(created, JSON.stringify(spec), secrets));
    return;
  }
  const id = (JSON.parse(created.text) as { id: string }).id;
  const exec = await api('POST', `/api/v1/pipelines/${id}/execute`, {});
  const jobId = (JSON.parse(exec.text) as { jobId: string }).jobId;
  const t0 = Date.now();
  let job = { status: 'queued', text: '' };
  while (!['success', 'failed', 'cancelled', 'timeout'].includes(job.status)) {
    if (Date.now() - t0 > 120_000) {
      report('data', `${f.format} job`, input, index, [
        { kind: 'hang', detail: `job ${job.status} after 120 s` },
      ]);
      return;
    }
    await new Promise((r) => setTimeout(r, 200));
    const a = await api('GET', `/api/v1/jobs/${jobId}`);
    job = { status: (JSON.parse(a.text) as { status: string }).status, text: a.text };
  }
  const steps = await api('GET', `/api/v1/jobs/${jobId}/steps`);
  const logs = await api('GET', `/api/v1/jobs/${jobId}/logs?limit=1000`);
  const problems: Problem[] = [];
  for (const text of [job.text, steps.text, logs.text]) {
    problems.push(...leaks(text, JSON.stringify(spec), secrets));
    if (/"code":"INTERNAL"/.test(text))
      problems.push({ kind: 'internal', detail: `job ${job.status} with INTERNAL: ${text.slice(0, 300)}` });
  }
  report('data', `${f.format} job`, input, index, problems);
}

/** Spreads case numbers over the areas in proportion, interleaved. */
function areaOf(index: number): Area {
  const x = ((index * 0.6180339887) % 1) as number;
  let acc = 0;
  for (const [area, share] of Object.entries(SHARES) as [Area, number][]) {
    acc += share;
    if (x < acc) return area;
  }
  return 'rest';
}

const started = Date.now();
const dataSeen = { n: 0 };
const indices = onlyIndex === undefined ? Array.from({ length: cases }, (_, i) => i) : [onlyIndex];
for (const i of indices) {
  const area = only ?? areaOf(i);
  if (only && onlyIndex === undefined && areaOf(i) !== only) continue;
  if (Date.now() - signedInAt > 10 * 60_000) {
    await signIn();
    signedInAt = Date.now();
  }
  tally.sent(area);
  try {
    if (area === 'rest') await restCase(i);
    else if (area === 'spec') await specCase(i);
    else if (area === 'ws') await wsRun(i);
    else await dataCase(i, dataSeen.n++);
  } catch (err) {
    // A failure of the campaign itself (not of the server) is reported, never hidden.
    tally.find({
      area,
      kind: 'crash',
      group: 'campaign',
      detail: `the campaign failed: ${String((err as Error)?.stack ?? err).slice(0, 400)}`,
      input: '',
      index: i,
    });
  }
  if ((i + 1) % 500 === 0)
    process.stderr.write(`${i + 1}/${cases} cases, ${Math.round((Date.now() - started) / 1000)} s\n`);
}
await server.stop();

const md = renderReport({
  tally,
  seed: seedValue,
  cases: indices.length,
  seconds: Math.round((Date.now() - started) / 1000),
  cores: availableParallelism(),
  hangMs: LIMITS.hangMs,
  serverLog: serverOptions.logFile,
});
if (onlyIndex === undefined && !only) writeFileSync(out, md);
process.stdout.write(onlyIndex === undefined && !only ? `wrote ${out}\n${tally.summary()}\n` : md);
process.exitCode = tally.total() > 0 ? 1 : 0;
