import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import { ConfigError, defineTransform, type Row, type TransformStage } from '@sluice/core';
import { fileCredential, locationProperties } from '../location/options.ts';
import { queryIssues, statementIssues, validateQuery } from './check.ts';
import { referencedColumns } from './columns.ts';
import { attachInputs, inputIssues, namedInput } from './inputs.ts';
import { InputTable } from './load.ts';
import type { Session } from './session.ts';

const config = Type.Object(
  {
    query: Type.String({
      minLength: 1,
      description:
        "One SQL SELECT in DuckDB's dialect. The rows that reach the transform are the table `input`; " +
        "the query's result is what goes on. Joins, GROUP BY, window functions, QUALIFY, CTEs and " +
        "DuckDB's functions (dates, strings, JSON, regular expressions) all work.",
      examples: [
        'SELECT country, count(*) AS orders, sum(amount) AS total FROM input GROUP BY country ORDER BY country',
      ],
    }),
    inputs: Type.Optional(
      Type.Record(Type.String(), namedInput, {
        description:
          'More tables for the query, by name: each a file (`path`) or a dataset (`dataset`), read by ' +
          'DuckDB when the input has ended.',
        default: {},
        examples: [{ airports: { path: 'data/airports.csv' } }],
      }),
    ),
    memoryLimit: Type.Optional(
      Type.String({
        pattern: '^\\s*\\d+(\\.\\d+)?\\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\\s*$',
        description:
          "DuckDB's memory limit; past it, sorts, joins and aggregations spill to the step's temporary " +
          "directory. Default: a quarter of the machine's memory, at most 1GB and at most half the " +
          "step's memory limit (the process's V8 heap limit).",
        examples: ['256MB', '2GB'],
      }),
    ),
    threads: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: "Threads DuckDB runs the query on. Default: DuckDB's own, one per core.",
        examples: [2],
      }),
    ),
    ...locationProperties,
  },
  { additionalProperties: false },
);

const BATCH_ROWS = 8192;

export const sqlTransform = defineTransform({
  name: 'sql',
  version: '1.0.0',
  summary:
    'Runs a SQL query on embedded DuckDB over every row that reaches it (the table `input`) and ' +
    'further named files, and passes on its result. It holds its input until the input ends, so ' +
    'the flow checkpoints only at its end (a crash reruns the flow), and rows out are not rows in ' +
    '(an aggregation): the report balances before and after it separately. Columns of `input` are ' +
    'the fields of the rows, each typed as the narrowest DuckDB type holding all of its values ' +
    '(BIGINT, DOUBLE, BOOLEAN, VARCHAR, JSON for objects and arrays, TIMESTAMPTZ for Dates), ' +
    'widened to VARCHAR when a field holds several kinds.',
  config,
  credentialSchema: fileCredential,
  example: {
    query:
      'SELECT a.name AS airport, count(*) AS flights FROM input f JOIN airports a ON a.code = f.origin ' +
      'GROUP BY ALL ORDER BY flights DESC',
    inputs: { airports: { path: 'data/airports.csv' } },
  },
  holdsInput: true,
  reshapes: true,
  check: (c) => [...queryIssues(c.query), ...inputIssues(c.inputs)],
  validate: (c, ctx) => validateQuery(c.query, ctx.input, Object.keys(c.inputs ?? {}).length),
  // Read from the run's dataset area: the plan checks that the step needs the one writing each.
  datasets: (c) =>
    Object.entries(c.inputs ?? {}).flatMap(([name, i]) =>
      i.dataset === undefined
        ? []
        : [{ name: i.dataset, access: 'read' as const, path: `inputs.${name}.dataset` }],
    ),
  create(ctx): TransformStage {
    const c = ctx.config;
    let engine: typeof import('./engine.ts') | undefined;
    let session: Session | undefined;
    let table: InputTable | undefined;
    // A context built by hand (a test) has no tempDir: the stage then makes and removes its own.
    let ownTemp: string | undefined;
    let tempDir = ctx.tempDir;
    // Opened on the first batch, not here: `create` also runs when a spec is only validated.
    const open = async (): Promise<InputTable> => {
      if (table) return table;
      engine ??= await import('./engine.ts');
      if (tempDir === undefined) tempDir = ownTemp = await mkdtemp(join(tmpdir(), 'sluice-sql-'));
      else await mkdir(tempDir, { recursive: true });
      session = await engine.openSession({
        memoryLimit: c.memoryLimit ?? engine.defaultMemoryLimit(),
        threads: c.threads,
        tempDir,
      });
      const conn = session.conn;
      // Checked before any row is loaded: a query that cannot run fails the step at once.
      const problems = await statementIssues(conn, c.query);
      if (problems.length > 0)
        throw new ConfigError(
          'invalid sql transform query',
          problems.map((p) => ({ ...p, path: `with.${p.path}` })),
        );
      const only = await referencedColumns(conn, c.query);
      table = new InputTable(conn, 'input', (e) => ctx.quarantine(e), only);
      return table;
    };
    return {
      async push(rows: Row[]): Promise<Row[]> {
        await (await open()).append(rows);
        return [];
      },
      async *finish(): AsyncGenerator<Row[]> {
        const input = await open();
        await input.end();
        const conn = session!.conn;
        const files = await attachInputs(conn, c.inputs ?? {}, { ...ctx, tempDir: tempDir! });
        await engine!.lockDown(conn, files, tempDir!);
        // A long query stops when the flow is cancelled, not when it would have finished.
        const interrupt = () => conn.interrupt();
        ctx.signal.addEventListener('abort', interrupt, { once: true });
        try {
          let result: Awaited<ReturnType<typeof conn.stream>>;
          try {
            result = await conn.stream(c.query);
          } catch (err) {
            // No rows came in: `input` has no columns, so a query naming one cannot bind. An
            // empty input is an empty output, said in the log rather than failing the step.
            if (input.rows === 0 && /^Binder Error/.test((err as Error).message)) {
              ctx.log.warn('sql: no rows reached the transform, so its query has nothing to run on', {
                error: (err as Error).message,
              });
              return;
            }
            throw engine!.queryError(err);
          }
          try {
            yield* engine!.resultBatches(result, BATCH_ROWS, (m) => ctx.log.warn(m), input.placeholder);
          } catch (err) {
            if (ctx.signal.aborted) throw err;
            throw engine!.queryError(err);
          }
        } finally {
          ctx.signal.removeEventListener('abort', interrupt);
        }
      },
      async close(): Promise<void> {
        session?.close();
        session = undefined;
        if (ownTemp !== undefined) await rm(ownTemp, { recursive: true, force: true });
      },
    };
  },
});
