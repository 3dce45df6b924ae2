import { context, type Span, SpanStatusCode, TraceFlags, type Tracer, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';

export interface Tracing {
  tracer: Tracer;
  /** Where spans go: the OTLP/HTTP traces URL, or null (spans still get ids, stored on jobs). */
  exportsTo: string | null;
  /** Sends what is buffered and stops. */
  shutdown(): Promise<void>;
}

/**
 * The platform's tracer. Spans are exported over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT`
 * (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set; without it they are still made, so every job
 * has a trace id to show and to find in logs.
 */
export async function startTracing(o: {
  version: string;
  endpoint?: string;
  env?: NodeJS.ProcessEnv;
}): Promise<Tracing> {
  const env = o.env ?? process.env;
  const url =
    o.endpoint ??
    env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
    (env.OTEL_EXPORTER_OTLP_ENDPOINT
      ? `${env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/$/, '')}/v1/traces`
      : undefined);
  // Imported only when spans are exported: the exporter brings OTLP's transformer and the
  // metrics and logs SDKs (~280 modules, ~4 MB of an idle server's memory) that are otherwise unused.
  const exporter = url
    ? new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter({ url })
    : undefined;
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: env.OTEL_SERVICE_NAME ?? 'sluice',
      [ATTR_SERVICE_VERSION]: o.version,
    }),
    spanProcessors: exporter ? [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 1000 })] : [],
  });
  return {
    tracer: provider.getTracer('sluice', o.version),
    exportsTo: url ?? null,
    shutdown: () => provider.shutdown(),
  };
}

/**
 * The root span of a job attempt. A job keeps one trace across its attempts: later attempts
 * continue the trace id stored on the job (as children of a remote parent with that id).
 */
export function startJobSpan(
  tracer: Tracer,
  name: string,
  traceId: string | null,
  attributes: Record<string, string | number>,
): Span {
  const parent = traceId
    ? trace.setSpanContext(context.active(), {
        traceId,
        spanId: traceId.slice(0, 16),
        traceFlags: TraceFlags.SAMPLED,
        isRemote: true,
      })
    : undefined;
  return tracer.startSpan(name, { attributes }, parent);
}

export function childSpan(
  tracer: Tracer,
  parent: Span,
  name: string,
  attributes: Record<string, string | number>,
): Span {
  return tracer.startSpan(name, { attributes }, trace.setSpan(context.active(), parent));
}

/** Ends a span with the outcome: ok, or error with the message (and the error recorded). */
export function endSpan(span: Span, status: string, error?: { code?: string; message: string } | null): void {
  span.setAttribute('sluice.status', status);
  if (error) {
    span.recordException({ name: error.code ?? 'Error', message: error.message });
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
  } else if (status === 'success') span.setStatus({ code: SpanStatusCode.OK });
  span.end();
}
