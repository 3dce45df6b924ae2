import { Command, InvalidArgumentError, Option } from 'commander';
import { connectorsCommand } from './commands/connectors.ts';
import { inferCommand } from './commands/infer.ts';
import { quarantineCommand } from './commands/quarantine.ts';
import { runCommand } from './commands/run.ts';
import { stateCommand } from './commands/state.ts';
import { validateCommand } from './commands/validate.ts';

// The platform's commands load the server (database drivers, OpenTelemetry, metrics, the UI's
// files) only when used: `sluice run` starts without any of it.
const platform = () => import('./commands/serve.ts');
const admin = () => import('./commands/admin.ts');
// Backfill computes its intervals with the scheduler's calendar (croner), which lives in the server.
const backfill = () => import('./commands/backfill.ts');

function collectParam(value: string, previous: Record<string, string>): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`expected key=value, got "${value}"`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new InvalidArgumentError(`expected a whole number ≥ 0, got "${value}"`);
  return n;
}

// A reader that stops early (`sluice connectors csv | head -1`) closes the pipe: the rest of the
// output has nowhere to go, which is the reader's choice, not a failure. Node ignores SIGPIPE and
// raises EPIPE as an unhandled 'error' event (a stack trace) instead; exit as quietly as a
// SIGPIPE'd tool would, keeping the status a command already set (0 otherwise, so that
// `set -o pipefail` scripts do not fail on a `| head`). Any other stream error is still thrown.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(process.exitCode ?? 0);
  });
}

const program = new Command()
  .name('sluice')
  .description('Typed, streaming, verifiably correct ETL.')
  .version('0.1.0')
  .showHelpAfterError();

program
  .command('run')
  .description('Run a pipeline spec (YAML or JSON) and print its report.')
  .argument('<spec>', 'path to the pipeline spec')
  .option('-p, --param <key=value>', 'a run parameter (repeatable)', collectParam, {})
  .option('--json', 'print exactly one JSON document, the run report, on stdout')
  .option('--resume', 'continue an interrupted run from its checkpoints')
  .option('--max-quarantine <n>', 'fail a step that quarantines more rows than this', nonNegativeInt)
  .option('--state-dir <dir>', 'where checkpoints and quarantine go (default .sluice/runs/<name>)')
  .option(
    '--threads <n>',
    'worker threads for flows that can use them (default: one per core, one fewer when a server the flow reads from or writes to runs on this machine; 1 runs on the main thread)',
    positiveInt,
  )
  .option('-q, --quiet', 'no progress display')
  .action(async (spec: string, opts) => {
    process.exitCode = await runCommand(spec, opts);
  });

program
  .command('backfill')
  .description(
    'Run a spec once per hour, day, week or month of [--from, --to): each run gets its interval as ${params.date} (and ${params.start}, ${params.end}) and its own state directory.',
  )
  .argument('<spec>', 'path to the pipeline spec; it must declare date, start or end in `parameters`')
  .requiredOption('--from <date>', 'first interval start: 2026-11-01 (or 2026-11-01T05:00 for hours)')
  .requiredOption('--to <date>', 'exclusive end: intervals that start before it run')
  .addOption(
    new Option('--every <interval>', 'interval length, aligned to the calendar (weeks start on Monday)')
      .choices(['hour', 'day', 'week', 'month'])
      .makeOptionMandatory(),
  )
  .option('--concurrency <n>', 'runs at once (default 1)', (v) => positiveInt(v))
  .option('--timezone <zone>', 'IANA time zone of the dates (default UTC)')
  .option('-p, --param <key=value>', 'a parameter every run gets (repeatable)', collectParam, {})
  .option(
    '--state-dir <dir>',
    'runs keep their state under <dir>/backfill/<date> (default .sluice/runs/<name>)',
  )
  .option('--json', "print one JSON document with every interval's outcome and report")
  .action(async (spec: string, opts) => {
    process.exitCode = await (await backfill()).backfillCommand(spec, opts);
  });

program
  .command('validate')
  .description('Check a spec: shape, DAG, connector configs and parameters. Runs nothing.')
  .argument('<spec>', 'path to the pipeline spec')
  .option('-p, --param <key=value>', 'a run parameter (repeatable)', collectParam, {})
  .option('--json', 'print the result as JSON')
  .action(async (spec: string, opts) => {
    process.exitCode = await validateCommand(spec, opts);
  });

program
  .command('infer')
  .description(
    'Print the types of the first rows (inferRows, default 1000) of each csv, json and ndjson source as YAML to paste into its schema:.',
  )
  .argument('<spec>', 'path to the pipeline spec')
  .option('--step <id>', 'only this step')
  .option('-p, --param <key=value>', 'a run parameter (repeatable)', collectParam, {})
  .option('--json', 'print as JSON')
  .action(async (spec: string, opts) => {
    process.exitCode = await inferCommand(spec, opts);
  });

program
  .command('state')
  .description(
    "show: what each step keeps between runs (an incremental source's cursor); reset: delete it, so the next run reads from the beginning.",
  )
  .argument('<action>', 'show | reset')
  .argument('<spec>', 'path to the pipeline spec')
  .option('--step <id>', 'only this step')
  .option('--state-dir <dir>', 'the run directory given to sluice run (default .sluice/runs/<name>)')
  .option('--json', 'print as JSON')
  .action(async (action: string, spec: string, opts) => {
    process.exitCode = await stateCommand(action, spec, opts);
  });

program
  .command('quarantine')
  .description(
    "replay: re-run the quarantined rows of a pipeline's last run through the spec as it is now (after fixing a cast or a rule), into the same sinks, which keep what the run wrote. Rows that fail again stay quarantined with the new reason; run it again to continue an interrupted replay.",
  )
  .argument('<action>', 'replay')
  .argument('<spec>', 'path to the pipeline spec')
  .option(
    '--run <dir>',
    'the run directory (the --state-dir given to sluice run; default .sluice/runs/<name>, the last run)',
  )
  .option('--step <id>', 'only this step')
  .option('-p, --param <key=value>', 'a run parameter (repeatable)', collectParam, {})
  .option('--json', 'print exactly one JSON document, the replay report, on stdout')
  .option('-q, --quiet', 'no progress display')
  .action(async (action: string, spec: string, opts) => {
    process.exitCode = await quarantineCommand(action, spec, opts);
  });

program
  .command('connectors')
  .description(
    'List the connectors, or show one with its config schema and an example; --check runs its connection check.',
  )
  .argument('[name]', 'a connector name')
  .option('--json', 'print as JSON')
  .option(
    '--check',
    'connect with --with as a run would (a database, a file on its store) and say what was found',
  )
  .option('--with <json>', 'config fields for --check: a JSON object, or @file holding one')
  .action(async (name: string | undefined, opts) => {
    process.exitCode = await connectorsCommand(name, opts);
  });

function collectList(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError(`expected a whole number ≥ 1, got "${value}"`);
  return n;
}

const withPlatform = (c: Command) =>
  c
    .option(
      '--data-dir <dir>',
      'embedded database, logs and job workspaces (default .sluice/platform, or SLUICE_DATA_DIR)',
    )
    .option(
      '--database-url <url>',
      'a PostgreSQL server (15+) instead of the embedded database (or SLUICE_DATABASE_URL)',
    )
    .option(
      '--files-dir <dir>',
      'relative paths in pipeline specs resolve here (default: the working directory)',
    )
    .option('--concurrency <n>', 'jobs this process runs at once (default 2)', positiveInt)
    .option(
      '--partition-concurrency <n>',
      'parts of partitioned steps this process runs at once, besides its jobs (default: --concurrency)',
      positiveInt,
    )
    .option('--step-memory <mb>', 'heap limit of each step process in MB (default 1024)', positiveInt)
    .option(
      '--pipeline-env <name>',
      'an environment variable pipelines may read as ${env.NAME}, or a prefix ending in * (repeatable; or SLUICE_PIPELINE_ENV=A,B_*; none by default)',
      collectList,
      [],
    )
    .option(
      '--allow-path <dir>',
      'a directory whose files pipelines may read and write besides --files-dir; nothing else is open to them (repeatable; or SLUICE_ALLOW_PATH=/a:/b)',
      collectList,
      [],
    )
    .option(
      '--deny-hosts <list>',
      'hosts pipelines may not connect to, comma-separated: names, wildcards (*.internal), addresses and CIDR ranges (10.0.0.0/8); link-local and cloud metadata addresses (169.254.0.0/16, fe80::/10, fd00:ec2::254) are refused always (repeatable; or SLUICE_DENY_HOSTS)',
      collectList,
      [],
    )
    .option(
      '--allow-hosts <list>',
      'the only hosts pipelines may connect to, in the same forms (* for every host); an address or range named here is reached even when link-local; --deny-hosts wins over it (repeatable; or SLUICE_ALLOW_HOSTS)',
      collectList,
      [],
    )
    .option(
      '--artifacts <where>',
      'where job logs, reports, quarantine files and saved output go: s3://bucket/prefix (credentials and endpoint from AWS_* variables) or a directory; every server and worker of a platform must name the same (default <data-dir>/files, or SLUICE_ARTIFACTS)',
    )
    .option(
      '--steps-per-process <n>',
      'steps of one pipeline a step process runs before it is replaced; 1 = a fresh process per step (default 100)',
      positiveInt,
    );

withPlatform(
  program
    .command('serve')
    .description('Run the platform: REST API, scheduler and a worker, in one process.')
    .option('--port <n>', 'HTTP port (default 8080, or PORT)', positiveInt)
    .option('--host <host>', 'interface to listen on (default 127.0.0.1)')
    .option('--no-worker', 'do not run jobs in this process')
    .option(
      '--worker-tags <list>',
      "tags of this process's worker, comma-separated (e.g. browser): it also takes jobs whose steps need them (runsOn); default none (or SLUICE_WORKER_TAGS)",
      collectList,
      [],
    )
    .option('--no-scheduler', 'do not start scheduled runs from this process')
    .option('--tls-cert <file>', 'serve HTTPS with this certificate (PEM)')
    .option('--tls-key <file>', 'the private key of --tls-cert (PEM)')
    .option('--behind-proxy', 'a proxy in front terminates TLS (allows a non-loopback --host without TLS)')
    .option(
      '--cors-origin <origin>',
      'allow browser calls from this origin (repeatable; none by default)',
      collectList,
      [],
    )
    .option('--rate-limit <n>', 'API requests per minute per caller (default 1200)', positiveInt)
    .option(
      '--example <spec>',
      'create these pipelines when there is none yet (repeatable)',
      collectList,
      [],
    ),
).action(async (opts) => {
  process.exitCode = await (await platform()).serveCommand(opts);
});

withPlatform(
  program
    .command('worker')
    .description('Run jobs for a platform on a PostgreSQL server (--database-url).')
    .option(
      '--tags <list>',
      'what this worker offers, comma-separated (e.g. browser,gpu): it takes the jobs whose steps need only these tags (runsOn) and the jobs that need none; default none (or SLUICE_WORKER_TAGS)',
      collectList,
      [],
    ),
).action(async (opts) => {
  process.exitCode = await (await platform()).workerCommand(opts);
});

const dbOptions = (c: Command) =>
  c
    .option('--data-dir <dir>', 'the embedded database (default .sluice/platform, or SLUICE_DATA_DIR)')
    .option('--database-url <url>', 'a PostgreSQL server (or SLUICE_DATABASE_URL)');

dbOptions(
  program
    .command('users')
    .description(
      'Manage users: list | create <name> [role] | set-password <name> | set-role <name> <role> | disable <name> | enable <name> | reset-totp <name>. Passwords come from stdin or SLUICE_PASSWORD.',
    )
    .argument('<action>')
    .argument('[username]')
    .argument('[value]'),
).action(async (action: string, username: string | undefined, value: string | undefined, opts) => {
  process.exitCode = await (await admin()).usersCommand(action, username, value, opts);
});

dbOptions(
  program
    .command('keys')
    .description(
      'rotate: re-encrypt every credential and secret under a new master key, atomically (SLUICE_NEW_MASTER_KEY, or one is generated). Stop the servers first.',
    )
    .argument('<action>', 'rotate'),
).action(async (action: string, opts) => {
  if (action !== 'rotate') {
    process.stderr.write(`unknown keys action "${action}": use sluice keys rotate\n`);
    process.exitCode = 2;
    return;
  }
  process.exitCode = await (await admin()).keysRotateCommand(opts);
});

dbOptions(
  program
    .command('doctor')
    .description(
      'Check the platform: database, queue, free disk, workers, master key, UI (or a running server with --url).',
    )
    .option(
      '--url <url>',
      'ask a running server (its /health and /ready) instead of opening the data directory',
    ),
).action(async (opts) => {
  process.exitCode = await (await import('./commands/doctor.ts')).doctorCommand(opts);
});

program
  .command('migrate')
  .description('Apply the database migrations (serve and worker apply them on start too).')
  .option('--data-dir <dir>', 'the embedded database (default .sluice/platform, or SLUICE_DATA_DIR)')
  .option('--database-url <url>', 'a PostgreSQL server (or SLUICE_DATABASE_URL)')
  .action(async (opts) => {
    process.exitCode = await (await platform()).migrateCommand(opts);
  });

await program.parseAsync(process.argv);
