import { ErrorCode, FatalError } from '@sluice/core';
import type { BrowserConfig } from './config.ts';

/** `${credential.password}`: core leaves these alone; the task fills them in as it acts. */
export const CREDENTIAL_REF = /\$\{credential\.([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Shorter values would mask ordinary words in messages while hiding little (as the platform does). */
const MIN_MASKED = 4;
export const MASK = '********';

/**
 * The values of a step's credential (its `username`, `password` and `extra` fields, merged into the
 * config from the stored credential, or given in `with` on the CLI) and what keeps them out of
 * everything the task writes: logs, errors, the failure page.
 */
export class CredentialValues {
  readonly #values: Map<string, string>;
  /** Longest first, so no part of one is left showing. */
  readonly #secrets: string[];

  constructor(config: Pick<BrowserConfig, 'username' | 'password' | 'extra'>) {
    this.#values = new Map(Object.entries(config.extra ?? {}));
    if (config.username !== undefined) this.#values.set('username', config.username);
    if (config.password !== undefined) this.#values.set('password', config.password);
    // A value in a URL shows encoded in a navigation's error.
    this.#secrets = [...new Set([...this.#values.values()].flatMap((v) => [v, encodeURIComponent(v)]))]
      .filter((v) => v.length >= MIN_MASKED)
      .sort((a, b) => b.length - a.length);
  }

  /**
   * `template` with each `${credential.x}` replaced by its value; `where` (the JSON path of the
   * field) names it in the error when the credential lacks the field.
   */
  fill(template: string, where: string): string {
    return template.replace(CREDENTIAL_REF, (_m, name: string) => {
      const value = this.#values.get(name);
      if (value !== undefined) return value;
      const known = [...this.#values.keys()];
      throw new FatalError(
        `${where}: \`\${credential.${name}}\` names a field the step's credential does not have ` +
          `(it has ${known.length ? known.map((k) => `"${k}"`).join(', ') : 'none'}); ` +
          'add it to the credential (as `username`, `password` or under `extra`), or give it in `with` on the CLI',
        { code: ErrorCode.CONFIG },
      );
    });
  }

  /** `text` with every credential value replaced by the mask. */
  mask(text: string): string {
    let out = text;
    for (const s of this.#secrets) if (out.includes(s)) out = out.replaceAll(s, MASK);
    return out;
  }
}

export const usesCredential = (s: string | undefined): boolean =>
  s !== undefined && /\$\{credential\./.test(s);
