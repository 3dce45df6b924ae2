import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, newPage, SHOTS, servedBrowser, signIn } from './harness.ts';

const ui = servedBrowser(22_000);
let orders: string;

beforeAll(async () => {
  // Chromium grants the clipboard to a page only with these, even on a secure origin.
  await ui.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: ui.server.url });
  const list = await ui.api<{ items: { id: string; name: string }[] }>('GET', '/pipelines?limit=50');
  orders = list.items.find((p) => p.name === 'orders-example')!.id;
});

/** Every DAG node's box on the page, in CSS pixels. */
async function nodeBoxes() {
  const nodes = ui.page.locator('.react-flow__node');
  await nodes.first().waitFor();
  const boxes = [];
  for (let i = 0; i < (await nodes.count()); i++) boxes.push((await nodes.nth(i).boundingBox())!);
  return boxes;
}

describe('the pipeline page in Chromium against sluice serve', () => {
  it('shows recent jobs as a duration sparkline, one bar per job, each naming and linking to its job', async () => {
    // One after the other: both write the same output file.
    for (let i = 1; i <= 2; i++) {
      await ui.api('POST', `/pipelines/${orders}/execute`, { parameters: { minAmount: 20 } });
      await expect
        .poll(
          async () =>
            (await ui.api<{ items: { status: string }[] }>('GET', `/jobs?pipelineId=${orders}`)).items.map(
              (j) => j.status,
            ),
          { timeout: 60_000, interval: 500 },
        )
        .toEqual(Array(i).fill('success'));
    }
    await ui.api('POST', '/schedules', {
      pipelineId: orders,
      cron: '30 5 * * 1-5',
      timezone: 'Europe/Lisbon',
    });

    await signIn(ui.page, ui.server.url, 'admin', ADMIN_PASSWORD);
    await ui.page.goto(`${ui.server.url}/pipelines/${orders}`);
    const sparkline = ui.page.getByRole('figure', { name: /Durations of the last 2 jobs/ });
    // The page's chunk and its queries load on a busy machine: wait for them, then count.
    await sparkline.locator('.spark-mark').first().waitFor();
    expect(await sparkline.locator('.spark-mark').count()).toBe(2);
    expect(await ui.page.getByRole('table', { name: 'recent jobs' }).getByRole('row').count()).toBe(2);
    await sparkline.locator('.spark-mark').last().hover();
    await expect
      .poll(() => sparkline.locator('figcaption').textContent())
      .toMatch(/^[0-9a-f]{8} · success · \d/);
    const caption = (await sparkline.locator('figcaption').textContent())!;
    const bar = sparkline.getByRole('link', { name: `job ${caption}` });
    expect(await bar.getAttribute('href')).toMatch(new RegExp(`^/jobs/${caption.slice(0, 8)}`));
  }, 150_000);

  it('shows the spec as highlighted read-only YAML, with Copy', async () => {
    const spec = ui.page.getByRole('region', { name: /^Spec/ });
    const code = spec.locator('.cm-content');
    await expect.poll(() => code.textContent(), { timeout: 10_000 }).toMatch(/name: orders-example/);
    expect(await code.getAttribute('contenteditable')).toBe('false');
    // Highlighted: the YAML keys are drawn in styled spans, not as plain text.
    expect(await code.locator('span[class]').count()).toBeGreaterThan(5);
    await spec.getByRole('button', { name: 'Copy' }).click();
    await spec.getByText('Copied.').waitFor();
    expect(await ui.page.evaluate<string>('navigator.clipboard.readText()')).toMatch(
      /^name: orders-example$/m,
    );
    expect(await spec.getByRole('link', { name: 'Edit spec' }).getAttribute('href')).toBe(
      `/pipelines/${orders}/edit`,
    );
  });

  it('lists the declared parameters and the schedules in words', async () => {
    const row = ui.page.getByRole('table', { name: 'parameters' }).getByRole('row', { name: /minAmount/ });
    expect(await row.textContent()).toMatch(/minAmountnumberno10Orders below this amount are left out\./);
    const schedules = ui.page.getByRole('list', { name: 'schedules' });
    await expect
      .poll(() => schedules.textContent())
      .toMatch(/30 5 \* \* 1-5.*Europe\/Lisbon.*at 05:30, Mon–Fri.*next/);
    await ui.page.screenshot({ path: join(SHOTS, 'pipeline-overview.png'), fullPage: true });
  });

  it('draws the DAG at a readable size for one step and for eight', async () => {
    const one = await nodeBoxes();
    expect(one.length).toBe(2);
    for (const b of one) {
      expect(b.width).toBeLessThan(320);
      expect(b.height).toBeLessThan(90);
    }
    const single = await ui.api<{ id: string }>('POST', '/pipelines', {
      spec: { name: 'single', steps: [{ id: 'only', task: 'shell', with: { command: ['true'] } }] },
    });
    await ui.page.goto(`${ui.server.url}/pipelines/${single.id}`);
    await ui.page.getByRole('heading', { name: /^single/ }).waitFor();
    const [only] = await nodeBoxes();
    expect(only!.width).toBeGreaterThan(120);
    expect(only!.width).toBeLessThan(320);
    const steps = Array.from({ length: 8 }, (_, i) => ({
      id: `s${i + 1}`,
      task: 'shell',
      with: { command: ['true'] },
      ...(i ? { needs: [`s${i}`] } : {}),
    }));
    const chain = await ui.api<{ id: string }>('POST', '/pipelines', {
      spec: { name: 'chain-of-eight', steps },
    });
    await ui.page.goto(`${ui.server.url}/pipelines/${chain.id}`);
    await ui.page.getByRole('heading', { name: /^chain-of-eight/ }).waitFor();
    const dag = (await ui.page.locator('.dag').boundingBox())!;
    // Polled: the view is fitted once React Flow has measured the nodes, a frame or two after they show.
    const outside = async () =>
      (await nodeBoxes()).filter((b) => b.x < dag.x || b.x + b.width > dag.x + dag.width).length;
    await expect.poll(outside, { timeout: 10_000 }).toBe(0);
    const eight = await nodeBoxes();
    expect(eight.length).toBe(8);
    for (const b of eight) {
      // Readable: the zoom floor keeps 150 px nodes above 100 px.
      expect(b.width).toBeGreaterThan(100);
      expect(b.width).toBeLessThan(320);
    }
    await ui.page.screenshot({ path: join(SHOTS, 'pipeline-dag-eight.png') });
  });

  it('shows a viewer the spec without the Edit spec link', async () => {
    await ui.api('POST', '/users', { username: 'vic', password: 'vic-password-12', role: 'viewer' });
    const ctx = await ui.browser.newContext({ viewport: { width: 1280, height: 900 } });
    const viewer = await newPage(ctx);
    try {
      await signIn(viewer.page, ui.server.url, 'vic', 'vic-password-12');
      await viewer.page.goto(`${ui.server.url}/pipelines/${orders}`);
      const spec = viewer.page.getByRole('region', { name: /^Spec/ });
      await spec.locator('.cm-content').waitFor();
      expect(await spec.locator('.cm-content').textContent()).toMatch(/name: orders-example/);
      expect(await spec.getByRole('link', { name: 'Edit spec' }).count()).toBe(0);
      expect(viewer.errors.join('\n')).toBe('');
    } finally {
      await ctx.close();
    }
  });

  it('fits a narrow screen', async () => {
    const ctx = await ui.browser.newContext({ viewport: { width: 390, height: 844 } });
    const narrow = await newPage(ctx);
    try {
      await signIn(narrow.page, ui.server.url, 'admin', ADMIN_PASSWORD);
      await narrow.page.goto(`${ui.server.url}/pipelines/${orders}`);
      await narrow.page.locator('.spark-mark').first().waitFor();
      await narrow.page.locator('.cm-content').waitFor();
      // Evaluated in the page: written as a string, since this file is type-checked without the DOM.
      const overflow = await narrow.page.evaluate<number>(
        'document.documentElement.scrollWidth - window.innerWidth',
      );
      expect(overflow).toBeLessThanOrEqual(0);
      expect(narrow.errors.join('\n')).toBe('');
    } finally {
      await ctx.close();
    }
  });

  it('logged no console error', () => expect(ui.errors.join('\n')).toBe(''));
});
