/**
 * OpenTelemetry traces. Off by default; on when the standard variables ask for an exporter
 * (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_TRACES_EXPORTER,
 * unless OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none). Everything else (protocol,
 * headers, sampler, resource attributes) is the SDK's own OTEL_* configuration.
 *
 * The trace context travels in job data (`trace`, a W3C traceparent carrier), so the event,
 * the dispatcher's planning, every span job, the converts and the commit of one recording
 * form one trace even when they run in different processes. With tracing off the API is a
 * no-op and job data carries nothing.
 */
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';
import { NodeSDK } from '@opentelemetry/sdk-node';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';

/** W3C trace context (`traceparent`, `tracestate`) of the job that created a job. */
export type TraceCarrier = Record<string, string>;

const TRACER = 'mcapflow';
let sdk: NodeSDK | undefined;

function isTrue(value: string | undefined): boolean {
  return value !== undefined && ['true', '1', 'yes'].includes(value.trim().toLowerCase());
}

/** Whether the environment asks for traces to be exported. */
export function tracingRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  if (isTrue(env.OTEL_SDK_DISABLED)) return false;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  if (exporters.length > 0) return !exporters.includes('none');
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim());
}

export interface TracingOptions {
  /** Export through these instead of the exporters the environment names (tests: an in-memory exporter). */
  spanProcessors?: SpanProcessor[];
  env?: NodeJS.ProcessEnv;
}

/**
 * Starts the SDK when asked for (by the environment or by explicit span processors).
 * Returns 'started' when this call started it (the caller then stops it), 'running' when it
 * already was, 'off' when tracing is not wanted.
 */
export function startTracing(options: TracingOptions = {}): 'started' | 'running' | 'off' {
  if (sdk !== undefined) return 'running';
  const env = options.env ?? process.env;
  if (options.spanProcessors === undefined && !tracingRequested(env)) return 'off';
  const named = Boolean(env.OTEL_SERVICE_NAME) || /(^|,)\s*service\.name=/.test(env.OTEL_RESOURCE_ATTRIBUTES ?? '');
  sdk = new NodeSDK({
    ...(named ? {} : { serviceName: 'mcapflow' }),
    ...(options.spanProcessors ? { spanProcessors: options.spanProcessors } : {}),
    // Traces only: metrics are Prometheus' job, logs go to stderr.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [],
  });
  sdk.start();
  return 'started';
}

/** Flushes and stops the SDK; the API is a no-op again (and tracing may be started anew). */
export async function stopTracing(): Promise<void> {
  const running = sdk;
  sdk = undefined;
  if (running === undefined) return;
  try {
    await running.shutdown();
  } finally {
    trace.disable();
    propagation.disable();
    context.disable();
  }
}

export function tracer() {
  return trace.getTracer(TRACER);
}

/** The current trace context as a carrier for a job's data; undefined when tracing is off. */
export function traceCarrier(ctx: Context = context.active()): TraceCarrier | undefined {
  const carrier: TraceCarrier = {};
  propagation.inject(ctx, carrier);
  return Object.keys(carrier).length > 0 ? carrier : undefined;
}

export function contextFromCarrier(carrier: TraceCarrier | undefined): Context {
  return carrier === undefined ? ROOT_CONTEXT : propagation.extract(ROOT_CONTEXT, carrier);
}

/** Adds attributes to the span of the code running now (a job's span), if any. */
export function setSpanAttributes(attributes: Attributes): void {
  trace.getActiveSpan()?.setAttributes(attributes);
}

export function recordSpanError(span: Span, error: unknown): void {
  const err = error instanceof Error ? error : new Error(String(error));
  span.recordException(err);
  span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
}

/** Runs `work` in a new span (child of the active one, or of `parent`), ending it after. */
export async function inSpan<T>(
  name: string,
  options: { attributes?: Attributes; kind?: SpanKind; parent?: Context },
  work: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = options.parent ?? context.active();
  const span = tracer().startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes ?? {} }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => work(span));
  } catch (error) {
    recordSpanError(span, error);
    throw error;
  } finally {
    try {
      span.end();
    } catch {
      // Telemetry never fails the work it describes.
    }
  }
}

export { SpanKind };
