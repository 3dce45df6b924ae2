import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { ErrorCode, toSluiceError } from '@sluice/core';
import { createCredential, type Platform } from '@sluice/server';

/**
 * What an example's companion module (`examples/x.mjs` beside `examples/x.yaml`) starts for it
 * to run: a demo portal, a webhook receiver. Its `start()` resolves with this.
 */
export interface Companion {
  /** Where it listens, said when the server starts. */
  url: string;
  /** What it is, for that line: "demo portal". */
  label: string;
  /** Credentials the example's steps name, created with the example (never replaced). */
  credentials?: {
    name: string;
    connectorType: string;
    data: Record<string, unknown>;
    description?: string;
  }[];
  close(): Promise<void>;
}

/** The companion module of an example spec, when it has one: same path, `.mjs` for `.yaml`. */
export const companionOf = (spec: string): string | undefined => {
  const module = spec.replace(/\.(ya?ml|json)$/i, '.mjs');
  return module !== spec && existsSync(module) ? module : undefined;
};

/**
 * Starts the companions of the examples given to `sluice serve --example`, every time the server
 * starts (the pipelines need them whenever they run). One that cannot start is reported, and the
 * server runs without it.
 */
export async function startCompanions(
  specs: readonly string[],
  note: (message: string) => void,
): Promise<Companion[]> {
  const started: Companion[] = [];
  for (const spec of specs) {
    const module = companionOf(spec);
    if (!module) continue;
    try {
      const m = (await import(pathToFileURL(module).href)) as { start(): Promise<Companion> };
      started.push(await m.start());
    } catch (err) {
      note(`the example ${spec} needs ${module}, which could not start: ${(err as Error).message}`);
    }
  }
  return started;
}

/** The credentials the companions' examples name, made once (a stored one of that name is kept). */
export async function seedCompanionCredentials(p: Platform, companions: readonly Companion[]): Promise<void> {
  for (const c of companions.flatMap((x) => x.credentials ?? [])) {
    // A credential of that name made by someone already is theirs: it stays as it is.
    await createCredential(p, c, 'sluice').catch((err: unknown) => {
      if (toSluiceError(err).code !== ErrorCode.CONFLICT) throw err;
    });
  }
}
