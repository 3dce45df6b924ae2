import { ErrorCode, type Issue, SluiceError, toSluiceError } from '@sluice/core';
import type { FastifyError, FastifyInstance } from 'fastify';

/** The one mapping from error codes to HTTP statuses. */
const STATUS: Record<ErrorCode, number> = {
  [ErrorCode.CONFIG]: 400,
  [ErrorCode.SPEC]: 400,
  [ErrorCode.UNKNOWN_CONNECTOR]: 400,
  [ErrorCode.PARAMS]: 400,
  [ErrorCode.EXPRESSION]: 400,
  [ErrorCode.VALIDATION]: 400,
  [ErrorCode.NOT_FOUND]: 404,
  [ErrorCode.CONFLICT]: 409,
  [ErrorCode.UNAUTHORIZED]: 401,
  [ErrorCode.FORBIDDEN]: 403,
  [ErrorCode.RATE_LIMITED]: 429,
  [ErrorCode.CONNECTION]: 502,
  [ErrorCode.TIMEOUT]: 504,
  [ErrorCode.INTEGRITY]: 500,
  [ErrorCode.QUARANTINE_LIMIT]: 500,
  [ErrorCode.ABORTED]: 500,
  [ErrorCode.TASK_FAILED]: 500,
  [ErrorCode.CHECKPOINT]: 500,
  [ErrorCode.INTERNAL]: 500,
};

export const notFound = (what: string, id: string) =>
  new SluiceError(ErrorCode.NOT_FOUND, `${what} ${id} does not exist`);
export const conflict = (message: string) => new SluiceError(ErrorCode.CONFLICT, message);

interface ErrorBody {
  error: { code: string; message: string; details: Issue[] };
}

const body = (code: string, message: string, details: Issue[] = []): ErrorBody => ({
  error: { code, message, details },
});

// ajv's instancePath is a JSON pointer (/spec/steps/0/id); clients read JSON paths (body.spec.steps[0].id).
function jsonPath(context: string | undefined, pointer: string, missing?: string): string {
  const parts = pointer
    .split('/')
    .slice(1)
    .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'));
  if (missing) parts.push(missing);
  return parts.reduce((path, p) => (/^\d+$/.test(p) ? `${path}[${p}]` : `${path}.${p}`), context ?? 'body');
}

/** One error handler for every route: api-v1.md's error shape, no stack traces out. */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err.validation) {
      const details = err.validation.map((v) => ({
        path: jsonPath(
          err.validationContext,
          v.instancePath,
          (v.params as { missingProperty?: string }).missingProperty,
        ),
        message: v.message ?? 'invalid',
      }));
      return reply
        .status(400)
        .send(
          body(
            ErrorCode.VALIDATION,
            `invalid request: ${details.map((d) => `${d.path} ${d.message}`).join('; ')}`,
            details,
          ),
        );
    }
    if (err instanceof SluiceError) {
      // A refusal that says when to come back (too many failed logins) says it in the header too.
      const after = (err as { retryAfterSeconds?: unknown }).retryAfterSeconds;
      if (typeof after === 'number') reply.header('retry-after', String(after));
      return reply.status(STATUS[err.code] ?? 500).send(body(err.code, err.message, err.issues));
    }
    if (typeof err.statusCode === 'number' && err.statusCode < 500) {
      return reply.status(err.statusCode).send(body(err.code ?? 'BAD_REQUEST', err.message));
    }
    req.log.error({ err }, 'unhandled error');
    const e = toSluiceError(err);
    return reply.status(500).send(body(ErrorCode.INTERNAL, `internal error: ${e.message}`));
  });
  app.setNotFoundHandler((req, reply) =>
    reply.status(404).send(body(ErrorCode.NOT_FOUND, `no route ${req.method} ${req.url.split('?')[0]}`)),
  );
}
