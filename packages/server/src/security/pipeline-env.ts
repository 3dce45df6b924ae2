import { ConfigError, type Issue } from '@sluice/core';

// `${env.X}` in a spec on the platform reads the variables the operator exposed, never the
// server's whole environment: a viewer may validate any spec, and `${env.SLUICE_MASTER_KEY}`
// validating "ok" told them which variables the server has. Validation and runs read the same set.

/** Said after "environment variable X is not set", the same whether X is set on the server or not. */
export const PIPELINE_ENV_NOTE =
  'pipelines on this platform read only the variables its operator exposes (sluice serve --pipeline-env NAME)';

const PATTERN = /^[A-Za-z_][A-Za-z0-9_]*\*?$/;

/** Checks `--pipeline-env` entries: names, or prefixes ending in `*`; never Sluice's own variables. */
export function checkPipelineEnv(patterns: readonly string[]): void {
  const issues: Issue[] = [];
  patterns.forEach((p, i) => {
    const path = `pipelineEnv[${i}]`;
    if (!PATTERN.test(p))
      issues.push({ path, message: `"${p}" is not a variable name, or a prefix ending in * (ETL_*)` });
    else if (p.startsWith('SLUICE_') || (p.endsWith('*') && 'SLUICE_'.startsWith(p.slice(0, -1))))
      issues.push({
        path,
        message: `"${p}" would expose Sluice's own variables (master key, admin password)`,
      });
  });
  if (issues.length > 0) throw new ConfigError('invalid --pipeline-env', issues);
}

/** The variables of `env` that `patterns` expose, by name. */
export function pipelineEnv(
  patterns: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Readonly<Record<string, string>> {
  checkPipelineEnv(patterns);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) continue;
    if (patterns.some((p) => (p.endsWith('*') ? k.startsWith(p.slice(0, -1)) : k === p))) out[k] = v;
  }
  return Object.freeze(out);
}
