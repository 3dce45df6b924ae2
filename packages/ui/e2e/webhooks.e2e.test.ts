import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, servedBrowser, signIn } from './harness.ts';

const ui = servedBrowser(26_000);
const calls: { headers: IncomingHttpHeaders; raw: string }[] = [];
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    calls.push({ headers: req.headers, raw: Buffer.concat(chunks).toString('utf8') });
    res.writeHead(200).end('ok');
  });
});
let orders: string;

beforeAll(async () => {
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const list = await ui.api<{ items: { id: string; name: string }[] }>('GET', '/pipelines?limit=50');
  orders = list.items.find((p) => p.name === 'orders-example')!.id;
});
afterAll(() => new Promise<void>((r) => receiver.close(() => r())));

describe('outbound webhooks in Chromium against sluice serve', () => {
  it('adds a webhook on the pipeline page and shows its delivery after a run', async () => {
    const { port } = receiver.address() as { port: number };
    await signIn(ui.page, ui.server.url, 'admin', ADMIN_PASSWORD);
    await ui.page.goto(`${ui.server.url}/pipelines/${orders}`);
    const panel = ui.page.getByRole('region', { name: 'Webhooks' });
    await panel.getByRole('button', { name: 'Add webhook' }).click();
    const form = panel.getByRole('form', { name: 'add webhook' });
    await form.getByLabel('URL').fill(`http://127.0.0.1:${port}/sluice`);
    await form.getByRole('checkbox', { name: 'end' }).check();
    await form.getByRole('button', { name: 'Add webhook' }).click();
    const secret = (await panel.getByRole('status').locator('code').textContent())!;
    expect(secret).toMatch(/^whs_/);
    await expect
      .poll(() => panel.getByRole('list', { name: 'webhooks' }).textContent())
      .toContain('on failure, end');

    await ui.api('POST', `/pipelines/${orders}/execute`, { parameters: { minAmount: 20 } });
    await expect.poll(() => calls.length, { timeout: 90_000, interval: 500 }).toBe(1);
    const [call] = calls;
    expect(call!.headers['x-sluice-signature']).toBe(
      `sha256=${createHmac('sha256', secret).update(call!.raw).digest('hex')}`,
    );
    expect(JSON.parse(call!.raw)).toMatchObject({ event: 'end', pipeline: { id: orders } });

    await panel.getByRole('button', { name: 'Deliveries' }).click();
    const deliveries = panel.getByRole('table', { name: 'deliveries' });
    await expect.poll(() => deliveries.textContent(), { timeout: 20_000 }).toContain('delivered (200)');
    expect(await deliveries.getByRole('row').count()).toBe(2); // the header and the one attempt
  }, 180_000);
});
