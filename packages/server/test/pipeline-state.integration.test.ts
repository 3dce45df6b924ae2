import { and, eq } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, stepExecutions } from '../src/db/schema.ts';
import { backends, SERVER_URL } from './helpers/backends.ts';
import { apiCaller, tokenFor, waitForJob } from './helpers/platform.ts';
import { runningPlatform } from './helpers/running.ts';

// Issue 14 §1: an incremental source's cursor belongs to the pipeline. Each job used to start in a
// fresh workspace, so every job read the whole table again.

describe.each(backends)('state kept between jobs, on $name', ({ name }) => {
  const ctx = runningPlatform(name);
  const schema = `t_pstate_${name.replace(/\W/g, '')}_${process.pid}`;
  const data = new pg.Client({ connectionString: SERVER_URL });
  let pipelineId: string;
  let operator: ReturnType<typeof apiCaller>;
  let viewer: ReturnType<typeof apiCaller>;

  beforeAll(async () => {
    await data.connect();
    await data.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await data.query(`CREATE SCHEMA ${schema}`);
    await data.query(`CREATE TABLE ${schema}.src (id integer PRIMARY KEY)`);
    const spec = {
      name: `incr-${name}`,
      flow: [
        {
          id: 'read',
          source: 'postgres',
          with: { url: SERVER_URL, dbSchema: schema, table: 'src', incremental: { column: 'id' } },
        },
        { sink: 'ndjson', with: { path: `out-${name}.ndjson` } },
      ],
    };
    const created = await ctx.admin('POST', '/pipelines', { spec });
    expect(created.status, created.text).toBe(201);
    pipelineId = created.body.id;
    const [op, view] = [await tokenFor(ctx.p, 'operator'), await tokenFor(ctx.p, 'viewer')];
    operator = apiCaller(
      () => ctx.app,
      () => op,
    );
    viewer = apiCaller(
      () => ctx.app,
      () => view,
    );
  });

  afterAll(async () => {
    await data.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await data.end();
  });

  const insert = (from: number, to: number) =>
    data.query(`INSERT INTO ${schema}.src SELECT generate_series(${from}, ${to})`);
  /** Runs one job of the pipeline to success and answers how many rows its step read. */
  const job = async () => {
    const run = await ctx.admin('POST', `/pipelines/${pipelineId}/execute`, {});
    expect(run.status).toBe(202);
    const row = await waitForJob(ctx.p, run.body.jobId);
    expect(row.status, JSON.stringify(row.error)).toBe('success');
    const [step] = await ctx.p.database.db
      .select()
      .from(stepExecutions)
      .where(and(eq(stepExecutions.jobId, row.id), eq(stepExecutions.stepId, 'main')));
    return step!.rowsRead;
  };

  it('reads disjoint rows in consecutive jobs, shows the cursor, and reads everything after a reset', async () => {
    await insert(1, 7);
    expect(await job()).toBe(7);
    await insert(8, 9);
    expect(await job()).toBe(2);
    expect(await job()).toBe(0);

    const shown = await viewer('GET', `/pipelines/${pipelineId}/state`);
    expect(shown.status, shown.text).toBe(200);
    expect(shown.body.items).toHaveLength(1);
    expect(shown.body.items[0]).toMatchObject({ stepId: 'main', state: { cursor: 9 } });

    expect((await viewer('DELETE', `/pipelines/${pipelineId}/state`)).status).toBe(403);
    const wrong = await operator('DELETE', `/pipelines/${pipelineId}/state?step=nope`);
    expect(wrong.status).toBe(404);
    expect(wrong.body.error.message).toBe(`pipeline incr-${name} has no step "nope" (its steps: main)`);
    const reset = await operator('DELETE', `/pipelines/${pipelineId}/state?step=main`);
    expect(reset.status, reset.text).toBe(200);
    expect(reset.body.reset).toEqual(['main']);
    const audited = await ctx.p.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'pipeline.state_reset'), eq(auditLog.resourceId, pipelineId)));
    // The reset of a step the pipeline lacks is refused, so only the real one is audited.
    expect(audited).toHaveLength(1);
    const main = audited.find((a) => JSON.stringify(a.newValue).includes('"main"'))!;
    expect(main.username).toBe('operator');
    expect(JSON.stringify(main.oldValue)).toContain('"cursor":9');
    expect((await viewer('GET', `/pipelines/${pipelineId}/state`)).body.items).toEqual([]);

    expect(await job()).toBe(9);
  });

  it('answers 404 for an unknown pipeline', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    expect((await ctx.admin('GET', `/pipelines/${missing}/state`)).status).toBe(404);
    expect((await ctx.admin('DELETE', `/pipelines/${missing}/state`)).status).toBe(404);
  });
});
