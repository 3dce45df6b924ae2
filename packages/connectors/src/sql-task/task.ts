import { readFile } from 'node:fs/promises';
import { type Static, Type } from '@sinclair/typebox';
import {
  defineTask,
  ErrorCode,
  FatalError,
  type Issue,
  RetryableError,
  resolveLocalPath,
  SluiceError,
  type TaskContext,
  type TaskResult,
  toSluiceError,
} from '@sluice/core';
import { dialectOf, openSession, sqlConnection } from './sessions.ts';
import { type Dialect, ScriptError, type Statement, splitScript } from './split.ts';

const Config = Type.Object(
  {
    url: Type.String({
      minLength: 1,
      description:
        'The database: postgres://user:password@host:5432/db, mysql://user:password@host:3306/db (MariaDB ' +
        'too; mariadb:// is taken as well), or sqlite:path/to/file.db (relative to the spec file’s ' +
        'directory; sqlite:///abs/path.db for an absolute path; the file is created when missing). May ' +
        'come from a credential (a postgres credential’s url works as is).',
      examples: ['postgres://etl@db:5432/warehouse', 'mysql://etl@db:3306/shop', 'sqlite:data/app.db'],
    }),
    sql: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'SQL to run: one statement or several separated by `;`. Not interpolated: each ${params.x} is ' +
          'sent as a bind parameter ($1 for PostgreSQL, ? for MySQL and SQLite), so a value can never ' +
          'change the statement; write it where a value goes, without quotes (`WHERE day = ${params.day}`). ' +
          'Table and column names cannot be parameters. Give either sql or file.',
        examples: ['DELETE FROM staging.orders WHERE day < ${params.day}'],
      }),
    ),
    file: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'A SQL script file to run instead of sql, relative to the spec file’s directory; its ' +
          '${params.x} are bound as in sql. Statements are split at `;` outside strings, quoted names, ' +
          'comments and PostgreSQL $$-quoted bodies; MySQL scripts may change the delimiter with ' +
          'DELIMITER lines.',
        examples: ['sql/refresh-marts.sql'],
      }),
    ),
    transaction: Type.Boolean({
      default: true,
      description:
        'Run all statements in one transaction: when one fails, none of them is kept. Set false for ' +
        'statements that cannot run in a transaction (VACUUM, CREATE INDEX CONCURRENTLY) or scripts that ' +
        'manage their own; each statement then commits on its own. MySQL commits DDL (CREATE, ALTER, ' +
        'DROP) at once even in a transaction.',
    }),
  },
  { additionalProperties: false },
);
type Config = Static<typeof Config>;

function check(cfg: Config): Issue[] {
  const issues: Issue[] = [];
  if ((cfg.sql === undefined) === (cfg.file === undefined))
    issues.push({
      path: 'sql',
      message: 'give either sql (the statements) or file (a script), not both and not neither',
    });
  // Before any ${env.X} is filled in, a url's scheme can only be judged when it is written out.
  if (!cfg.url.includes('${') && dialectOf(cfg.url) === undefined)
    issues.push({
      path: 'url',
      message:
        'url must start with postgres://, mysql:// (or mariadb://) or sqlite: (e.g. sqlite:data/app.db)',
    });
  return issues;
}

const LIMITS = {
  /** Characters of a statement shown in the log and messages. */
  shown: 80,
  /** Statements listed in the report's output; the rest are summed. */
  reported: 50,
} as const satisfies Record<string, number>;

/** A statement's start, on one line, for the log and messages. */
function head(sql: string): string {
  const one = sql.replace(/\s+/g, ' ');
  return one.length > LIMITS.shown ? `${one.slice(0, LIMITS.shown - 1)}…` : one;
}

/** The statements of the config's sql or file, and how to name where each stands. */
async function statementsOf(ctx: TaskContext<Config>, dialect: Dialect) {
  const { sql, file } = ctx.config;
  const where = ctx.componentId;
  let script = sql;
  let source = 'sql';
  if (file !== undefined) {
    const path = await resolveLocalPath({ ...ctx, baseDir: ctx.workDir }, file, `${where}: config.file`);
    try {
      script = await readFile(path, 'utf8');
    } catch (err) {
      throw new FatalError(`${where}: cannot read the SQL script ${path}: ${(err as Error).message}`, {
        code: ErrorCode.NOT_FOUND,
        cause: err,
      });
    }
    source = file;
  }
  try {
    return { statements: splitScript(script!, dialect), source };
  } catch (err) {
    if (!(err instanceof ScriptError)) throw err;
    throw new FatalError(`${where}: ${source} line ${err.line}: ${err.message}`, { code: ErrorCode.CONFIG });
  }
}

/** The values of a statement's parameters; a script file may name one the run does not have. */
function valuesOf(ctx: TaskContext<Config>, s: Statement, at: string): unknown[] {
  return s.params.map((name) => {
    if (!(name in ctx.params))
      throw new FatalError(
        `${ctx.componentId}: ${at} uses \${params.${name}}, which the pipeline does not declare in \`parameters\``,
        { code: ErrorCode.PARAMS },
      );
    return ctx.params[name];
  });
}

async function run(ctx: TaskContext<Config>): Promise<TaskResult> {
  const { url, transaction } = ctx.config;
  const where = ctx.componentId;
  const started = performance.now();
  const { statements, source } = await statementsOf(ctx, dialectOf(url)!);
  const at = (s: Statement, i: number) =>
    `statement ${i + 1} of ${statements.length} (${source} line ${s.line}: ${head(s.text)})`;
  if (ctx.signal.aborted) throw ctx.signal.reason;
  const session = await openSession(ctx, url, where);
  const onAbort = () => void session.cancel();
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  const counts: number[] = [];
  let open = false;
  try {
    if (transaction && statements.length > 0) {
      await session.run('BEGIN', []);
      open = true;
    }
    for (const [i, s] of statements.entries()) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      const values = valuesOf(ctx, s, at(s, i));
      ctx.log.info(`${at(s, i)}${values.length > 0 ? ` with ${values.length} bound value(s)` : ''}`);
      let n: number;
      try {
        n = await session.run(s.text, values);
      } catch (err) {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        throw failed(err, at(s, i), transaction, i);
      }
      counts.push(n);
      ctx.log.info(`statement ${i + 1}: ${n} row(s)`);
      ctx.count?.('rows.affected', n);
    }
    if (open) {
      await session.run('COMMIT', []);
      open = false;
    }
  } catch (err) {
    if (open) await session.run('ROLLBACK', []).catch(() => undefined);
    throw err;
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
    await session.close();
  }
  ctx.count?.('statements', statements.length);
  const total = counts.reduce((a, b) => a + b, 0);
  const lines = statements
    .slice(0, LIMITS.reported)
    .map((s, i) => `${i + 1}. line ${s.line}: ${head(s.text)} — ${counts[i]} row(s)`);
  if (statements.length > LIMITS.reported)
    lines.push(`… ${statements.length - LIMITS.reported} more statement(s)`);
  lines.push(`${statements.length} statement(s) on ${session.target}, ${total} row(s) in all`);
  return {
    output: lines.join('\n'),
    metrics: {
      statements: statements.length,
      rowsAffected: total,
      durationMs: Math.round(performance.now() - started),
    },
  };
}

/** A statement's failure, saying which statement, where in the script, and what became of the others. */
function failed(err: unknown, at: string, transaction: boolean, index: number): SluiceError {
  const e = toSluiceError(err);
  const kept = transaction
    ? 'the transaction was rolled back: no statement of this run is kept'
    : index === 0
      ? 'no statement had run before it'
      : `statements 1–${index} ran and are kept (transaction: false)`;
  const message = `${at} failed: ${e.message}; ${kept}`;
  // As the database's error was: a lost connection or a deadlock stays retryable, and fatal stays fatal.
  if (e instanceof RetryableError) return new RetryableError(message, { cause: err, code: e.code });
  if (e instanceof FatalError) return new FatalError(message, { cause: err, code: e.code });
  return new SluiceError(e.code, message, { cause: err });
}

export const sqlTask = defineTask({
  name: 'sql',
  // Sends a message or runs statements over the network: nothing a step process must contain.
  inWorker: true,
  version: '1.0.0',
  summary:
    'Runs SQL statements or a script file on PostgreSQL, MySQL/MariaDB or SQLite, in one transaction, parameters bound.',
  config: Config,
  credentialSchema: Type.Object(
    {
      url: Type.String({
        minLength: 1,
        writeOnly: true,
        description: 'The database url with its password, e.g. postgres://etl:secret@db:5432/warehouse',
      }),
    },
    { additionalProperties: false },
  ),
  connection: sqlConnection,
  rawFields: ['sql'],
  example: {
    url: 'postgres://etl@db:5432/warehouse',
    sql: 'DELETE FROM staging.orders WHERE day < ${params.day}',
    transaction: true,
  },
  check,
  run,
});
