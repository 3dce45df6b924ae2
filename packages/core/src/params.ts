import { ConfigError, ErrorCode } from './errors.ts';
import { validateAgainst } from './internal/validate.ts';

type ParamSchema = { properties?: Record<string, { type?: string | string[] }> };

/**
 * Turns `--param k=v` strings into typed values using the declared parameter types: a number
 * parameter gets a number, a boolean `true`/`false`, an object or array parsed JSON.
 */
export function coerceParams(
  schema: object | undefined,
  raw: Record<string, string>,
): Record<string, unknown> {
  const props = (schema as ParamSchema | undefined)?.properties ?? {};
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    const t = props[k]?.type;
    const types = Array.isArray(t) ? t : t ? [t] : [];
    if (types.includes('string') || types.length === 0) out[k] = v;
    else if (
      (types.includes('number') || types.includes('integer')) &&
      v.trim() !== '' &&
      !Number.isNaN(Number(v))
    )
      out[k] = Number(v);
    else if (types.includes('boolean') && (v === 'true' || v === 'false')) out[k] = v === 'true';
    else {
      try {
        out[k] = JSON.parse(v);
      } catch {
        out[k] = v;
      }
    }
  }
  return out;
}

/** Validates run parameters against the pipeline's `parameters` schema, filling defaults. */
export function resolveParams(
  schema: object | undefined,
  given: Record<string, unknown>,
  base = 'params',
): Record<string, unknown> {
  const params = structuredClone(given);
  if (!schema) return params;
  const issues = validateAgainst({ type: 'object', ...schema }, params, base);
  if (issues.length > 0) {
    throw new ConfigError(
      "invalid run parameters: they must match the pipeline's `parameters` schema",
      issues,
      ErrorCode.PARAMS,
    );
  }
  return params;
}
