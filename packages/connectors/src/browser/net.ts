import { checkUrl, ErrorCode, type NetContext, SluiceError } from '@sluice/core';
import type { BrowserContext } from 'playwright-core';

/**
 * Holds every HTTP request the pages make (navigations, frames, scripts, form posts) to the run's
 * network policy, as other connectors' connections are: a parameter must not turn a portal step
 * into a probe of the cloud's metadata service. A refused request is aborted; the first refusal is
 * kept for the error, which names the rule. Checked per request by name and resolved addresses;
 * WebSockets are not routed by Playwright and pass.
 */
export async function guardRequests(
  context: BrowserContext,
  ctx: NetContext,
  where: string,
): Promise<{ refusal(): SluiceError | undefined }> {
  let refused: SluiceError | undefined;
  await context.route('**/*', async (route) => {
    const url = route.request().url();
    try {
      if (/^https?:/i.test(url)) await checkUrl(ctx, url, where);
    } catch (err) {
      if (err instanceof SluiceError && err.code === ErrorCode.HOST_FORBIDDEN) {
        refused ??= err;
        await route.abort('blockedbyclient').catch(() => undefined);
        return;
      }
      // A name that does not resolve: the browser says so in its own words.
    }
    await route.continue().catch(() => undefined);
  });
  return { refusal: () => refused };
}
