/** Renders bench/RESULTS.md from the measured samples. Memory is in MB (10^6 bytes), the stricter reading of the target. */
import type { DataSet } from '../generate.ts';
import { type Sample, WORKLOADS, type Workload } from './runners.ts';

export interface RunnerResult {
  id: string;
  workload: Workload;
  label: string;
  samples: Sample[];
  error?: string;
  /** What the runner's last repetition reported besides time and memory. */
  note?: string;
}

export interface Growth {
  small: DataSet;
  large: DataSet;
  smallRss: number;
  largeRss: number;
  largeWallMs: number;
  error?: string;
}

export interface Results {
  date: string;
  machine: Record<string, string>;
  data: DataSet;
  reps: number;
  command: string;
  results: RunnerResult[];
  growth?: Growth;
  /** Sluice on a tiny input: what start-up (loading the CLI, the spec, connecting) costs by itself. */
  baseline?: RunnerResult & { rows: number };
}

export const TARGETS = {
  w1VsFloor: 2.0,
  w2VsDuckdb: 1.5,
  rssMb: 200,
  rssGrowth: 0.15,
  /** W2 from S3 at this fraction of the speed of the same file on local disk, or more. */
  s3VsLocal: 0.7,
  w3VsDuckdb: 1.5,
  w3RssMb: 300,
  w5VsDuckdb: 2.0,
  w5RssMb: 250,
  /** W4: throughput with the lookup at this fraction of the same flow's without it, or more. */
  w4VsNoLookup: 0.5,
  w4RssMb: 300,
  /** W6: the mysql sink's flow within this multiple of the `mariadb` client's LOAD DATA LOCAL floor. */
  w6VsFloor: 1.5,
  /** W7: the http source's throughput at this fraction of the plain fetch-and-write floor's, or more. */
  w7VsFloor: 0.5,
  /** W8: a queue drained into PostgreSQL at this fraction of the plain consumer's rows/s, or more. */
  w8VsFloor: 0.7,
} as const;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
export const medianWall = (r: RunnerResult | undefined): number | undefined =>
  r && !r.error && r.samples.length ? median(r.samples.map((s) => s.wallMs)) : undefined;
export const peakRss = (r: RunnerResult | undefined): number | undefined =>
  r && !r.error && r.samples.length ? Math.max(...r.samples.map((s) => s.peakRssBytes)) : undefined;

const secs = (ms: number): string => (ms / 1000).toFixed(2);
const mb = (bytes: number): string => (bytes / 1e6).toFixed(0);
const ratio = (a: number | undefined, b: number | undefined): string =>
  a !== undefined && b !== undefined ? `${(a / b).toFixed(2)}×` : '–';
const int = (n: number): string => Math.round(n).toLocaleString('en-US');

/** Per workload: the runner every row is compared with, and a second comparison when there is one. */
const COMPARED: Record<Workload, { base: [string, string]; also?: [string, string] }> = {
  w1: { base: ['floor', 'vs floor'] },
  w2: { base: ['floor', 'vs floor'], also: ['duckdb', 'vs DuckDB'] },
  'w2-s3': { base: ['floor', 'vs GetObject'], also: ['sluice-local', 'vs local file'] },
  w3: { base: ['duckdb', 'vs DuckDB'] },
  w4: { base: ['no-lookup', 'vs no lookup'] },
  w5: { base: ['duckdb', 'vs DuckDB'] },
  w6: { base: ['floor', 'vs floor'] },
  w7: { base: ['floor', 'vs floor'] },
  w8: { base: ['floor', 'vs floor'] },
  parse: { base: ['udsv', 'vs udsv'] },
};

function table(res: Results, workload: Workload, sourceRows = res.data.rows): string {
  const rows = res.results.filter((r) => r.workload === workload);
  if (rows.length === 0) return '_Not run._\n';
  const {
    base: [baseId, baseHead],
    also,
  } = COMPARED[workload];
  const base = medianWall(rows.find((r) => r.id === baseId));
  const other = also && medianWall(rows.find((r) => r.id === also[0]));
  const head = `| runner | what it runs | median wall (s) | rows/s | peak RSS (MB) | ${baseHead} |${also ? ` ${also[1]} |` : ''} walls (s) |`;
  const rule = `|---|---|---:|---:|---:|---:|${also ? '---:|' : ''}---|`;
  const lines = rows.map((r) => {
    const wall = medianWall(r);
    if (wall === undefined)
      return `| ${r.id} | ${r.label} | **FAILED** | | | |${also ? ' |' : ''} see below |`;
    const cells = [
      r.id,
      r.label,
      secs(wall),
      int(sourceRows / (wall / 1000)),
      mb(peakRss(r)!),
      ratio(wall, base),
    ];
    if (also) cells.push(ratio(wall, other));
    cells.push(r.samples.map((s) => secs(s.wallMs)).join(', '));
    return `| ${cells.join(' | ')} |`;
  });
  const notes = rows.filter((r) => r.note && !r.error).map((r) => `\n${r.id}: ${r.note}\n`);
  const errors = rows
    .filter((r) => r.error)
    .map((r) => `\n**${r.id} failed:**\n\n\`\`\`\n${r.error}\n\`\`\`\n`);
  return [head, rule, ...lines].join('\n') + '\n' + notes.join('') + errors.join('');
}

function verdict(ok: boolean | undefined): string {
  return ok === undefined ? 'NOT MEASURED' : ok ? '**PASS**' : '**MISS**';
}

function targets(res: Results): string {
  const get = (w: Workload, id: string) => res.results.find((r) => r.workload === w && r.id === id);
  const w1 = medianWall(get('w1', 'sluice'));
  const w1Floor = medianWall(get('w1', 'floor'));
  const w1Naive = medianWall(get('w1', 'naive-node'));
  const w2 = medianWall(get('w2', 'sluice'));
  const w2Duck = medianWall(get('w2', 'duckdb'));
  const rssValues = [peakRss(get('w1', 'sluice')), peakRss(get('w2', 'sluice'))].filter(
    (x) => x !== undefined,
  );
  const rss = rssValues.length ? Math.max(...rssValues) : undefined;
  const s3 = medianWall(get('w2-s3', 'sluice'));
  const s3Local = medianWall(get('w2-s3', 'sluice-local'));
  // Speed is the inverse of wall time: local wall ÷ S3 wall.
  const s3Speed = s3 !== undefined && s3Local !== undefined ? s3Local / s3 : undefined;
  const w3 = medianWall(get('w3', 'sluice'));
  const w3Duck = medianWall(get('w3', 'duckdb'));
  const w3Rss = peakRss(get('w3', 'sluice'));
  const w5 = medianWall(get('w5', 'sluice'));
  const w5Duck = medianWall(get('w5', 'duckdb'));
  const w5Rss = peakRss(get('w5', 'sluice'));
  const w6 = medianWall(get('w6', 'sluice'));
  const w6Floor = medianWall(get('w6', 'floor'));
  const w8 = medianWall(get('w8', 'sluice'));
  const w8Floor = medianWall(get('w8', 'floor'));
  const w7 = medianWall(get('w7', 'sluice'));
  const w7Floor = medianWall(get('w7', 'floor'));
  const w4 = medianWall(get('w4', 'sluice'));
  const w4Base = medianWall(get('w4', 'no-lookup'));
  const w4Rss = peakRss(get('w4', 'sluice'));
  // Throughput is the inverse of wall time: the flow without the lookup's wall ÷ the one with it.
  const w4Speed = w4 !== undefined && w4Base !== undefined ? w4Base / w4 : undefined;
  const g = res.growth;
  const growth = g && !g.error ? (g.largeRss - g.smallRss) / g.smallRss : undefined;
  const rows: [string, string, boolean | undefined][] = [
    [
      `W1: Sluice ≤ ${TARGETS.w1VsFloor.toFixed(1)}× the \`psql \\copy\` floor`,
      ratio(w1, w1Floor),
      w1 !== undefined && w1Floor !== undefined ? w1 / w1Floor <= TARGETS.w1VsFloor : undefined,
    ],
    [
      'W1: Sluice faster than the naive Node runner (udsv + pg-copy-streams)',
      ratio(w1, w1Naive),
      w1 !== undefined && w1Naive !== undefined ? w1 < w1Naive : undefined,
    ],
    [
      `W2: Sluice ≤ ${TARGETS.w2VsDuckdb.toFixed(1)}× DuckDB`,
      ratio(w2, w2Duck),
      w2 !== undefined && w2Duck !== undefined ? w2 / w2Duck <= TARGETS.w2VsDuckdb : undefined,
    ],
    [
      `W2 from S3: Sluice ≥ ${TARGETS.s3VsLocal}× the speed of the same file on local disk (local wall ÷ S3 wall)`,
      s3Speed === undefined ? '–' : `${s3Speed.toFixed(2)}×`,
      s3Speed === undefined ? undefined : s3Speed >= TARGETS.s3VsLocal,
    ],
    [
      `W3: Sluice ≤ ${TARGETS.w3VsDuckdb.toFixed(1)}× DuckDB (CSV → sql GROUP BY → NDJSON)`,
      ratio(w3, w3Duck),
      w3 !== undefined && w3Duck !== undefined ? w3 / w3Duck <= TARGETS.w3VsDuckdb : undefined,
    ],
    [
      `W3: Sluice peak RSS ≤ ${TARGETS.w3RssMb} MB (DuckDB's memory counted)`,
      w3Rss === undefined ? '–' : `${mb(w3Rss)} MB`,
      w3Rss === undefined ? undefined : w3Rss <= TARGETS.w3RssMb * 1e6,
    ],
    [
      `W4: with the lookup ≥ ${TARGETS.w4VsNoLookup}× the throughput without (no-lookup wall ÷ lookup wall)`,
      w4Speed === undefined ? '–' : `${w4Speed.toFixed(2)}×`,
      w4Speed === undefined ? undefined : w4Speed >= TARGETS.w4VsNoLookup,
    ],
    [
      `W4: Sluice peak RSS ≤ ${TARGETS.w4RssMb} MB (with the lookup and its cache)`,
      w4Rss === undefined ? '–' : `${mb(w4Rss)} MB`,
      w4Rss === undefined ? undefined : w4Rss <= TARGETS.w4RssMb * 1e6,
    ],
    [
      `W5: Sluice ≤ ${TARGETS.w5VsDuckdb.toFixed(1)}× DuckDB (Parquet → Parquet)`,
      ratio(w5, w5Duck),
      w5 !== undefined && w5Duck !== undefined ? w5 / w5Duck <= TARGETS.w5VsDuckdb : undefined,
    ],
    [
      `W5: Sluice peak RSS ≤ ${TARGETS.w5RssMb} MB`,
      w5Rss === undefined ? '–' : `${mb(w5Rss)} MB`,
      w5Rss === undefined ? undefined : w5Rss <= TARGETS.w5RssMb * 1e6,
    ],
    [
      `W6: Sluice ≤ ${TARGETS.w6VsFloor.toFixed(1)}× the \`mariadb\` LOAD DATA LOCAL floor (CSV → MariaDB)`,
      ratio(w6, w6Floor),
      w6 !== undefined && w6Floor !== undefined ? w6 / w6Floor <= TARGETS.w6VsFloor : undefined,
    ],
    [
      `W7: Sluice ≥ ${TARGETS.w7VsFloor}× the floor's throughput (HTTP API → NDJSON)`,
      // Throughput is the inverse of wall time: floor wall ÷ Sluice wall.
      ratio(w7Floor, w7),
      w7 !== undefined && w7Floor !== undefined ? w7Floor / w7 >= TARGETS.w7VsFloor : undefined,
    ],
    [
      `W8: Sluice ≥ ${TARGETS.w8VsFloor}× the plain consumer's rows/s (RabbitMQ → PostgreSQL)`,
      // Both move the same messages: throughput is the inverse of wall time.
      ratio(w8Floor, w8),
      w8 !== undefined && w8Floor !== undefined ? w8Floor / w8 >= TARGETS.w8VsFloor : undefined,
    ],
    [
      `Sluice peak RSS ≤ ${TARGETS.rssMb} MB (W1 and W2)`,
      rss === undefined ? '–' : `${mb(rss)} MB`,
      rss === undefined ? undefined : rss <= TARGETS.rssMb * 1e6,
    ],
    [
      `Sluice peak RSS grows < ${TARGETS.rssGrowth * 100}% from ${g ? `${int(g.small.rows)} to ${int(g.large.rows)}` : '1M to 5M'} rows (W2)`,
      growth === undefined
        ? g?.error
          ? 'failed, see below'
          : 'not run (`--rss-growth`)'
        : `${mb(g!.smallRss)} → ${mb(g!.largeRss)} MB (${(growth * 100).toFixed(1)}%)`,
      growth === undefined ? undefined : growth < TARGETS.rssGrowth,
    ],
  ];
  const lines = rows.map(([t, m, ok]) => `| ${t} | ${m} | ${verdict(ok)} |`);
  const growthError = g?.error ? `\n**RSS growth run failed:**\n\n\`\`\`\n${g.error}\n\`\`\`\n` : '';
  return ['| target | measured | result |', '|---|---|---|', ...lines].join('\n') + '\n' + growthError;
}

export function renderResults(res: Results): string {
  const d = res.data;
  const machine = Object.entries(res.machine)
    .map(([k, v]) => `- ${k}: ${v}`)
    .join('\n');
  const growth =
    res.growth && !res.growth.error
      ? `\nRSS growth run: W2 Sluice on ${int(res.growth.large.rows)} rows (${mb(res.growth.large.bytes)} MB), ` +
        `median wall ${secs(res.growth.largeWallMs)} s, peak RSS ${mb(res.growth.largeRss)} MB.\n`
      : '';
  const b = res.baseline;
  const baseline = !b
    ? ''
    : b.error
      ? `\nSluice fixed cost (W1 on ${int(b.rows)} rows) failed:\n\n\`\`\`\n${b.error}\n\`\`\`\n`
      : `\nSluice fixed cost, W1 on ${int(b.rows)} rows (start-up, spec, connection; no real work): ` +
        `median ${secs(medianWall(b)!)} s, peak RSS ${mb(peakRss(b)!)} MB.\n`;
  return `# Benchmark results

Generated by \`${res.command}\` on ${res.date}. Every figure below is as measured, misses included;
see [README.md](README.md) for what each runner does and how it is timed.

## Machine
${machine}

## Data
${int(d.rows)} rows, ${mb(d.bytes)} MB of CSV (\`bench/data/orders-${d.label}.csv\`, seeded, deterministic);
the filter keeps ${int(d.activeRows)} rows, the count every runner was checked against.
${res.reps} repetitions per runner, interleaved; wall time is the median, peak RSS the highest of the repetitions,
rows/s is source rows ÷ median wall.

## Targets
${targets(res)}
## W1: CSV → filter → map → PostgreSQL table
${table(res, 'w1')}
## W2: CSV → filter → map → NDJSON file
${table(res, 'w2')}${growth}${baseline}
## W2 from S3: the same CSV in an S3-compatible server → filter → map → NDJSON file
The server is s3rver (the one the connector tests use) in its own process on this machine, its
CPU and memory counted for no runner; Sluice on the local file runs interleaved with it.

${table(res, 'w2-s3')}
## W3: CSV → sql (GROUP BY country, count and sum) → NDJSON file
The query of \`bench/specs/w3.yaml\` against DuckDB running it on the same CSV alone (typed as the spec
types it); both outputs are checked for one row per country and counts adding up to the input's rows.

${table(res, 'w3')}
## W4: CSV → map → lookup in a 100k-row PostgreSQL table → NDJSON file
Every row gets a customer id (\`int(id) % 100000 + 1\`) and three fields looked up by it in
\`bench.w4_customers\` (100,000 rows, primary key \`id\`); \`no-lookup\` runs the same flow without
the lookup. The cache (LRU, 100,000 entries) starts empty in each run: each of the first 100,000 rows
misses (one \`ANY($1)\` query per batch of misses), every later row hits.
\`no-lookup\` runs on the parallel path (its CSV parsed, mapped and encoded in worker threads, one
per core); a flow with a lookup, which does I/O, runs on the main thread only.

${table(res, 'w4')}
## W5: Parquet → filter → map → Parquet file
The input, \`bench/data/orders-${d.label}.parquet\`, is the CSV written once by DuckDB
(\`COPY … (FORMAT parquet)\`, snappy, DuckDB's row groups of ~123,000 rows (9 for 1M), each column chunk one page; id BIGINT, amount DOUBLE,
quantity INTEGER, active BOOLEAN, the other columns VARCHAR). Every output's rows are counted by DuckDB.

${table(res, 'w5')}
## W6: CSV → filter → map → MariaDB table
W1's flow into \`w6_sluice\` (a typed table made before each repetition) through the mysql sink's
\`LOAD DATA LOCAL INFILE\` stream; the floor is the \`mariadb\` client loading the already filtered
and mapped CSV the same way. Both tables are checked for ${int(d.activeRows)} rows and the sum of \`quantity\`.

${table(res, 'w6')}
## W7: an HTTP API → NDJSON file
\`bench/peers/http-api.mjs\` in its own process serves ${int(d.rows)} generated orders as JSON pages of
1,000 (\`?page=N&per_page=1000\`, a page past the end is \`[]\`); the floor is a plain Node script
fetching the same pages and writing their records as NDJSON.

${table(res, 'w7')}
## W8: a RabbitMQ queue → PostgreSQL table
${int(Math.min(d.rows, 200_000))} JSON orders published to the durable queue \`bench-w8\` before each repetition
(not timed); both runners consume them with a prefetch of 2,000 and write them to PostgreSQL,
acknowledging only after the rows committed. The floor is a plain amqplib consumer COPYing each
batch of 500. Both tables are checked for every id once.

${table(res, 'w8', Math.min(d.rows, 200_000))}
## Parse only: the same CSV file, records counted and dropped
Each parser on one thread in its own process, every column read as text unless said otherwise;
the runners must agree on the record count and on the characters of \`notes\` (quoted fields,
embedded newlines). What Sluice's parser does that udsv does not: see README.md.

${table(res, 'parse')}`;
}

/** How each workload's section and target rows begin in RESULTS.md. */
const HEADINGS: Record<Workload, string> = {
  w1: 'W1:',
  w2: 'W2:',
  'w2-s3': 'W2 from S3:',
  w3: 'W3:',
  w4: 'W4:',
  w5: 'W5:',
  w6: 'W6:',
  w7: 'W7:',
  w8: 'W8:',
  parse: 'Parse only:',
};

/**
 * A run of some workloads only (`--workloads w4`) updates their sections and target rows in the
 * previous RESULTS.md, each marked with `note` (when and how it was measured), and keeps the rest:
 * figures of one run are not thrown away by a run of another workload.
 */
export function spliceResults(
  previous: string,
  fresh: string,
  ran: readonly Workload[],
  note: string,
): string {
  const split = (md: string) => md.trimEnd().split(/\n(?=## )/);
  const prev = split(previous);
  const next = split(fresh);
  const order = (w: Workload) => WORKLOADS.indexOf(w);
  const workloadOf = (text: string, prefix: string) =>
    WORKLOADS.find((w) => text.startsWith(`${prefix}${HEADINGS[w]}`));
  for (const w of ran) {
    const mine = next.find((x) => x.startsWith(`## ${HEADINGS[w]}`));
    if (!mine) continue;
    const marked = mine.replace('\n', `\n${note}\n\n`);
    const at = prev.findIndex((x) => x.startsWith(`## ${HEADINGS[w]}`));
    if (at >= 0) prev[at] = marked;
    else {
      const later = prev.findIndex((x) => {
        const o = workloadOf(x, '## ');
        return o !== undefined && order(o) > order(w);
      });
      prev.splice(later >= 0 ? later : prev.length, 0, marked);
    }
  }
  const t = prev.findIndex((x) => x.startsWith('## Targets'));
  const freshTargets = next.find((x) => x.startsWith('## Targets'))?.split('\n') ?? [];
  if (t >= 0) {
    const lines = prev[t]!.split('\n');
    for (const w of ran) {
      const rows = freshTargets.filter((l) => workloadOf(l, '| ') === w);
      const kept = lines.filter((l) => workloadOf(l, '| ') !== w);
      let at = kept.findIndex((l) => {
        const o = workloadOf(l, '| ');
        return o !== undefined && order(o) > order(w);
      });
      if (at < 0) at = kept.findLastIndex((l) => l.startsWith('| ')) + 1;
      kept.splice(at, 0, ...rows);
      lines.splice(0, lines.length, ...kept);
    }
    prev[t] = lines.join('\n');
  }
  return `${prev.join('\n')}\n`;
}
