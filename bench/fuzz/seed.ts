/**
 * Things to aim at: a few pipelines, a job, a credential, a schedule, an alert rule, a user and an
 * API token, created through the API as admin, so generated requests reach past "not found".
 */
import type { KnownIds } from './rest.ts';
import type { Send } from './send.ts';

/** A pipeline that reads nothing harmful and runs no command: safe to execute any number of times. */
export const HARMLESS_SPEC = {
  name: 'fuzz-target',
  flow: [
    { source: 'csv', with: { path: 'fuzz/in.csv' } },
    { sink: 'ndjson', with: { path: 'fuzz/out.ndjson' } },
  ],
};

export async function seed(send: Send): Promise<KnownIds> {
  const post = async (url: string, body: unknown): Promise<Record<string, unknown>> => {
    const a = await send({
      method: 'POST',
      url,
      role: 'admin',
      route: 'seed',
      body: JSON.stringify(body),
      contentType: 'application/json',
    });
    if (a.status >= 300) throw new Error(`seeding ${url}: ${a.status} ${a.text}`);
    return JSON.parse(a.text) as Record<string, unknown>;
  };
  const pipelines: string[] = [];
  for (const name of ['fuzz-target-1', 'fuzz-target-2', 'fuzz-target-3'])
    pipelines.push((await post('/api/v1/pipelines', { spec: { ...HARMLESS_SPEC, name } })).id as string);
  const job = (await post(`/api/v1/pipelines/${pipelines[0]}/execute`, {})).jobId as string;
  const credential = (
    await post('/api/v1/credentials', {
      name: 'fuzz-credential',
      connectorType: 'postgres',
      data: { url: 'postgres://nobody@127.0.0.1:1/none' },
    })
  ).id as string;
  const schedule = (
    await post('/api/v1/schedules', { pipelineId: pipelines[1], cron: '0 0 1 1 *', paused: true })
  ).id as string;
  const rule = (await post('/api/v1/alerts/rules', { name: 'fuzz-rule', condition: { type: 'job_failed' } }))
    .id as string;
  const user = (
    await post('/api/v1/users', { username: 'fuzz-victim', password: 'victim-password-1', role: 'viewer' })
  ).id as string;
  const token = (await post('/api/v1/tokens', { name: 'fuzz-token', role: 'viewer' })).id as string;
  return {
    pipelines,
    jobs: [job],
    credentials: [credential],
    schedules: [schedule],
    rules: [rule],
    users: [user],
    tokens: [token],
    hooks: pipelines,
    dlq: [job],
    stepId: ['main'],
    name: ['csv', 'ndjson', 'filter', 'shell', 'postgres', 'quarantine.ndjson'],
  };
}
