import { type ConnectorDefinition, Registry, type SluiceError, toSluiceError } from '@sluice/core';
import { expect } from 'vitest';

/** A config carrying a secret that cannot connect, and the secret that must never be shown. */
export interface SecretCase {
  config(): Promise<Record<string, unknown>> | Record<string, unknown>;
  secret: string;
}

/**
 * Each issue of a rejected config must point at the key that is wrong, not merely at `with`: the
 * UI highlights the field and the CLI prints `with.delimiter: …` from this path. A key that is
 * unknown or missing has no value to point at; by the project's convention (ajv-issues.ts, which
 * the editor's yaml-lines.ts parses) its issue sits at the parent's path and quotes the key.
 */
export function expectRejectedAt(def: ConnectorDefinition, config: unknown, path: string): void {
  const issues = new Registry().check(def, structuredClone(config), 'with');
  expect(issues.length, 'the config must be rejected').toBeGreaterThan(0);
  const dot = path.lastIndexOf('.');
  const parent = path.slice(0, dot);
  const key = path.slice(dot + 1);
  for (const issue of issues) {
    const named =
      issue.path === path ||
      (issue.path === parent &&
        /(unknown|missing required) property "/.test(issue.message) &&
        issue.message.includes(`"${key}"`));
    expect(named, `${issue.path}: ${issue.message} does not name ${path}`).toBe(true);
  }
}

/** Every message of an error and its causes, as a log or the API could show them. */
function everything(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    if (e instanceof Error) {
      parts.push(e.message, e.stack ?? '');
      const own = toSluiceError(e) as unknown as Record<string, unknown>;
      parts.push(JSON.stringify({ ...own, message: e.message }) ?? '');
      e = e.cause;
    } else {
      parts.push(String(e));
      e = undefined;
    }
  }
  return parts.join('\n');
}

/** The run failed, and neither its error (with its causes) nor the logs show the secret. */
export function expectNoSecret(err: unknown, logs: string[], secret: string): void {
  expect(err, 'connecting with the wrong host or login must fail').toBeInstanceOf(Error);
  expect(everything(err)).not.toContain(secret);
  expect(logs.join('\n')).not.toContain(secret);
}

/** The secret of `unreachableS3`, a key no store knows. */
export const S3_SECRET = 'conformance-S3-s3cret-Key/1';

/**
 * A file connector's config on S3 at an endpoint that refuses connections, with a secret access
 * key: every file format reaches S3 through the same location, so every one proves it hides it.
 */
export function unreachableS3(file: string, more: Record<string, unknown> = {}): SecretCase {
  return {
    secret: S3_SECRET,
    config: () => ({
      path: `s3://conformance/${file}`,
      s3: { endpoint: 'http://127.0.0.1:1', accessKeyId: 'AKIDCONFORMANCE', secretAccessKey: S3_SECRET },
      ...more,
    }),
  };
}

/** What `run` failed with, as a SluiceError; fails the test when it succeeded. */
export async function failureOf(run: Promise<unknown>): Promise<SluiceError> {
  try {
    await run;
  } catch (err) {
    return toSluiceError(err);
  }
  throw new Error('expected a failure, but it succeeded');
}
