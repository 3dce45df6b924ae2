import type { Role } from './api/client.ts';

// The role table of api-v1.md, for hiding controls a role may not use; the server enforces it.
const TABLE = {
  'pipelines:write': ['admin'],
  'pipelines:execute': ['admin', 'operator'],
  'pipelines:reset-state': ['admin', 'operator'],
  'backfills:write': ['admin', 'operator'],
  'jobs:cancel': ['admin', 'operator'],
  'jobs:retry': ['admin'],
  'jobs:replay': ['admin', 'operator'],
  'credentials:read': ['admin', 'operator'],
  'credentials:write': ['admin'],
  'schedules:pause': ['admin', 'operator'],
  'schedules:write': ['admin'],
  'users:read': ['admin'],
  'audit:read': ['admin'],
  'alerts:write': ['admin'],
  'webhooks:write': ['admin', 'operator'],
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof TABLE;

export const can = (role: Role | undefined, p: Permission): boolean =>
  role !== undefined && (TABLE[p] as readonly Role[]).includes(role);
