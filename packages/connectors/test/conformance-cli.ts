import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Row, RunReport } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import type { SecretCase } from './conformance-checks.ts';

/**
 * The half of the conformance suite that needs a real process: the `sluice` CLI runs a connector
 * against a known partner (an NDJSON file), is killed with SIGKILL mid-run and resumed, and its
 * report and logs are read as a user sees them. The connectors package does not import the CLI;
 * it only starts its bin, as a user would.
 */
const SLUICE_BIN = fileURLToPath(new URL('../../cli/bin/sluice.js', import.meta.url));

/** The rows every case moves: an id to count them by, and text that needs quoting in any format. */
export const cliRows = (n: number): Row[] =>
  Array.from({ length: n }, (_, i) => ({ id: i + 1, name: `row ${i + 1}, "quoted"` }));

/** Rows of a kill-and-resume case: 60 checkpoints, killed at the second. */
const ROWS = 6000;

interface KillResume {
  /**
   * Rows in the input: enough that the run is still going when the kill lands at the second
   * checkpoint (in every run here, at load 10 on 2 cores, it landed there). @defaultValue 6000
   */
  rows?: number;
  /** The flow's checkpointEvery. @defaultValue 100 */
  checkpointEvery?: number;
}

export interface CliSourceCase extends KillResume {
  /** Writes `rows` where the source reads them; returns the step's `with` (batchSize included). */
  input(rows: Row[], dir: string): Promise<Record<string, unknown>>;
  secret: CliSecret;
}

export interface CliSinkCase extends KillResume {
  /** The step's `with` writing to a fresh destination (without `verify`). */
  output(dir: string): Promise<Record<string, unknown>>;
  /** The destination's rows. */
  readBack(config: Record<string, unknown>, dir: string): Promise<Row[]>;
  /** What the sink's `verify` can prove: `content` (read back and compared) or only `count`. */
  verify: 'content' | 'count';
  /** See SinkCase.resumable: a sink that cannot resume must refuse `--resume` clearly. */
  resumable: true | { refused: RegExp };
  secret: CliSecret;
}

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  report: RunReport | undefined;
}

/**
 * Runs `sluice run <spec> --json`; with `killAt`, SIGKILLs it once it committed that many
 * checkpoints (a resumed run counts its own), or `afterMs` after it started.
 */
export async function sluice(
  dir: string,
  args: string[],
  killAt?: number | { afterMs: number },
): Promise<Run> {
  const child = spawn(
    process.execPath,
    [SLUICE_BIN, 'run', ...args, '--json', '--state-dir', join(dir, 'state')],
    {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1' },
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (typeof killAt !== 'number' || (stderr.match(/checkpoint \d+ committed/g)?.length ?? 0) < killAt)
      return;
    // Not read any more, the pipe fills and the child blocks writing its log (stderr is synchronous
    // on a pipe): the kill lands mid-run however fast the connector is.
    child.stderr.pause();
    child.kill('SIGKILL');
  });
  const timer =
    typeof killAt === 'object' ? setTimeout(() => child.kill('SIGKILL'), killAt.afterMs) : undefined;
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  clearTimeout(timer);
  let report: RunReport | undefined;
  try {
    report = JSON.parse(stdout) as RunReport;
  } catch {
    report = undefined;
  }
  return { code, signal, stdout, stderr, report };
}

function writeSpec(dir: string, name: string, checkpointEvery: number, flow: object[]): string {
  const path = join(dir, `${name}.yaml`);
  // JSON is YAML: no quoting rules to get wrong for paths and secrets.
  writeFileSync(path, JSON.stringify({ name, checkpointEvery, retry: { attempts: 1 }, flow }, null, 2));
  return path;
}

const ndjsonOf = (rows: Row[]) => rows.map((r) => `${JSON.stringify(r)}\n`).join('');
const readNdjson = (path: string): Row[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Row);

/** The destination holds rows 1..n, each exactly once and intact; says which are missing or doubled. */
export function expectEachOnce(rows: Row[], n: number): void {
  const seen = new Map<number, number>();
  const bad: string[] = [];
  for (const r of rows) {
    const id = Number(r.id);
    seen.set(id, (seen.get(id) ?? 0) + 1);
    if (r.name !== `row ${id}, "quoted"`) bad.push(`row ${id} changed: ${JSON.stringify(r)}`);
  }
  const missing: number[] = [];
  for (let id = 1; id <= n; id++) if (!seen.has(id)) missing.push(id);
  const doubled = [...seen].filter(([, k]) => k > 1).map(([id, k]) => `${id}×${k}`);
  const extra = [...seen.keys()].filter((id) => !(id >= 1 && id <= n));
  expect({
    missing: missing.slice(0, 10),
    doubled: doubled.slice(0, 10),
    extra,
    bad: bad.slice(0, 3),
  }).toEqual({ missing: [], doubled: [], extra: [], bad: [] });
  expect(rows.length).toBe(n);
}

/** Everything a run leaves for a user to read: its report, its log, and every file of its state. */
function expectSecretNowhere(run: Run, dir: string, secret: string): void {
  expect(run.code, run.stderr).toBe(1);
  expect(run.report?.status).toBe('failed');
  expect(run.stdout).not.toContain(secret);
  expect(run.stderr).not.toContain(secret);
  const state = join(dir, 'state');
  for (const f of readdirSync(state, { recursive: true, withFileTypes: true }))
    if (f.isFile()) expect(readFileSync(join(f.parentPath, f.name), 'utf8'), f.name).not.toContain(secret);
}

function integrity(run: Run, n: number, verified: 'content' | 'count'): void {
  expect(run.code, run.stderr).toBe(0);
  const step = run.report!.steps[0]!;
  expect(step).toMatchObject({ status: 'success', rowsRead: n, rowsWritten: n, rowsQuarantined: 0 });
  expect(run.report!.integrity).toEqual({ ok: true, problems: [], verified });
  const sink = step.components?.find((c) => c.kind === 'sink');
  // After a resume the file sinks verify the whole file; the postgres sink verifies what this
  // attempt inserted (its read-back sums are not kept in the checkpoint). Either way it must
  // cover every row since the checkpoint, and find what it was handed.
  const since = n - (step.resumedFromRow ?? 0);
  expect([n, since]).toContain(sink?.verified?.rowsHanded);
  expect(sink?.verified).toMatchObject({ level: verified, rowsFound: sink?.verified?.rowsHanded });
  if (verified === 'content') expect(sink?.verified?.found).toBe(sink?.verified?.handed);
}

/** Kills the run mid-way, then resumes it; returns the resumed run's report. */
async function killThenResume(dir: string, spec: string, n: number): Promise<Run> {
  const killed = await sluice(dir, [spec], 2);
  expect({ code: killed.code, signal: killed.signal }, 'the kill must land before the run ends').toEqual({
    code: null,
    signal: 'SIGKILL',
  });
  const resumed = await sluice(dir, [spec, '--resume']);
  if (resumed.code === 0) {
    // It continued from a checkpoint inside the data, rather than starting over or finding it done.
    expect(resumed.report!.steps[0]!.resumedFromRow).toBeGreaterThan(0);
    expect(resumed.report!.steps[0]!.resumedFromRow).toBeLessThan(n);
  }
  return resumed;
}

const fresh = (name: string) => mkdtempSync(join(tmpdir(), `sluice-conf-cli-${name}-`));

/**
 * A case's secret, or where the CLI half of the secret check runs for it instead: the report,
 * log and state hold no connector's config, and a location shapes its own errors, so one format
 * per location proves it (`{ coveredBy: 'csv on S3' }`); the in-process suite still checks the
 * error of every format.
 */
export type CliSecret = SecretCase | { coveredBy: string };

const secretTest = (
  secret: CliSecret,
  run: (config: Record<string, unknown>, dir: string) => Promise<Run>,
) =>
  'coveredBy' in secret
    ? it(`keeps its secret out of the run report, log and state: covered by ${secret.coveredBy}`, () => {
        expect(secret.coveredBy).not.toBe('');
      })
    : it('keeps its secret out of the run report, the log and the state', async () => {
        const dir = fresh('secret');
        expectSecretNowhere(await run(await secret.config(), dir), dir, secret.secret);
      });

/** A source under the CLI: into an NDJSON file that verifies its content. */
export function cliSourceConformance(name: string, connector: string, c: CliSourceCase): void {
  describe(`${name} source conformance, through the CLI`, { timeout: 120_000 }, () => {
    const flow = (source: object, out: string) => [
      { source: connector, with: source },
      { sink: 'ndjson', with: { path: out, verify: 'content' } },
    ];

    // One run proves both: a resumed run reports the whole data (rows before the checkpoint
    // included), so its counts and the sink's read-back must reconcile with all of it.
    it('killed with SIGKILL mid-run and resumed: each row exactly once, counts and content reconcile', async () => {
      const dir = fresh(name);
      const n = c.rows ?? ROWS;
      const input = await c.input(cliRows(n), dir);
      const spec = writeSpec(dir, 'kill', c.checkpointEvery ?? 100, flow(input, 'out.ndjson'));
      integrity(await killThenResume(dir, spec, n), n, 'content');
      expectEachOnce(readNdjson(join(dir, 'out.ndjson')), n);
    });

    secretTest(c.secret, async (config, dir) =>
      sluice(dir, [writeSpec(dir, 'secret', 100, flow(config, 'out.ndjson'))]),
    );
  });
}

/** A sink under the CLI: fed from an NDJSON file. */
export function cliSinkConformance(name: string, connector: string, c: CliSinkCase): void {
  describe(`${name} sink conformance, through the CLI`, { timeout: 120_000 }, () => {
    const flow = (input: string, sink: object) => [
      { source: 'ndjson', with: { path: input, batchSize: 50 } },
      { sink: connector, with: sink },
    ];
    const prepare = (dir: string, n: number) => writeFileSync(join(dir, 'in.ndjson'), ndjsonOf(cliRows(n)));

    it(
      c.resumable === true
        ? `killed with SIGKILL mid-run and resumed: each row exactly once, counts and verify: ${c.verify} reconcile`
        : `killed with SIGKILL mid-run, refuses --resume clearly; a new run writes each row once, verify: ${c.verify}`,
      async () => {
        const dir = fresh(name);
        const n = c.rows ?? ROWS;
        prepare(dir, n);
        const out = await c.output(dir);
        const spec = writeSpec(
          dir,
          'kill',
          c.checkpointEvery ?? 100,
          flow('in.ndjson', { ...out, verify: c.verify }),
        );
        const resumed = await killThenResume(dir, spec, n);
        if (c.resumable === true) integrity(resumed, n, c.verify);
        else {
          expect(resumed.code).toBe(1);
          expect(resumed.report!.error?.message).toMatch(c.resumable.refused);
          integrity(await sluice(dir, [spec]), n, c.verify);
        }
        expectEachOnce(await c.readBack(out, dir), n);
      },
    );

    secretTest(c.secret, async (config, dir) => {
      prepare(dir, 10);
      return sluice(dir, [writeSpec(dir, 'secret', 100, flow('in.ndjson', config))]);
    });
  });
}

/**
 * Runs `spec` with `sluice run`, SIGKILLing it at each of `kills` (after that many checkpoints of
 * the run, or after a delay) and resuming it each time, then once more to the end.
 */
export async function killFiveTimesThenFinish(
  dir: string,
  spec: string,
  kills: (number | { afterMs: number })[],
) {
  for (const [i, killAt] of kills.entries()) {
    const run = await sluice(dir, i === 0 ? [spec] : [spec, '--resume'], killAt);
    expect(
      run.signal,
      `run ${i + 1} must be killed, not end (code ${run.code}, stderr: ${run.stderr.slice(-500)})`,
    ).toBe('SIGKILL');
  }
  const done = await sluice(dir, [spec, '--resume']);
  expect(done.code, done.stderr.slice(-2000)).toBe(0);
  expect(done.report?.status).toBe('success');
}
