import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineSink, Registry, type RunReport, runPipeline } from '@sluice/core';
import { beforeEach, describe, expect, it } from 'vitest';
import { builtinConnectors } from '../src/index.ts';
import { ndjsonSink } from '../src/ndjson/sink.ts';
import { freshSchemaPerTest, TEST_DATABASE_URL } from './pg-schema.ts';

// Issue 14 §2: a sink with `verify: content` reads back what it wrote and compares checksums
// before the data becomes visible; `count` compares the destination's own acknowledgement.

/** The ndjson sink, with the file altered by `tamper` after it was made durable, before it is read back. */
const tampered = (tamper: (partial: string) => Promise<void>) =>
  defineSink({
    ...ndjsonSink,
    name: 'tampered-ndjson',
    async open(ctx) {
      const writer = await ndjsonSink.open(ctx);
      const partial = join(ctx.baseDir, `${ctx.config.path}.partial`);
      return {
        ...writer,
        close: async () => {
          await tamper(partial);
          return writer.close();
        },
      };
    },
  });

const registry = new Registry().register(
  ...builtinConnectors,
  tampered(async (p) => writeFile(p, (await readFile(p, 'utf8')).replace('"n":"b"', '"n":"B"'))),
);

describe('verify', { timeout: 60_000 }, () => {
  const db = freshSchemaPerTest('CREATE TABLE $schema.dst (id bigint PRIMARY KEY, n text, at timestamptz)');
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-verify-'));
    await writeFile(
      join(dir, 'in.csv'),
      'id,n,at\n1,a,2024-01-01T00:00:00Z\n2,b,2024-01-02T10:00:00+02:00\n3,c,2024-02-01 12:00:00Z\n4,d,2024-03-01\n',
    );
  });

  const spec = (sink: object, checkpointEvery = 1000) => ({
    name: 'verify',
    checkpointEvery,
    flow: [{ source: 'csv', with: { path: 'in.csv', schema: { id: 'integer' } } }, sink],
  });
  const pgSink = (more: object = {}) => ({
    sink: 'postgres',
    with: { url: TEST_DATABASE_URL, dbSchema: db.schema, table: 'dst', checkpointSchema: db.schema, ...more },
  });
  const run = (s: object): Promise<RunReport> =>
    runPipeline(s, { registry, stateDir: join(dir, '.sluice'), baseDir: dir, parallel: false });
  const sinkStats = (r: RunReport) => r.steps[0]!.components.find((c) => c.kind === 'sink')!;
  const count = async () =>
    Number((await db.admin.query(`SELECT count(*) FROM ${db.schema}.dst`)).rows[0].count);
  const trigger = (body: string) =>
    db.admin.query(`CREATE FUNCTION ${db.schema}.t() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ${body} END $$;
      CREATE TRIGGER t BEFORE INSERT OR UPDATE ON ${db.schema}.dst FOR EACH ROW EXECUTE FUNCTION ${db.schema}.t()`);

  for (const mode of ['append', 'truncate', 'upsert'] as const) {
    it(`postgres ${mode}, content: the rows read back match what was handed over`, async () => {
      const report = await run(spec(pgSink({ verify: 'content', mode, key: ['id'] }), 2));
      expect(report.status, JSON.stringify(report.error)).toBe('success');
      const v = sinkStats(report).verified!;
      expect(v).toMatchObject({ level: 'content', rowsHanded: 4, rowsFound: 4 });
      expect(v.found).toMatch(/^[0-9a-f]{16}$/);
      expect(v.found).toBe(v.handed);
      expect(report.steps[0]!.components[0]!.checksum).toMatch(/^[0-9a-f]{16}$/);
      expect(report.integrity).toMatchObject({ ok: true, verified: 'content' });
    });
  }

  it('postgres, content: a trigger that alters one value fails the step and commits nothing', async () => {
    await trigger(`IF NEW.id = 3 THEN NEW.n := 'changed'; END IF; RETURN NEW;`);
    const report = await run(spec(pgSink({ verify: 'content' })));
    expect(report.status).toBe('failed');
    expect(report.error?.code).toBe('INTEGRITY_FAILED');
    expect(report.error?.message).toMatch(
      new RegExp(
        `main\\.1:postgres: verify content failed for table ${db.schema}\\.dst: 4 rows both; ` +
          'checksum handed [0-9a-f]{16}, found [0-9a-f]{16}',
      ),
    );
    expect(await count()).toBe(0);
    expect(report.integrity.ok).toBe(false);
  });

  it('postgres upsert, content: a trigger that silently drops a row fails the step', async () => {
    await trigger(`IF NEW.id = 2 THEN RETURN NULL; END IF; RETURN NEW;`);
    const report = await run(spec(pgSink({ verify: 'content', mode: 'upsert', key: ['id'] })));
    expect(report.status).toBe('failed');
    expect(report.error?.message).toMatch(
      /verify content failed for table .*: handed 4 rows, found 3; checksum/,
    );
    expect(await count()).toBe(0);
  });

  it('postgres append, content: a row dropped after it was inserted is missed on read-back', async () => {
    await db.admin.query(`CREATE FUNCTION ${db.schema}.d() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN DELETE FROM ${db.schema}.dst WHERE id = 4; RETURN NULL; END $$;
      CREATE TRIGGER d AFTER INSERT ON ${db.schema}.dst FOR EACH STATEMENT EXECUTE FUNCTION ${db.schema}.d()`);
    const report = await run(spec(pgSink({ verify: 'content' })));
    expect(report.status).toBe('failed');
    expect(report.error?.message).toMatch(/handed 4 rows, found 3/);
    expect(await count()).toBe(0);
  });

  it('postgres, count: a dropped row shows in the acknowledged count, and the report says what was verified', async () => {
    await trigger(`IF NEW.id = 2 THEN RETURN NULL; END IF; RETURN NEW;`);
    const report = await run(spec(pgSink()));
    const v = sinkStats(report).verified!;
    expect(v).toEqual({ level: 'count', rowsHanded: 4, rowsFound: 3 });
    expect(report.steps[0]!.components[0]!.checksum).toBeUndefined();
    expect(report.integrity.ok).toBe(false);
    expect(report.integrity.problems.join()).toMatch(/acknowledged 3 of the 4 rows/);
  });

  it('file, content: output altered between write and read-back fails the step and is not renamed into place', async () => {
    const report = await run(
      spec({ sink: 'tampered-ndjson', with: { path: 'out.ndjson', verify: 'content' } }),
    );
    expect(report.status).toBe('failed');
    expect(report.error?.code).toBe('INTEGRITY_FAILED');
    expect(report.error?.message).toMatch(
      /verify content failed for .*out\.ndjson\.partial: 4 rows both; checksum handed/,
    );
    expect(existsSync(join(dir, 'out.ndjson'))).toBe(false);
  });

  it('file, count: re-counts the records of every format', async () => {
    for (const [sink, path] of [
      ['csv', 'o.csv'],
      ['ndjson', 'o.ndjson'],
      ['json', 'o.json'],
    ] as const) {
      for (const verify of ['count', 'content'] as const) {
        const report = await run(spec({ sink, with: { path, verify } }));
        expect(report.status, JSON.stringify(report.error)).toBe('success');
        expect(sinkStats(report).verified).toMatchObject({ level: verify, rowsHanded: 4, rowsFound: 4 });
      }
    }
  });
});
