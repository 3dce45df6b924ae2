/**
 * Pipeline specs mutated from the ones the project ships (examples/*.yaml, bench/specs/*.yaml):
 * generic JSON mutations (hostile.ts) plus edits a user gets wrong in specs — connector names,
 * CEL expressions, `needs`, parameter schemas, `${…}` interpolation, paths.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSpecText } from '@sluice/core';
import fc from 'fast-check';
import {
  hostileString,
  hostileValue,
  type Mutation,
  mutate,
  mutation,
  places,
  toJsonText,
  update,
} from './hostile.ts';
import { type Answer, checkAnswer, checkValidation, type Problem, type Secrets } from './oracle.ts';
import { type FuzzRequest, requestText } from './rest.ts';

/** The specs shipped in the repository, parsed. */
export function shippedSpecs(root: string): unknown[] {
  const files = [
    ...readdirSync(join(root, 'examples'))
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => join(root, 'examples', f)),
    ...readdirSync(join(root, 'bench/specs'))
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => join(root, 'bench/specs', f)),
  ];
  return files.map((f) => parseSpecText(readFileSync(f, 'utf8'), f));
}

/** A value for a key the spec language gives meaning to. */
const SPEC_EDITS: Record<string, fc.Arbitrary<unknown>> = {
  source: fc.constantFrom('csvv', '', 'postgres', 'map', '__proto__', 'x'.repeat(10_000), 'CSV'),
  transform: fc.constantFrom('filterr', 'csv', '', 'toString', 'y'.repeat(5_000)),
  sink: fc.constantFrom('ndjsonn', 'csv', '', 'hasOwnProperty'),
  task: fc.constantFrom('shelll', '', 'constructor'),
  where: fc.constantFrom(
    '(((',
    'a'.repeat(100_000),
    "country.matches('(a+)+$')",
    "country.matches('(?=x)')",
    'amount >',
    '1 / 0 == 1',
    "'\u0000' == country",
    'nope.field == 1',
    `${'amount + '.repeat(5_000)}1 > 0`,
    `${'('.repeat(2_000)}1${')'.repeat(2_000)} == 1`,
    '${env.SLUICE_MASTER_KEY} == 1',
  ),
  needs: fc.constantFrom(['load-orders'], ['nope'], ['summary', 'summary'], 'load-orders', [], [42]),
  id: fc.constantFrom('', 'load-orders', 'a b', 'x'.repeat(1_000), '\u0000', '__proto__'),
  parameters: fc.constantFrom(
    {
      type: 'object',
      properties: { p: { type: 'string', pattern: '(a+)+$', default: `${'a'.repeat(40)}!` } },
    },
    { type: 'object', properties: { p: { type: 'string', pattern: '(a)\\1' } } },
    { type: 'object', properties: { p: { $ref: '#/nowhere' } } },
    { $ref: 'http://example.com/schema.json' },
    { type: 'strin' },
    { type: 'object', properties: { p: { type: 'number', default: 'ten' } } },
    { type: 'object', required: ['missing'] },
    { type: 'object', properties: { p: { format: 'no-such-format', type: 'string', default: 'x' } } },
    'not a schema',
  ),
  path: fc.constantFrom(
    '/etc/passwd',
    '../../../../etc/passwd',
    '',
    'nul\u0000.csv',
    'data/missing.csv',
    '${env.HOME}/x.csv',
    '${env.SLUICE_MASTER_KEY}',
    's3://bucket/x.csv',
    'https://127.0.0.1:1/x.csv',
    'sftp://nobody@127.0.0.1:1/x.csv',
    'file:///etc/passwd',
    'x'.repeat(5_000),
  ),
  command: fc.constantFrom([], [''], 'wc -l', [42], ['${env.SLUICE_MASTER_KEY}']),
  schema: fc.constantFrom(
    { id: 'integr' },
    { id: 42 },
    'integer',
    { '': 'integer' },
    JSON.parse('{"__proto__":"integer"}'),
  ),
  url: fc.constantFrom('${env.BENCH_DATABASE_URL}', 'postgres://x:y@127.0.0.1:1/db', 'not a url', ''),
};
const EDIT_KEYS = Object.keys(SPEC_EDITS);

export type SpecEdit = { key: string; pick: number; with: unknown };

const specEdit: fc.Arbitrary<SpecEdit> = fc
  .constantFrom(...EDIT_KEYS)
  .chain((key) =>
    fc.record({ key: fc.constant(key), pick: fc.nat(), with: fc.oneof(SPEC_EDITS[key]!, hostileValue) }),
  );

/** Applies an edit to one of the places the key appears (or adds it to the top level). */
export function applyEdit(spec: unknown, e: SpecEdit): unknown {
  const at = places(spec, 2_000).filter((p) => p.at(-1) === e.key);
  if (at.length === 0)
    return spec !== null && typeof spec === 'object' && !Array.isArray(spec)
      ? { ...spec, [e.key]: e.with }
      : spec;
  return update(spec, at[e.pick % at.length]!, () => e.with);
}

export interface SpecCase {
  /** Which shipped spec it started from (index into shippedSpecs). */
  from: number;
  spec: unknown;
}

/** A shipped spec with a few spec edits and generic mutations. */
export function mutatedSpec(shipped: readonly unknown[]): fc.Arbitrary<SpecCase> {
  return fc
    .record({
      from: fc.nat({ max: shipped.length - 1 }),
      edits: fc.array(specEdit, { maxLength: 3 }),
      mutations: fc.array(mutation, { maxLength: 2 }),
      name: fc.oneof(fc.constant(undefined), hostileString),
    })
    .filter(({ edits, mutations }) => edits.length + mutations.length > 0)
    .map(({ from, edits, mutations, name }) => {
      let spec = shipped[from];
      for (const e of edits) spec = applyEdit(spec, e);
      spec = mutate(spec, mutations as Mutation[]);
      if (name !== undefined && spec !== null && typeof spec === 'object' && !Array.isArray(spec))
        spec = { ...spec, name };
      return { from, spec };
    });
}

/** The request a spec case makes: validate it as a viewer, or create a pipeline with it as admin. */
export function specRequest(spec: unknown, o: { create: boolean; pipelineId: string }): FuzzRequest {
  const body = toJsonText({ spec });
  return o.create
    ? {
        method: 'POST',
        url: '/api/v1/pipelines',
        role: 'admin',
        route: 'POST /api/v1/pipelines',
        body,
        contentType: 'application/json',
      }
    : {
        method: 'POST',
        url: `/api/v1/pipelines/${o.pipelineId}/validate`,
        role: 'viewer',
        route: 'POST /api/v1/pipelines/{id}/validate',
        body,
        contentType: 'application/json',
      };
}

/** The oracle for a spec case: any answer's rules, and validate's `{ok, issues}` with paths. */
export function specProblems(r: FuzzRequest, a: Answer, secrets: Secrets): Problem[] {
  const problems = checkAnswer(a, requestText(r), secrets);
  if (r.url.endsWith('/validate') && a.status === 200) problems.push(...checkValidation(a.text));
  return problems;
}
