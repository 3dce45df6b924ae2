import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../src/api/app.ts';
import { type TestPlatform, testPlatform } from './helpers/platform.ts';

// Issue 15, API edges: bodies the API cannot parse say where, and a pipeline spec may be sent as
// the YAML document it is.

const ORDERS = `name: yaml-orders
steps:
  - id: hello
    task: shell
    with: { command: [echo, hi] }
`;

describe('request bodies', () => {
  let p: TestPlatform;
  let app: App;
  beforeAll(async () => {
    p = await testPlatform('pglite');
    app = await buildApp(p, { uiDir: false });
  });
  afterAll(async () => {
    await app.close();
    await p.close();
  });

  const send = async (method: 'POST' | 'PUT', url: string, body: string, type: string) => {
    const r = await app.inject({
      method,
      url: `/api/v1${url}`,
      headers: { authorization: `Bearer ${p.adminToken}`, 'content-type': type },
      payload: body,
    });
    return { status: r.statusCode, body: JSON.parse(r.body) };
  };

  it('takes a pipeline spec as a YAML body to create, validate and update it', async () => {
    const created = await send('POST', '/pipelines', ORDERS, 'application/yaml');
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ name: 'yaml-orders', version: 1 });
    expect(created.body.spec.steps[0].with.command).toEqual(['echo', 'hi']);
    const id = created.body.id as string;

    const bad = await send('POST', `/pipelines/${id}/validate`, ORDERS.replace('shell', 'shel'), 'text/yaml');
    expect(bad.status).toBe(200);
    expect(bad.body.ok).toBe(false);
    expect(bad.body.issues[0]).toMatchObject({ path: 'steps[0].task' });
    expect(bad.body.issues[0].message).toMatch(/unknown task "shel". Did you mean "shell"/);

    const updated = await send('PUT', `/pipelines/${id}`, ORDERS.replace('hi', 'again'), 'application/yaml');
    expect(updated.status, JSON.stringify(updated.body)).toBe(200);
    expect(updated.body).toMatchObject({ version: 2 });
    expect(updated.body.spec.steps[0].with.command).toEqual(['echo', 'again']);
  });

  it('answers YAML that does not parse with BODY_INVALID and the line', async () => {
    const r = await send(
      'POST',
      '/pipelines',
      'name: x\nsteps:\n  - id: a\n   task: shell\n',
      'application/yaml',
    );
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('BODY_INVALID');
    expect(r.body.error.details[0].path).toBe('body');
    expect(r.body.error.message).toMatch(/not valid YAML or JSON.*line 4/s);
  });

  it('refuses YAML on a route that takes JSON, saying which routes take it', async () => {
    const r = await send('POST', '/users', 'username: a\n', 'application/yaml');
    expect(r.status).toBe(415);
    expect(r.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(r.body.error.message).toMatch(/only POST \/pipelines, PUT \/pipelines\/\{id\}/);
  });

  it('answers malformed JSON with BODY_INVALID, the parser message and the line and column', async () => {
    const r = await send('POST', '/pipelines', '{"spec": {"name": "x",}}', 'application/json');
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'BODY_INVALID', details: [{ path: 'body' }] });
    expect(r.body.error.message).toMatch(/^body is not valid JSON.*line 1,? column 23/);
  });

  it('says a spec sent without its wrapper is a spec, and reports every problem at its path', async () => {
    const bare = await send(
      'POST',
      '/pipelines',
      JSON.stringify({ name: 'x', steps: [] }),
      'application/json',
    );
    expect(bare.status).toBe(400);
    expect(bare.body.error.details).toEqual([
      {
        path: 'body.spec',
        message: expect.stringMatching(/looks like a pipeline spec itself \(it has `steps`\)/),
      },
    ]);
    const spec = {
      name: 'y',
      steps: [{ id: 'b', flow: [{ source: 'csvv', with: 'x' }, { sink: 'ndjson' }] }],
    };
    const r = await send('POST', '/pipelines', JSON.stringify({ spec }), 'application/json');
    expect(r.status).toBe(400);
    const paths = r.body.error.details.map((d: { path: string }) => d.path);
    // The shape error no longer hides the unknown connector, which is at its own key.
    expect(paths).toEqual(['spec.steps[0].flow[0].with', 'spec.steps[0].flow[0].source']);
    expect(r.body.error.details[1].message).toMatch(/unknown source "csvv". Did you mean "csv"\?/);
    expect(r.body.error.message).not.toMatch(/sluice connectors/);
  });

  it("reports bad run parameters at their path in the body, in the API's words", async () => {
    const doc = { name: 'params', parameters: { type: 'object', properties: { n: { type: 'integer' } } } };
    const spec = { ...doc, steps: [{ id: 'a', task: 'shell', with: { command: ['true'] } }] };
    const created = await send('POST', '/pipelines', JSON.stringify({ spec }), 'application/json');
    const r = await send(
      'POST',
      `/pipelines/${created.body.id}/execute`,
      JSON.stringify({ parameters: { n: 'abc' } }),
      'application/json',
    );
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('PARAMS_INVALID');
    expect(r.body.error.details).toEqual([{ path: 'body.parameters.n', message: 'must be integer' }]);
    expect(r.body.error.message).not.toMatch(/--param/);
  });
});
