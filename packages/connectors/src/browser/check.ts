import { extname } from 'node:path';
import { didYouMean, type Issue, similarNames } from '@sluice/core';
import { actionFiles } from './actions.ts';
import { ACTION_KINDS, type BrowserConfig } from './config.ts';
import { usesCredential } from './credential.ts';

const EXTRACT_FORMATS = ['.csv', '.ndjson'];

/** What the schema cannot say about a browser config; paths are under `with`. */
export function checkBrowserConfig(cfg: BrowserConfig): Issue[] {
  const issues: Issue[] = [];
  const known = new Set<string>(ACTION_KINDS);
  cfg.actions.forEach((action, i) => {
    const at = `actions[${i}]`;
    const keys = Object.keys(action);
    for (const k of keys.filter((k) => !known.has(k)))
      issues.push({
        path: `${at}.${k}`,
        message: `unknown action "${k}".${didYouMean(similarNames(k, ACTION_KINDS))} An action is one of: ${ACTION_KINDS.join(', ')}`,
      });
    const kinds = keys.filter((k) => known.has(k));
    if (kinds.length === 0 && keys.length === 0)
      issues.push({ path: at, message: `an action needs one key, its name: ${ACTION_KINDS.join(', ')}` });
    if (kinds.length > 1)
      issues.push({
        path: at,
        message: `an action does one thing, this one has ${kinds.join(' and ')}: make each a separate item of the list`,
      });
    const w = action.waitFor;
    if (w && [w.selector, w.url, w.text].filter((x) => x !== undefined).length !== 1)
      issues.push({ path: `${at}.waitFor`, message: 'give one of selector, url or text to wait for' });
    if (action.download && !cfg.acceptDownloads)
      issues.push({
        path: `${at}.download`,
        message: 'downloads are refused with `acceptDownloads: false`; set it to true or drop this action',
      });
    const e = action.extract;
    if (e && !EXTRACT_FORMATS.includes(extname(e.saveAs).toLowerCase()))
      issues.push({
        path: `${at}.extract.saveAs`,
        message: `the rows are written as CSV or NDJSON: end the name in ${EXTRACT_FORMATS.join(' or ')}`,
      });
    const shot = action.screenshot;
    const shotName = typeof shot === 'string' ? shot : shot?.saveAs;
    if (shotName !== undefined && extname(shotName).toLowerCase() !== '.png')
      issues.push({
        path: `${at}.screenshot${typeof shot === 'string' ? '' : '.saveAs'}`,
        message: 'screenshots are PNG images: end the name in .png',
      });
  });
  if (issues.length > 0) return issues;
  // Two files by one output name would leave a later step's `${steps.<id>.files.<name>}` ambiguous.
  const seen = new Map<string, number>();
  for (const f of actionFiles(cfg.actions)) {
    const path = `actions[${f.index}]`;
    if (usesCredential(f.file))
      issues.push({
        path,
        message: 'a file name cannot hold a credential value: it shows in reports and logs',
      });
    const first = seen.get(f.output);
    if (first !== undefined)
      issues.push({
        path,
        message: `the output name "${f.output}" (${f.file}) is taken by actions[${first}]: later steps name files by their name without its extension, so give each file its own`,
      });
    else seen.set(f.output, f.index);
  }
  return issues;
}
