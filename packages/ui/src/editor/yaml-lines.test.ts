import { describe, expect, it } from 'vitest';
import { issueProblems, lineOfPath } from './yaml-lines.ts';

const text = `name: orders
steps:
  - id: load
    flow:
      - source: csv
        with:
          path: in.csv
          pathx: 1
      - sink: ndjson
        with: { path: out.ndjson }
  - id: count
    needs: [load]
    task: shell
`;

describe('lineOfPath', () => {
  it('finds a map key, a list item and a key inside a flow mapping', () => {
    expect(lineOfPath(text, 'name')).toEqual({ line: 1, column: 1 });
    expect(lineOfPath(text, 'steps[0].flow[0].with.path')).toEqual({ line: 7, column: 11 });
    expect(lineOfPath(text, 'steps[1]')).toEqual({ line: 11, column: 5 });
    expect(lineOfPath(text, 'steps[0].flow[1].with.path')).toEqual({ line: 10, column: 17 });
    expect(lineOfPath(text, 'steps[1].needs[0]')).toEqual({ line: 12, column: 13 });
  });

  it("takes the API's spec. prefix and quoted keys", () => {
    expect(lineOfPath(text, 'spec.steps[1].task')).toEqual({ line: 13, column: 5 });
    expect(lineOfPath(text, 'steps[0].flow[0].with["pathx"]')).toEqual({ line: 8, column: 11 });
  });

  it('lands on the deepest part that exists when the path goes further', () => {
    expect(lineOfPath(text, 'steps[0].flow[0].with.where')).toEqual({ line: 6, column: 9 });
    expect(lineOfPath(text, 'steps[5].id')).toEqual({ line: 2, column: 1 });
    expect(lineOfPath(text, '(root)')).toEqual({ line: 1, column: 1 });
  });

  it('gives null for a path the text does not hold, or text that does not parse', () => {
    expect(lineOfPath(text, 'parameters.x')).toBeNull();
    expect(lineOfPath('steps: [\n', 'steps')).toBeNull();
  });
});

describe('issueProblems', () => {
  it("marks an unknown key on its own line, not its map's", () => {
    const problems = issueProblems(text, [
      { path: 'spec.steps[0].flow[0].with', message: 'step "load": unknown property "pathx"' },
      { path: 'steps[1].needs[0]', message: 'unknown step "lod"' },
      { path: 'parameters', message: 'not in the text' },
    ]);
    expect(problems).toEqual([
      {
        line: 8,
        column: 11,
        message: 'steps[0].flow[0].with: step "load": unknown property "pathx"',
        severity: 'error',
      },
      { line: 12, column: 13, message: 'steps[1].needs[0]: unknown step "lod"', severity: 'error' },
    ]);
  });
});
