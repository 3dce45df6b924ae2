/**
 * W6: W1's flow (CSV → filter → map) into a MariaDB/MySQL table, Sluice against the floor: the
 * `mariadb` client's LOAD DATA LOCAL INFILE of the already filtered and mapped CSV. Target: Sluice
 * ≤ 1.5× the floor. Needs MariaDB at BENCH_MYSQL_URL (default mysql://root@127.0.0.1:3306/test).
 */
import { spawnSync } from 'node:child_process';
import { assertOk, measure } from './measure.ts';
import { type BenchContext, expectEqual, type Runner, sample, sluiceRunner } from './runners.ts';

export const MYSQL_URL = process.env.BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
const COLUMNS = `id bigint, uuid char(36), name text, email text, country varchar(8), amount decimal(12,2),
  quantity int, created_at datetime(6), active boolean, notes text, total double`;

function clientArgs(): string[] {
  const u = new URL(MYSQL_URL);
  return [
    '-h',
    u.hostname,
    '-P',
    u.port || '3306',
    '-u',
    decodeURIComponent(u.username),
    ...(u.password ? [`-p${decodeURIComponent(u.password)}`] : []),
    '--local-infile=1',
    u.pathname.slice(1),
  ];
}

function mariadb(sql: string): string {
  const r = spawnSync('mariadb', [...clientArgs(), '-N', '-B', '-e', sql], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mariadb failed: ${r.stderr}`);
  return r.stdout.trim();
}

/** Drops `table` and makes it again, typed as W6's runners find it. */
export function recreate(table: string): void {
  mariadb(`DROP TABLE IF EXISTS ${table}; CREATE TABLE ${table} (${COLUMNS}) DEFAULT CHARSET = utf8mb4`);
}

function check(ctx: BenchContext, table: string): void {
  const [rows, q] = mariadb(`SELECT count(*), coalesce(sum(quantity), 0) FROM ${table}`).split('\t');
  expectEqual(`SELECT count(*) FROM ${table}`, Number(rows), ctx.data.activeRows);
  expectEqual(`SELECT sum(quantity) FROM ${table}`, Number(q), ctx.data.activeQuantitySum);
}

export function mysqlRunners(ctx: BenchContext, only: ReadonlySet<string>): Runner[] {
  const file = ctx.data.floorCsvPath.replaceAll("'", "''");
  const all: Runner[] = [
    sluiceRunner(ctx, {
      id: 'sluice',
      workload: 'w6',
      spec: 'w6',
      label:
        '`sluice run w6.yaml --json` (csv source, filter, map, mysql sink: LOAD DATA LOCAL, `verify: count`)',
      env: { BENCH_MYSQL_URL: MYSQL_URL },
      prepare: () => recreate('w6_sluice'),
      check: () => check(ctx, 'w6_sluice'),
    }),
    {
      id: 'floor',
      workload: 'w6',
      label: '`mariadb` client LOAD DATA LOCAL INFILE of the filtered CSV',
      prepare: () => recreate('w6_floor'),
      run: async () =>
        sample(
          assertOk(
            'mariadb',
            await measure('mariadb', [
              ...clientArgs(),
              '-e',
              `LOAD DATA LOCAL INFILE '${file}' INTO TABLE w6_floor CHARACTER SET utf8mb4 FIELDS TERMINATED BY ',' ` +
                `OPTIONALLY ENCLOSED BY '"' ESCAPED BY '' LINES TERMINATED BY '\\n' IGNORE 1 LINES ` +
                '(id, uuid, name, email, country, amount, quantity, @c, @a, notes, total) ' +
                "SET created_at = STR_TO_DATE(LEFT(@c, 26), '%Y-%m-%dT%H:%i:%s.%f'), active = (@a = 'true')",
            ]),
          ),
        ),
      verify: () => check(ctx, 'w6_floor'),
    },
  ];
  return all.filter((r) => only.has(r.id));
}
