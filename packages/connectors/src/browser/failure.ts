import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stripVTControlCharacters } from 'node:util';
import { ErrorCode, FatalError, RetryableError, SluiceError } from '@sluice/core';
import type { Page } from 'playwright-core';
import type { CredentialValues } from './credential.ts';

/** What a failed step leaves in its state directory; the platform keeps them as job artifacts. */
export const FAILURE_FILES = { screenshot: 'failure.png', html: 'failure.html' } as const;

/** A page that hangs must not hold the error back: capturing it gets this long. */
const CAPTURE_MS = 5000;

/** An earlier attempt's failure files would tell of a failure this attempt did not have. */
export async function clearFailure(stepDir: string): Promise<void> {
  await mkdir(stepDir, { recursive: true });
  for (const f of Object.values(FAILURE_FILES)) await rm(join(stepDir, f), { force: true });
}

/**
 * Saves a screenshot (fields typed from the credential blacked out) and the page's HTML (credential
 * values masked) into `stepDir`; returns what was saved, for the error. Best effort: a page that
 * cannot be captured leaves the failure's own message to tell what happened.
 */
export async function captureFailure(
  page: Page,
  stepDir: string,
  secretFields: readonly string[],
  credential: CredentialValues,
): Promise<string[]> {
  const saved: string[] = [];
  const png = join(stepDir, FAILURE_FILES.screenshot);
  const html = join(stepDir, FAILURE_FILES.html);
  const shot = page
    .screenshot({ path: png, timeout: CAPTURE_MS, mask: secretFields.map((s) => page.locator(s)) })
    .then(() => void saved.push(png))
    .catch(() => undefined);
  const content = Promise.race([page.content(), sleep(CAPTURE_MS, undefined)])
    .then(async (text) => {
      if (text === undefined) return;
      await writeFile(html, credential.mask(text));
      saved.push(html);
    })
    .catch(() => undefined);
  await Promise.all([shot, content]);
  return saved.sort();
}

/**
 * Playwright's message, shortened to its first line and the last step of its call log (what it
 * was waiting for), credential values masked.
 */
function reasonOf(err: unknown, credential: CredentialValues, timeout: number): string {
  // Playwright dims its call log with terminal colour codes.
  const text = stripVTControlCharacters(err instanceof Error ? err.message : String(err));
  const [first = '', ...rest] = text.split('\n');
  const lastStep = rest
    .map((l) => l.trim())
    .filter((l) => l.startsWith('- '))
    .at(-1);
  const timedOut = err instanceof Error && err.name === 'TimeoutError';
  const head = timedOut ? `did not finish within ${timeout} ms (the action's timeout)` : first.trim();
  return credential.mask(lastStep ? `${head}; ${lastStep.slice(2)}` : head);
}

export interface FailedAction {
  where: string;
  stepId: string;
  /** `with.actions[2]`. */
  at: string;
  /** describe()'s text. */
  shown: string;
  timeout: number;
  saved: string[];
}

/**
 * The error a failed action makes: which action (its path and what it did), why, and where its
 * screenshot and HTML are. A timeout keeps the TIMEOUT code; a connection that failed is retryable.
 */
export function actionError(err: unknown, f: FailedAction, credential: CredentialValues): SluiceError {
  const own = err instanceof SluiceError;
  const reason = own ? credential.mask(err.message) : reasonOf(err, credential, f.timeout);
  const files =
    f.saved.length > 0
      ? `. The page at the failure: ${f.saved.join(' and ')} (on the platform, the job's artifacts ${f.stepId}.${FAILURE_FILES.screenshot} and ${f.stepId}.${FAILURE_FILES.html})`
      : '';
  const message = `${f.where}: ${f.at} (${credential.mask(f.shown)}) failed: ${reason}${files}`;
  // No `cause`: Playwright's own message may hold a credential value.
  if (err instanceof FatalError) return new FatalError(message, { code: err.code });
  if (err instanceof Error && err.name === 'TimeoutError') return new SluiceError(ErrorCode.TIMEOUT, message);
  if (
    err instanceof Error &&
    /net::ERR_(CONNECTION|NAME_NOT_RESOLVED|TIMED_OUT|ADDRESS|INTERNET)/.test(err.message)
  )
    return new RetryableError(message);
  return new SluiceError(own ? err.code : ErrorCode.TASK_FAILED, message);
}
