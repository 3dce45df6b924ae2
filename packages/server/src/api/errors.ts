import { randomUUID } from 'node:crypto';
import { ajvIssues, ErrorCode, type Issue, SluiceError } from '@sluice/core';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { NO_NUL } from './fields.ts';

/** The one mapping from error codes to HTTP statuses. */
const STATUS: Record<ErrorCode, number> = {
  [ErrorCode.CONFIG]: 400,
  [ErrorCode.SPEC]: 400,
  [ErrorCode.UNKNOWN_CONNECTOR]: 400,
  [ErrorCode.PARAMS]: 400,
  [ErrorCode.EXPRESSION]: 400,
  [ErrorCode.VALIDATION]: 400,
  [ErrorCode.BAD_REQUEST]: 400,
  [ErrorCode.BODY_INVALID]: 400,
  [ErrorCode.NOT_FOUND]: 404,
  [ErrorCode.CONFLICT]: 409,
  [ErrorCode.TOO_LARGE]: 413,
  [ErrorCode.UNSUPPORTED_MEDIA_TYPE]: 415,
  [ErrorCode.UNAUTHORIZED]: 401,
  [ErrorCode.FORBIDDEN]: 403,
  // A well-formed request the server refuses on policy, whoever sends it: a path outside the
  // directories pipelines may open. The code tells it apart from a role's missing permission.
  [ErrorCode.PATH_FORBIDDEN]: 403,
  [ErrorCode.HOST_FORBIDDEN]: 403,
  [ErrorCode.RATE_LIMITED]: 429,
  [ErrorCode.CONNECTION]: 502,
  // The endpoint is known to be down: the request was not even sent; try again later.
  [ErrorCode.CIRCUIT_OPEN]: 503,
  [ErrorCode.TIMEOUT]: 504,
  [ErrorCode.INTEGRITY]: 500,
  [ErrorCode.QUARANTINE_LIMIT]: 500,
  [ErrorCode.ABORTED]: 500,
  [ErrorCode.TASK_FAILED]: 500,
  [ErrorCode.CHECKPOINT]: 500,
  [ErrorCode.INTERNAL]: 500,
};

/** Errors of Fastify and its plugins carry Fastify's codes; callers get ours, by status. */
const FRAMEWORK: Record<number, ErrorCode> = {
  400: ErrorCode.BAD_REQUEST,
  404: ErrorCode.NOT_FOUND,
  413: ErrorCode.TOO_LARGE,
  414: ErrorCode.TOO_LARGE,
  415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
  429: ErrorCode.RATE_LIMITED,
  431: ErrorCode.TOO_LARGE,
};

/** What to do about a framework error, in words; its own message is kept for the rest. */
const ADVICE: Record<string, string> = {
  FST_ERR_BAD_URL: 'the URL is not valid: a "%" must start a percent-encoded byte (%25 for "%" itself)',
  FST_ERR_MAX_PARAM_LENGTH: 'a path parameter of the URL is too long',
  FST_ERR_CTP_EMPTY_JSON_BODY:
    'the body is empty but the content-type is application/json: send a JSON document, or no content-type',
  FST_ERR_CTP_BODY_TOO_LARGE: 'the request body is larger than the server accepts (1 MiB)',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'the API takes JSON bodies: send content-type application/json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'the content-length header does not match the body',
};

/** The part of the request a framework error is about, for the `details` path. */
const AT: Record<string, string> = {
  FST_ERR_BAD_URL: 'url',
  FST_ERR_MAX_PARAM_LENGTH: 'url',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'body',
  FST_ERR_CTP_INVALID_JSON_BODY: 'body',
  FST_ERR_CTP_BODY_TOO_LARGE: 'body',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'headers.content-type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'headers.content-length',
};

export const notFound = (what: string, id: string) =>
  new SluiceError(ErrorCode.NOT_FOUND, `${what} ${id} does not exist`);
export const conflict = (message: string) => new SluiceError(ErrorCode.CONFLICT, message);

const body = (code: string, message: string, details: Issue[] = []) => ({
  error: { code, message, details },
});

/**
 * A failure the caller cannot act on: the answer says only that it happened and an id to quote;
 * the details (often a driver's message, with SQL and parameters) go to the log under that id.
 */
function internal(err: unknown, req: FastifyRequest, reply: FastifyReply, code: string = ErrorCode.INTERNAL) {
  const id = randomUUID();
  req.log.error(
    { err, errorId: id, req: { method: req.method, url: req.url.split('?')[0] } },
    'unhandled error',
  );
  return reply.status(code === ErrorCode.INTERNAL ? 500 : (STATUS[code as ErrorCode] ?? 500)).send({
    error: {
      code,
      message:
        code === ErrorCode.INTERNAL ? 'internal error' : 'a service the server needs failed; try again later',
      id,
    },
  });
}

/** Fastify's own errors (URL, body parsing, limits), in api-v1.md's shape with Sluice's codes. */
function framework(err: FastifyError, reply: FastifyReply) {
  const status = err.statusCode ?? 400;
  const code = FRAMEWORK[status] ?? ErrorCode.BAD_REQUEST;
  const message =
    ADVICE[err.code] ??
    (err instanceof SyntaxError ? `the body is not valid JSON: ${err.message}` : err.message);
  const at = AT[err.code] ?? (err instanceof SyntaxError ? 'body' : undefined);
  return reply.status(status).send(body(code, message, at ? [{ path: at, message }] : []));
}

// fields.ts keeps NUL out of query strings with a pattern; its failure is said in words.
const NUL_PATTERN_FAILED = `must match pattern "${NO_NUL}"`;

/** One error handler for every route: api-v1.md's error shape, no stack traces, SQL or paths out. */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err.validation) {
      // One issue per problem, with the allowed values or the closest branch of a union.
      const details = ajvIssues(err.validation, err.validationContext ?? 'body', {
        missingAtProperty: true,
      }).map((d) =>
        d.message === NUL_PATTERN_FAILED ? { ...d, message: 'must not contain NUL characters (\\u0000)' } : d,
      );
      const summary = details.map((d) => `${d.path} ${d.message}`).join('; ');
      return reply.status(400).send(body(ErrorCode.VALIDATION, `invalid request: ${summary}`, details));
    }
    if (err instanceof SluiceError) {
      const status = STATUS[err.code] ?? 500;
      if (status >= 500) return internal(err, req, reply, err.code);
      // A refusal that says when to come back (too many failed logins) says it in the header too.
      const after = (err as { retryAfterSeconds?: unknown }).retryAfterSeconds;
      if (typeof after === 'number') reply.header('retry-after', String(after));
      return reply.status(status).send(body(err.code, err.message, err.issues));
    }
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500)
      return framework(err, reply);
    return internal(err, req, reply);
  });
  app.setNotFoundHandler((req, reply) =>
    reply.status(404).send(body(ErrorCode.NOT_FOUND, `no route ${req.method} ${req.url.split('?')[0]}`)),
  );
}

/** Errors met before routing (Fastify's `frameworkErrors`): a URL that cannot be decoded. */
export function frameworkErrors(err: FastifyError, _req: FastifyRequest, reply: FastifyReply) {
  return framework(err, reply);
}

/**
 * Errors met before Fastify sees a request (Node's HTTP parser: headers too large, a malformed
 * request line), written straight to the socket, in the API's shape.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: import('node:net').Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, text, code, message] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [
          431,
          'Request Header Fields Too Large',
          ErrorCode.TOO_LARGE,
          'the request headers are larger than the server accepts (16 KiB)',
        ]
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', ErrorCode.TIMEOUT, 'the request was not received in time']
        : [400, 'Bad Request', ErrorCode.BAD_REQUEST, 'the request is not valid HTTP'];
  const at = status === 431 ? 'headers' : 'request';
  const json = JSON.stringify(body(code, message, [{ path: at, message }]));
  if (socket.writable)
    socket.write(
      `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(json)}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\n\r\n${json}`,
    );
  socket.destroy(err);
}
