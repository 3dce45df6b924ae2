import type { Role } from './tokens.ts';

/**
 * The role table of api-v1.md, one entry per permission a route can demand. A route names its
 * permission in `config.access`; one that names none is refused to everyone (deny by default).
 */
export const ROLE_TABLE = {
  'pipelines:read': ['admin', 'operator', 'viewer'],
  'pipelines:write': ['admin'],
  'pipelines:execute': ['admin', 'operator'],
  /** Deleting what steps keep between jobs (an incremental cursor): the next job reads everything. */
  'pipelines:reset-state': ['admin', 'operator'],
  'jobs:read': ['admin', 'operator', 'viewer'],
  'jobs:cancel': ['admin', 'operator'],
  'jobs:retry': ['admin'],
  /** Re-running a job's quarantined rows through the pipeline's current version, as executing it would. */
  'jobs:replay': ['admin', 'operator'],
  'backfills:read': ['admin', 'operator', 'viewer'],
  /** Creating a backfill runs the pipeline once per interval: who may execute it may backfill it. */
  'backfills:write': ['admin', 'operator'],
  'credentials:read': ['admin', 'operator'],
  'credentials:write': ['admin'],
  'schedules:read': ['admin', 'operator', 'viewer'],
  'schedules:pause': ['admin', 'operator'],
  'schedules:write': ['admin'],
  'connectors:read': ['admin', 'operator', 'viewer'],
  'metrics:read': ['admin', 'operator', 'viewer'],
  'users:read': ['admin'],
  'users:write': ['admin'],
  'audit:read': ['admin'],
  'alerts:read': ['admin', 'operator', 'viewer'],
  'alerts:write': ['admin'],
  /** Outbound webhooks (a pipeline's and the global ones) and their delivery log. */
  'webhooks:read': ['admin', 'operator', 'viewer'],
  'webhooks:write': ['admin', 'operator'],
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof ROLE_TABLE;

/** `public`: no token needed (login, webhooks with their own signature); `self`: any signed-in caller. */
export type Access = Permission | 'public' | 'self';

export function allows(access: Access | undefined, role: Role): boolean {
  if (access === undefined) return false;
  if (access === 'public' || access === 'self') return true;
  return (ROLE_TABLE[access] as readonly Role[]).includes(role);
}
