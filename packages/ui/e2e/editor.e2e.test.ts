import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminApi, closeSession, openSession, type Served, type Session, SHOTS } from './harness.ts';

// The pipeline editor as an admin uses it: a flow step and a task step built from the connector
// forms in the panel beside the drawing, the YAML view, a problem shown on its step, the saved
// pipeline run live to success, then the server's problems marked in the YAML text and completion.

let session: Session;
let server: Served;
let page: Page;
let errors: string[];
let pipelineId: string;

const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

/** A step's panel, by its position (its heading reads "Step 1: load flow"). */
const step = (n: number) => page.getByRole('region', { name: new RegExp(`^Step ${n}:`) });
/** A flow component, by its heading ("2. transform filter"). */
const component = (s: Locator, heading: RegExp) =>
  s.getByRole('listitem').filter({ has: page.getByRole('heading', { name: heading }) });
const editorStatus = () => page.getByRole('status').first();
/** A step's node on the canvas (React Flow names it by our ariaLabel). */
const node = (id: string) => page.getByRole('group', { name: `step ${id}` });
const canvas = () => page.locator('.editor-canvas');
const settings = () => page.getByRole('complementary', { name: 'settings' });
/** The YAML view's line holding `text`. */
const yamlLine = (text: string) => page.locator('.cm-line', { hasText: text });

/** Presses on `from`, moves in steps (React Flow follows the pointer) and lets go on `to`. */
async function drag(from: Locator, to: Locator) {
  const centre = async (l: Locator) => {
    const box = (await l.boundingBox())!;
    return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  };
  await from.scrollIntoViewIfNeeded();
  const a = await centre(from);
  const b = await centre(to);
  await page.mouse.move(a.x, a.y);
  await page.mouse.down();
  await page.mouse.move(b.x, b.y, { steps: 10 });
  await page.mouse.up();
}

beforeAll(async () => {
  session = await openSession();
  ({ server, page, errors } = session);
}, 180_000);

afterAll(() => closeSession(session));

describe('the pipeline editor in Chromium against sluice serve', () => {
  it('builds a flow step and a task step that needs it', async () => {
    await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: 'Pipelines' }).click();
    await page.getByRole('link', { name: 'New pipeline' }).click();
    await page.getByRole('heading', { name: 'New pipeline', level: 1 }).waitFor();

    // Nothing is selected yet: the pipeline's own fields sit beside the (empty) drawing.
    const fields = settings().getByRole('region', { name: 'pipeline' });
    await fields.getByRole('textbox', { name: /^Name/ }).fill('e2e-orders');
    await fields.getByRole('textbox', { name: /^Parameters/ }).fill(
      JSON.stringify({
        type: 'object',
        properties: { minAmount: { type: 'number', default: 0, description: 'Smallest amount kept.' } },
      }),
    );

    // The flow step: csv → filter → ndjson. The sink's path is left empty on purpose (see below),
    // and the filter is written wrong, for the server to find.
    // Adding a step selects it: its settings replace the pipeline's.
    await page.getByRole('button', { name: 'Add flow step' }).click();
    const flow = settings().getByRole('region', { name: /^Step 1:/ });
    await flow.getByRole('textbox', { name: /^Step id/ }).fill('load');
    await page.getByRole('region', { name: /^Step 1: load/ }).waitFor();
    const source = component(flow, /^1\. source/);
    await source.getByRole('combobox', { name: /^Connector/ }).selectOption('csv');
    await source.getByRole('textbox', { name: /^path/ }).fill('data/orders.csv');
    await source
      .getByRole('textbox', { name: /^schema/ })
      .fill('{ "id": "integer", "amount": "number", "quantity": "integer", "active": "boolean" }');
    await flow.getByRole('button', { name: 'Add transform' }).click();
    const filter = component(flow, /^2\. transform/);
    await filter.getByRole('combobox', { name: /^Connector/ }).selectOption('filter');
    await filter.getByRole('textbox', { name: /^where/ }).fill('amount >= params.minAmount &&');
    const sink = component(flow, /^3\. sink/);
    await sink.getByRole('combobox', { name: /^Connector/ }).selectOption('ndjson');
    await sink.getByRole('textbox', { name: /^path/ }).waitFor();

    // The task step: shell, one argument per line.
    await page.getByRole('button', { name: 'Add task step' }).click();
    const task = settings().getByRole('region', { name: /^Step 2:/ });
    await task.getByRole('textbox', { name: /^Step id/ }).fill('count');
    await expect.poll(() => task.getByRole('combobox', { name: /^Task/ }).inputValue()).toBe('shell');
    await task.getByRole('textbox', { name: /^command/ }).fill('wc\n-l\nout/e2e.ndjson');
    // `count` needs `load`: drawn on the canvas, from load's right handle to count's left one
    // (React Flow's handles have no accessible name; its classes are its public styling hooks).
    const needs = task.getByRole('checkbox', { name: 'load' });
    expect(await needs.isChecked()).toBe(false);
    await drag(
      page.getByRole('group', { name: 'step load' }).locator('.react-flow__handle-right'),
      page.getByRole('group', { name: 'step count' }).locator('.react-flow__handle-left'),
    );
    await page.getByLabel('count needs load').waitFor();
    await expect.poll(() => needs.isChecked()).toBe(true);

    // Clicking a node opens that step beside the drawing; the background, the pipeline's fields.
    await node('load').click();
    await step(1).waitFor();
    expect(await step(2).count()).toBe(0);
    const [drawing, side] = [(await canvas().boundingBox())!, (await settings().boundingBox())!];
    expect(side.x).toBeGreaterThanOrEqual(drawing.x + drawing.width);
    expect(drawing.width).toBeGreaterThan(600);
    expect(drawing.height).toBeGreaterThan(500);
    await canvas()
      .locator('.react-flow__pane')
      .click({ position: { x: 10, y: 10 } });
    await fields.waitFor();
    await node('count').click();
    await step(2).waitFor();
  });

  it('shows the same pipeline as YAML and back', async () => {
    await page.getByRole('button', { name: 'YAML', pressed: false }).click();
    await page.getByRole('textbox', { name: 'Pipeline spec (YAML)' }).waitFor();
    // CodeMirror draws a line per element: the text is its lines, joined.
    const text = (await page.locator('.cm-line').allTextContents()).join('\n');
    for (const part of [
      'name: e2e-orders',
      'minAmount:',
      'id: load',
      'source: csv',
      'path: data/orders.csv',
      'transform: filter',
      'sink: ndjson',
      'id: count',
      'task: shell',
      'out/e2e.ndjson',
    ])
      expect(text, part).toContain(part);
    expect(text).toMatch(/needs:\s*(\[\s*load\s*\]|\n\s*- load)/);
    // Text that does not parse is marked at its line, and the form refuses it until it is fixed.
    await yamlLine('name: e2e-orders').click();
    await page.keyboard.press('End');
    await page.keyboard.press('Enter');
    await page.keyboard.type('name: twice');
    await yamlLine('name: twice').locator('.cm-lintRange-error').waitFor();
    await page.getByRole('button', { name: 'Form', pressed: false }).click();
    await expect.poll(() => page.getByRole('alert').first().textContent()).toMatch(/^Line 2\b/);
    await yamlLine('name: twice').click();
    await page.keyboard.press('End');
    await page.keyboard.press('Shift+Home');
    await page.keyboard.press('Backspace');
    await page.keyboard.press('Backspace');
    await expect.poll(() => page.locator('.cm-lintRange-error').count()).toBe(0);
    await page.getByRole('button', { name: 'Form', pressed: false }).click();
    // The form shows what the YAML held, with the step that was open still open.
    await step(2).waitFor();
    expect(
      await step(2)
        .getByRole('textbox', { name: /^command/ })
        .inputValue(),
    ).toBe('wc\n-l\nout/e2e.ndjson');
    expect(await step(2).getByRole('checkbox', { name: 'load' }).isChecked()).toBe(true);
    await node('load').click();
    expect(
      await component(step(1), /^2\. transform filter/)
        .getByRole('textbox', { name: /^where/ })
        .inputValue(),
    ).toBe('amount >= params.minAmount &&');
  });

  it('shows each problem on the step it concerns, then saves', async () => {
    const flow = step(1);
    const sinkPath = component(flow, /^3\. sink ndjson/).getByRole('textbox', { name: /^path/ });
    const tab = (id: string) =>
      page
        .getByRole('group', { name: 'Open the settings of' })
        .getByRole('button', { name: new RegExp(`^${id}`) });
    // The editor's own check: the sink's path is required. The step with the problem opens.
    await node('count').click();
    await page.getByRole('button', { name: 'Create pipeline' }).click();
    await expect
      .poll(() => editorStatus().textContent())
      .toMatch(/1 problem to fix; each is shown on the step/);
    await expect.poll(() => flow.getByRole('heading', { level: 3 }).textContent()).toMatch(/1 problem/);
    expect(await sinkPath.getAttribute('aria-invalid')).toBe('true');
    expect(await component(flow, /^3\. sink/).textContent()).toMatch(/is required/);
    expect(await tab('load').textContent()).toMatch(/has problems/);
    expect(await tab('count').textContent()).not.toMatch(/problem/);
    await expect.poll(() => node('load').getAttribute('style')).toMatch(/rgb\(254, 226, 226\)|#fee2e2/);
    expect(page.url()).toMatch(/\/pipelines\/new$/);

    await sinkPath.fill('out/e2e.ndjson');
    await expect.poll(() => sinkPath.getAttribute('aria-invalid')).toBe('false');

    // The server's check: the filter does not compile.
    await page.getByRole('button', { name: 'Create pipeline' }).click();
    const where = component(flow, /^2\. transform filter/).getByRole('textbox', { name: /^where/ });
    await expect.poll(() => where.getAttribute('aria-invalid'), { timeout: 10_000 }).toBe('true');
    await expect.poll(() => flow.getByRole('heading', { level: 3 }).textContent()).toMatch(/1 problem/);
    expect(await tab('count').textContent()).not.toMatch(/problem/);
    expect(page.url()).toMatch(/\/pipelines\/new$/);

    expect(await component(flow, /^2\. transform filter/).textContent()).toMatch(/invalid CEL expression/);
    await where.fill('amount >= params.minAmount');
    await page.getByRole('button', { name: 'Validate' }).click();
    await expect.poll(() => editorStatus().textContent()).toMatch(/No problems found in the editor/);
    await settings().evaluate((el) => el.scrollTo(0, 0));
    await shot('editor');
    await page.getByRole('button', { name: 'Create pipeline' }).click();
    await page.waitForURL(/\/pipelines\/[0-9a-f-]{36}$/);
    pipelineId = page.url().split('/').pop()!;

    const api = await adminApi(server.url);
    const saved = await api<{ spec: { steps: { id: string; needs?: string[] }[] } }>(
      'GET',
      `/pipelines/${pipelineId}`,
    );
    expect(saved.spec.steps.map((s) => [s.id, s.needs ?? []])).toEqual([
      ['load', []],
      ['count', ['load']],
    ]);
  }, 60_000);

  it('runs the saved pipeline with a parameter, live to success', async () => {
    await page.getByRole('heading', { name: /e2e-orders/ }).waitFor();
    await page.getByRole('button', { name: 'Run' }).click();
    await page.getByLabel(/minAmount/).fill('20');
    await page.getByRole('button', { name: 'Start run' }).click();
    await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/);
    await page.getByRole('heading', { name: /job [0-9a-f]{8} · success/ }).waitFor({ timeout: 60_000 });
    const log = page.getByRole('log', { name: 'job log' });
    await expect.poll(() => log.textContent(), { timeout: 10_000 }).toMatch(/\[load\][\s\S]*\[count\]/);
    const timeline = page.getByRole('list', { name: 'step timeline' });
    // Both steps, in either order: the API lists a job's steps by their row's random id.
    await expect.poll(() => timeline.textContent()).toMatch(/^(?=.*load)(?=.*count)/);
    await expect.poll(() => page.getByLabel('integrity report').textContent()).toMatch(/every flow balances/);

    const rows = readFileSync(join(server.filesDir, 'out/e2e.ndjson'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { amount: number });
    expect(rows.length).toBeGreaterThan(0);
    // The schema made `amount` a number, and the run's minAmount kept the 19.90 order out.
    for (const r of rows)
      expect(typeof r.amount === 'number' && r.amount >= 20, JSON.stringify(r)).toBe(true);
  }, 90_000);

  it('stacks the settings under the drawing on a narrow screen', async () => {
    await page.goto(`${server.url}/pipelines/${pipelineId}/edit`);
    await page.getByRole('heading', { name: 'Edit e2e-orders', level: 1 }).waitFor();
    await page.setViewportSize({ width: 820, height: 900 });
    try {
      await node('load').click();
      await step(1).waitFor();
      const [drawing, side] = [(await canvas().boundingBox())!, (await settings().boundingBox())!];
      expect(side.y).toBeGreaterThanOrEqual(drawing.y + drawing.height);
      expect(await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth')).toBe(0);
    } finally {
      await page.setViewportSize({ width: 1280, height: 900 });
    }
  });

  it("marks the server's problems at their line in the YAML view, and completes names", async () => {
    await page.getByRole('button', { name: 'YAML', pressed: false }).click();
    // An unknown key under the source's with:, typed on a new line after its path (the new line
    // keeps the indentation), then the server's check.
    await yamlLine('path: data/orders.csv').click();
    await page.keyboard.press('End');
    await page.keyboard.press('Enter');
    // Under with:, the keys of the csv source's schema are offered, with their descriptions.
    await page.keyboard.type('delim');
    const keys = page.locator('.cm-tooltip-autocomplete');
    await expect.poll(() => keys.textContent()).toMatch(/delimiter/);
    await expect.poll(() => page.locator('.cm-completionInfo').textContent()).toMatch(/Field separator/);
    await page.keyboard.press('Escape');
    await page.keyboard.type('ter: x');
    await page.getByRole('button', { name: 'Validate' }).click();
    await yamlLine('delimter: x').locator('.cm-lintRange-error').waitFor({ timeout: 10_000 });
    expect(await yamlLine('path: data/orders.csv').locator('.cm-lintRange-error').count()).toBe(0);
    expect(await page.locator('.cm-gutter-lint .cm-lint-marker-error').count()).toBe(1);
    await expect
      .poll(() => page.locator('.editor ul.issues').first().textContent())
      .toMatch(/steps\[0\]\.flow\[0\]\.with .*unknown property "delimter"/);
    await shot('editor-yaml');

    // Completion: the connector names of a kind after `source: `, from the catalogue.
    // (The text ends with a newline: the last line is empty.)
    await page.getByRole('textbox', { name: 'Pipeline spec (YAML)' }).click();
    await page.keyboard.press('Control+End');
    await page.keyboard.type('- source: ');
    const offered = page.locator('.cm-tooltip-autocomplete');
    await offered.waitFor();
    await expect.poll(() => offered.textContent()).toMatch(/csv/);
    expect(await offered.textContent()).toMatch(/ndjson/);
    expect(await offered.textContent()).not.toMatch(/shell/);
    await page.keyboard.press('Escape');

    // Leaving with unsaved edits asks first.
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('link', { name: 'Cancel' }).click();
    await page.waitForURL(/\/pipelines\/[0-9a-f-]{36}$/);
  }, 60_000);

  it('logged no console error', () => {
    // The browser logs the deliberately rejected create's 400; nothing else may appear.
    const unexpected = errors.filter((e) => !/status of 400/.test(e) || !e.includes('/api/v1/pipelines'));
    expect(unexpected.join('\n')).toBe('');
  });
});
