import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../../src/api/app.ts';
import { type TestPlatform, testPlatform } from '../helpers/platform.ts';

// Issue 13: every field a request carries is bounded in its schema, so the OpenAPI document
// says what the server takes and nothing unbounded reaches SQL. Only the document is read, so
// one backend is enough.

type Schema = {
  type?: string | string[];
  format?: string;
  enum?: unknown[];
  const?: unknown;
  maxLength?: number;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  properties?: Record<string, Schema>;
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
};
type Operation = {
  parameters?: { in: string; name: string; schema: Schema }[];
  requestBody?: { content: Record<string, { schema: Schema }> };
};

/** What is wrong with one schema and those within it, as `where: problem` lines. */
function problems(s: Schema, where: string, inText: boolean): string[] {
  const out: string[] = [];
  const types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
  const closed = s.enum !== undefined || s.const !== undefined || s.format === 'uuid';
  if (types.includes('string') && !closed) {
    if (s.maxLength === undefined) out.push(`${where}: a string without maxLength`);
    // Bodies are checked for NUL as a whole (api/validation.ts); query strings and paths here.
    if (inText && s.format !== 'date-time' && (!s.pattern || new RegExp(s.pattern, 'u').test('a\u0000')))
      out.push(`${where}: a string that takes NUL`);
  }
  if ((types.includes('integer') || types.includes('number')) && !closed)
    if (s.minimum === undefined || s.maximum === undefined) out.push(`${where}: a number without bounds`);
  for (const [k, v] of Object.entries(s.properties ?? {})) out.push(...problems(v, `${where}.${k}`, inText));
  if (s.items) out.push(...problems(s.items, `${where}[]`, inText));
  for (const v of [...(s.anyOf ?? []), ...(s.oneOf ?? []), ...(s.allOf ?? [])])
    out.push(...problems(v, where, inText));
  return out;
}

describe('request schemas', () => {
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

  it('bound every string and number of every query, path parameter and body', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json() as {
      paths: Record<string, Record<string, Operation>>;
    };
    const found: string[] = [];
    let fields = 0;
    for (const [path, ops] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(ops)) {
        const at = `${method.toUpperCase()} ${path}`;
        for (const prm of op.parameters ?? []) {
          fields++;
          found.push(...problems(prm.schema, `${at} ${prm.in}.${prm.name}`, true));
        }
        for (const media of Object.values(op.requestBody?.content ?? {})) {
          fields++;
          found.push(...problems(media.schema, `${at} body`, false));
        }
      }
    expect(fields).toBeGreaterThan(50);
    expect(found).toEqual([]);
  });
});
