//! OpenTelemetry traces over OTLP/HTTP (the `otlp` cargo feature): one span per tool call
//! (`tools/call`, from `Gateway::pipeline`) with a child span per stage, and the decision, its
//! rule and its ledger index as attributes.
//!
//! Off unless `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set,
//! and only for the commands that serve agents. The exporter reads the standard `OTEL_*`
//! variables (endpoint, headers, timeout, `OTEL_BSP_*` batching); spans are batched and sent
//! from a thread of their own, never on a call's path, and a collector that is down costs the
//! gateway nothing but the spans.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;

/// Whether the environment asks for traces.
pub fn wanted() -> bool {
    [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
    .iter()
    .any(|v| std::env::var_os(v).is_some_and(|v| !v.is_empty()))
}

/// The tracer provider exporting to the configured OTLP/HTTP endpoint. Built before the async
/// runtime starts (its HTTP client is a blocking one, on the batch thread).
pub fn provider() -> Result<SdkTracerProvider, String> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
        .map_err(|e| format!("cannot set up the OTLP trace exporter: {e}"))?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name("warden").build())
        .build())
}

/// The `tracing` layer that turns warden's spans into OpenTelemetry spans.
pub fn layer<S>(
    provider: &SdkTracerProvider,
) -> tracing_opentelemetry::OpenTelemetryLayer<S, opentelemetry_sdk::trace::Tracer>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    tracing_opentelemetry::layer().with_tracer(provider.tracer("warden"))
}

/// Makes each tool call that arrives with a W3C `traceparent` header a part of that trace.
pub fn adopt_agents_traces(gateway: &warden_gateway::Gateway) {
    gateway.set_trace_parent(std::sync::Arc::new(|span, headers| {
        use opentelemetry::propagation::TextMapPropagator as _;
        use tracing_opentelemetry::OpenTelemetrySpanExt as _;
        let parent = opentelemetry_sdk::propagation::TraceContextPropagator::new()
            .extract(&Headers(headers));
        let _ = span.set_parent(parent);
    }));
}

struct Headers<'a>(&'a axum::http::HeaderMap);

impl opentelemetry::propagation::Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}
