import { ErrorCode, type Issue, SluiceError } from '@sluice/core';
import type { Role } from './tokens.ts';

/** Who is calling: a user (by access token) or an API token, with the role in force now. */
export interface Identity {
  kind: 'user' | 'token';
  id: string;
  username: string;
  role: Role;
}

export const unauthorized = (message: string, details: Issue[] = []) =>
  new SluiceError(ErrorCode.UNAUTHORIZED, message, { issues: details });
