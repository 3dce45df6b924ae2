/**
 * Every error Sluice raises carries a stable `code` (for programs and the server's HTTP mapping)
 * and a message a person can act on: what was wrong, where, and what to do.
 */
export const ErrorCode = {
  CONFIG: 'CONFIG_INVALID',
  SPEC: 'SPEC_INVALID',
  UNKNOWN_CONNECTOR: 'UNKNOWN_CONNECTOR',
  PARAMS: 'PARAMS_INVALID',
  EXPRESSION: 'EXPRESSION_INVALID',
  NOT_FOUND: 'NOT_FOUND',
  CONNECTION: 'CONNECTION_FAILED',
  /**
   * An endpoint's circuit is open after consecutive connection failures: the step did not try to
   * connect. Not retried within the step; a later attempt (the platform's job retry) may find it closed.
   */
  CIRCUIT_OPEN: 'CIRCUIT_OPEN',
  INTEGRITY: 'INTEGRITY_FAILED',
  QUARANTINE_LIMIT: 'QUARANTINE_LIMIT',
  TIMEOUT: 'TIMEOUT',
  ABORTED: 'ABORTED',
  TASK_FAILED: 'TASK_FAILED',
  CHECKPOINT: 'CHECKPOINT_INVALID',
  /** A step named a local path outside the directories the run may open (the platform's roots). */
  PATH_FORBIDDEN: 'PATH_FORBIDDEN',
  /**
   * A step would connect to a host the run's network policy refuses: a link-local or cloud
   * metadata address, or one the platform's --deny-hosts / --allow-hosts keep out (net-policy.ts).
   */
  HOST_FORBIDDEN: 'HOST_FORBIDDEN',
  /** A request to the platform's API failed its schema. */
  VALIDATION: 'VALIDATION_FAILED',
  /** A request the API cannot read: bad URL encoding, a malformed header. */
  BAD_REQUEST: 'BAD_REQUEST',
  /** A request body that does not parse (JSON or YAML) or is not UTF-8; the message says where. */
  BODY_INVALID: 'BODY_INVALID',
  /** A request body, URL or header block over the server's limit. */
  TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  /** A request body in a content type the API does not take (it takes JSON). */
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  /** The resource's state forbids the request (cancel a finished job, a name taken). */
  CONFLICT: 'CONFLICT',
  UNAUTHORIZED: 'UNAUTHORIZED',
  FORBIDDEN: 'FORBIDDEN',
  /** Too many requests or failed logins from one caller; retry later. */
  RATE_LIMITED: 'RATE_LIMITED',
  INTERNAL: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface Issue {
  /** Where the problem is: a JSON path such as `steps[0].flow[1].with.where`. */
  path: string;
  message: string;
}

export interface SluiceErrorOptions {
  cause?: unknown;
  issues?: Issue[];
  /** Retrying may succeed (network blip, lock timeout). The runner retries only these. */
  retryable?: boolean;
}

export class SluiceError extends Error {
  readonly code: ErrorCode;
  readonly issues: Issue[];
  readonly retryable: boolean;
  constructor(code: ErrorCode, message: string, options: SluiceErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SluiceError';
    this.code = code;
    this.issues = options.issues ?? [];
    this.retryable = options.retryable ?? false;
  }

  toJSON(): { code: ErrorCode; message: string; issues?: Issue[] } {
    return this.issues.length > 0
      ? { code: this.code, message: this.message, issues: this.issues }
      : { code: this.code, message: this.message };
  }
}

/** A transient failure: the runner retries it with backoff (after `retryAfterMs` when given). */
export class RetryableError extends SluiceError {
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options: { cause?: unknown; retryAfterMs?: number; code?: ErrorCode } = {}) {
    super(options.code ?? ErrorCode.CONNECTION, message, { cause: options.cause, retryable: true });
    this.name = 'RetryableError';
    this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * CIRCUIT_OPEN: the endpoint's circuit is open, nothing was tried. Not retryable within the step;
 * `retryAt` says when the circuit lets a probe through, so a later attempt should wait for it.
 */
export class CircuitOpenError extends SluiceError {
  readonly retryAt: Date;
  constructor(message: string, retryAt: Date) {
    super(ErrorCode.CIRCUIT_OPEN, message, { retryable: false });
    this.name = 'CircuitOpenError';
    this.retryAt = retryAt;
  }
}

/** A failure that retrying cannot fix (bad config, missing table, permission denied). */
export class FatalError extends SluiceError {
  constructor(message: string, options: { cause?: unknown; code?: ErrorCode } = {}) {
    super(options.code ?? ErrorCode.INTERNAL, message, { cause: options.cause, retryable: false });
    this.name = 'FatalError';
  }
}

/**
 * The most problems one error lists. Past it a document is not a draft with mistakes but noise
 * (200,000 unknown `needs` gave a 22 MB answer); the rest are counted in a last issue.
 */
export const MAX_ISSUES = 100;

function capped(issues: Issue[]): Issue[] {
  if (issues.length <= MAX_ISSUES) return issues;
  const more = issues.length - MAX_ISSUES;
  return [
    ...issues.slice(0, MAX_ISSUES),
    { path: issues[MAX_ISSUES]!.path, message: `and ${more} more problems, not listed (fix these first)` },
  ];
}

/** A configuration or spec that fails validation; `issues` lists every problem with its path. */
export class ConfigError extends SluiceError {
  constructor(message: string, issues: Issue[], code: ErrorCode = ErrorCode.CONFIG) {
    const listed = capped(issues);
    super(code, formatIssues(message, listed), { issues: listed });
    this.name = 'ConfigError';
  }
}

function formatIssues(message: string, issues: Issue[]): string {
  if (issues.length === 0) return message;
  return `${message}\n${issues.map((i) => `  - ${i.path}: ${i.message}`).join('\n')}`;
}

const RETRYABLE_NODE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** Normalises anything thrown into a SluiceError, keeping the original as `cause`. */
export function toSluiceError(err: unknown): SluiceError {
  if (err instanceof SluiceError) return err;
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    if (err.name === 'AbortError')
      return new SluiceError(ErrorCode.ABORTED, 'the run was cancelled', { cause: err });
    if (code === 'ENOENT') return new SluiceError(ErrorCode.NOT_FOUND, err.message, { cause: err });
    if (code !== undefined && RETRYABLE_NODE_CODES.has(code))
      return new RetryableError(err.message, { cause: err });
    return new SluiceError(ErrorCode.INTERNAL, err.message, { cause: err });
  }
  return new SluiceError(ErrorCode.INTERNAL, String(err));
}
