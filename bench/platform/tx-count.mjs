// Preloaded into the bench's worker processes (NODE_OPTIONS=--import) and imported by the bench
// itself: counts the database transactions (and statements: round trips) this process's `pg` clients make — BEGIN…COMMIT as one,
// each statement outside a transaction block as one (pg-boss's `BEGIN; …; COMMIT` texts too). On
// SIGUSR2 it writes the count to `<SLUICE_BENCH_TX_DIR>/<pid>.json`. PostgreSQL's own counter
// (pg_stat_database.xact_commit) cannot serve: a session reports it only along with other
// statistics, so read-only polls made while idle surface later, inside the window measured.
import { renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const dir = process.env.SLUICE_BENCH_TX_DIR;
export let transactions = 0;
export let statements = 0;

if (dir) {
  const pg = createRequire(join(process.cwd(), 'package.json'))('pg');
  const inBlock = new WeakSet();
  const query = pg.Client.prototype.query;
  pg.Client.prototype.query = function (q, ...rest) {
    statements++;
    const text = (typeof q === 'string' ? q : (q?.text ?? '')).trimStart().slice(0, 9).toLowerCase();
    if (text === 'begin') {
      transactions++;
      inBlock.add(this);
    } else if (text === 'commit' || text.startsWith('rollback')) inBlock.delete(this);
    else if (!inBlock.has(this)) transactions++;
    return query.call(this, q, ...rest);
  };
  // Written whole, then renamed: the bench reads the file as soon as it exists.
  process.on('SIGUSR2', () => {
    const file = join(dir, `${process.pid}.json`);
    writeFileSync(`${file}.tmp`, JSON.stringify({ transactions, statements }));
    renameSync(`${file}.tmp`, file);
  });
}
