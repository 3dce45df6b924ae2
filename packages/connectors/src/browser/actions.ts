import { join } from 'node:path';
import { ErrorCode, SluiceError, type TaskContext } from '@sluice/core';
import type { Page } from 'playwright-core';
import type { Action } from './config.ts';
import { type CredentialValues, usesCredential } from './credential.ts';
import { extractRows } from './extract.ts';

const selectorOf = (v: string | { selector: string }) => (typeof v === 'string' ? v : v.selector);

/** A file an action hands on: its name in the files directory and its output name. */
export interface ActionFile {
  index: number;
  file: string;
  output: string;
}

/** `report.csv` → `report`: what a later step names it by (`${steps.<id>.files.report}`). */
export const outputName = (file: string) => file.replace(/\.[^.]*$/, '');

const screenshotFile = (action: NonNullable<Action['screenshot']>, index: number) =>
  (typeof action === 'string' ? action : action.saveAs) ?? `screenshot-${index}.png`;

export function actionFiles(actions: readonly Action[]): ActionFile[] {
  const out: ActionFile[] = [];
  actions.forEach((a, index) => {
    const file =
      a.download?.saveAs ?? a.extract?.saveAs ?? (a.screenshot && screenshotFile(a.screenshot, index));
    if (file !== undefined) out.push({ index, file, output: outputName(file) });
  });
  return out;
}

const shown = (v: string) => (usesCredential(v) ? v : JSON.stringify(v));

/**
 * The action as the log shows it: the config's text, so a value taken from the credential shows
 * as `${credential.password}`, never as itself.
 */
export function describe(action: Action, index: number): string {
  if (action.goto) return `goto ${typeof action.goto === 'string' ? action.goto : action.goto.url}`;
  if (action.fill) return `fill ${action.fill.selector} with ${shown(action.fill.value)}`;
  if (action.click) return `click ${selectorOf(action.click)}`;
  if (action.select) {
    const v = action.select.value;
    return `select ${Array.isArray(v) ? v.map(shown).join(', ') : shown(v)} in ${action.select.selector}`;
  }
  if (action.check) return `check ${selectorOf(action.check)}`;
  if (action.waitFor) {
    const w = action.waitFor;
    return `wait for ${w.selector ?? (w.url ? `URL ${w.url}` : `text ${JSON.stringify(w.text)}`)}`;
  }
  if (action.download) return `download ${action.download.saveAs} by clicking ${action.download.click}`;
  if (action.extract) return `extract rows of ${action.extract.selector} into ${action.extract.saveAs}`;
  return `screenshot ${screenshotFile(action.screenshot!, index)}`;
}

export interface ActionScope {
  page: Page;
  ctx: TaskContext<unknown>;
  credential: CredentialValues;
  /** Per action, ms. */
  timeout: number;
  /** Selectors of fields typed from the credential: screenshots black them out. */
  secretFields: string[];
  /** Output name → path of the files made so far. */
  files: Record<string, string>;
  /** Rows extracted so far. */
  rows: number;
}

/** Does one action; `at` is its JSON path (`with.actions[2]`). Playwright's errors pass through. */
export async function perform(action: Action, index: number, at: string, s: ActionScope): Promise<void> {
  const { page, credential, timeout } = s;
  const fill = (text: string, field: string) => credential.fill(text, `${at}.${field}`);
  if (action.goto) {
    const g = typeof action.goto === 'string' ? { url: action.goto } : action.goto;
    const res = await page.goto(fill(g.url, 'goto'), g.waitUntil ? { waitUntil: g.waitUntil } : {});
    if (res && res.status() >= 400) s.ctx.log.warn(`${at}: the page answered HTTP ${res.status()}`);
  } else if (action.fill) {
    const f = action.fill;
    const selector = fill(f.selector, 'fill.selector');
    await page.locator(selector).fill(fill(f.value, 'fill.value'));
    if (usesCredential(f.value)) s.secretFields.push(selector);
  } else if (action.click) {
    await page.locator(fill(selectorOf(action.click), 'click')).click();
  } else if (action.select) {
    const v = action.select.value;
    const values = (Array.isArray(v) ? v : [v]).map((x, i) => fill(x, `select.value[${i}]`));
    await page.locator(fill(action.select.selector, 'select.selector')).selectOption(values);
  } else if (action.check) {
    await page.locator(fill(selectorOf(action.check), 'check')).check();
  } else if (action.waitFor) {
    const w = action.waitFor;
    const t = { timeout: w.timeout ?? timeout };
    if (w.selector !== undefined)
      await page
        .locator(fill(w.selector, 'waitFor.selector'))
        .first()
        .waitFor({ state: 'visible', ...t });
    else if (w.url !== undefined) await page.waitForURL(fill(w.url, 'waitFor.url'), t);
    else
      await page
        .getByText(fill(w.text!, 'waitFor.text'))
        .first()
        .waitFor({ state: 'visible', ...t });
  } else if (action.download) {
    const d = action.download;
    const path = join(s.ctx.filesDir, d.saveAs);
    // The per-action timeout bounds the click and the download's start; a large file may take
    // longer to arrive, bounded by the step's timeout and its cancel.
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout }),
      page.locator(fill(d.click, 'download.click')).click(),
    ]);
    await download.saveAs(path);
    const failure = await download.failure();
    if (failure !== null)
      throw new SluiceError(ErrorCode.TASK_FAILED, `the download of ${d.saveAs} failed: ${failure}`);
    s.files[outputName(d.saveAs)] = path;
  } else if (action.extract) {
    const e = action.extract;
    const path = join(s.ctx.filesDir, e.saveAs);
    const locator = page.locator(fill(e.selector, 'extract.selector'));
    s.rows += await extractRows(locator, e.fields, path, at, timeout);
    s.files[outputName(e.saveAs)] = path;
  } else if (action.screenshot) {
    const shot = action.screenshot;
    const file = screenshotFile(shot, index);
    const path = join(s.ctx.filesDir, file);
    await page.screenshot({
      path,
      fullPage: typeof shot === 'object' && shot.fullPage === true,
      mask: s.secretFields.map((sel) => page.locator(sel)),
    });
    s.files[outputName(file)] = path;
  }
}
