//! OpenTelemetry traces (the `otlp` feature): a real `warden serve` exporting over OTLP/HTTP to
//! a receiver inside the test, on loopback, which decodes the protobuf as a collector does.

#![cfg(feature = "otlp")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Spans = Arc<Mutex<Vec<Span>>>;

/// An OTLP/HTTP receiver on a free loopback port: every span it is sent, kept.
async fn receiver() -> (String, Spans) {
    let spans: Spans = Arc::default();
    let kept = spans.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: axum::body::Bytes| {
            let kept = kept.clone();
            async move {
                let request = ExportTraceServiceRequest::decode(body).unwrap();
                for resource in request.resource_spans {
                    for scope in resource.scope_spans {
                        kept.lock().unwrap().extend(scope.spans);
                    }
                }
                (
                    [("content-type", "application/x-protobuf")],
                    Vec::<u8>::new(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let at = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (at, spans)
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    let value = span
        .attributes
        .iter()
        .find(|a| a.key == key)?
        .value
        .clone()?;
    match value.value? {
        AnyValue::StringValue(s) => Some(s),
        AnyValue::IntValue(i) => Some(i.to_string()),
        other => Some(format!("{other:?}")),
    }
}

/// The spans received once `n` tool calls' spans are in (looked for now and then).
async fn wait_for_calls(spans: &Spans, n: usize) -> Vec<Span> {
    for _ in 0..300 {
        let got = spans.lock().unwrap().clone();
        if got.iter().filter(|s| s.name == "tools/call").count() >= n {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("warden exported no span for its tool calls");
}

#[tokio::test(flavor = "multi_thread")]
async fn each_tool_call_is_one_trace_with_its_stages_and_its_decision() {
    let (endpoint, spans) = receiver().await;
    let lab = Lab::new();
    let warden = lab.serve_with_env(
        "warn",
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_BSP_SCHEDULE_DELAY", "50"),
        ],
    );
    let agent = warden.client(TRIAGE).await;
    let r = agent
        .call("siem.get_alert", json!({"alert_id": "ALR-2001"}))
        .await
        .unwrap();
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    // A denial: the responder may ask to isolate, but never a domain controller.
    let responder = warden.client(RESPONDER).await;
    let r = responder
        .call("edr.isolate_host", isolate("dc01", "INC-1042"))
        .await
        .unwrap();
    assert!(text(&r).contains("denied by warden"), "{}", text(&r));

    let got = wait_for_calls(&spans, 2).await;
    let decisions = lab.events("decision");
    let calls: Vec<&Span> = got.iter().filter(|s| s.name == "tools/call").collect();
    for (tool, outcome) in [("siem.get_alert", "allow"), ("edr.isolate_host", "deny")] {
        let call = calls
            .iter()
            .find(|s| attribute(s, "warden.tool").as_deref() == Some(tool))
            .unwrap_or_else(|| panic!("no span for {tool}"));
        let recorded = decisions.iter().find(|d| d["tool"] == tool).unwrap();
        assert_eq!(attribute(call, "warden.decision").as_deref(), Some(outcome));
        assert_eq!(
            attribute(call, "warden.rule").as_deref(),
            recorded["rule"].as_str()
        );
        assert_eq!(
            attribute(call, "warden.ledger_index"),
            Some(recorded["index"].to_string())
        );
        assert_eq!(
            attribute(call, "warden.agent").as_deref(),
            recorded["principal"].as_str()
        );
        // The stages are its children, in the same trace.
        let stages: BTreeSet<&str> = got
            .iter()
            .filter(|s| s.parent_span_id == call.span_id && s.trace_id == call.trace_id)
            .map(|s| s.name.as_str())
            .collect();
        for stage in ["halt", "context", "policy", "gate", "audit"] {
            assert!(stages.contains(stage), "{tool}: {stages:?}");
        }
        let forwarded = outcome == "allow";
        assert_eq!(stages.contains("upstream"), forwarded, "{tool}: {stages:?}");
        assert_eq!(stages.contains("screen"), forwarded, "{tool}: {stages:?}");
    }
    // Two calls, two traces.
    assert_ne!(calls[0].trace_id, calls[1].trace_id);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_that_names_the_agents_trace_joins_it() {
    use rmcp::service::ServiceExt;
    use rmcp::transport::StreamableHttpClientTransport;
    use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
    const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
    const PARENT: &str = "b7ad6b7169203331";
    let (endpoint, spans) = receiver().await;
    let lab = Lab::new();
    let warden = lab.serve_with_env(
        "warn",
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_BSP_SCHEDULE_DELAY", "50"),
        ],
    );
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        "traceparent",
        format!("00-{TRACE}-{PARENT}-01").parse().unwrap(),
    );
    let http = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap();
    let transport = StreamableHttpClientTransport::with_client(
        http,
        StreamableHttpClientTransportConfig::with_uri(warden.url.as_str()).auth_header(TRIAGE),
    );
    let agent = Client(().serve(transport).await.unwrap());
    let r = agent
        .call("siem.get_alert", json!({"alert_id": "ALR-2001"}))
        .await
        .unwrap();
    assert_ne!(r.is_error, Some(true), "{}", text(&r));

    let got = wait_for_calls(&spans, 1).await;
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let call = got.iter().find(|s| s.name == "tools/call").unwrap();
    assert_eq!(
        hex(&call.trace_id),
        TRACE,
        "the call is in the agent's trace"
    );
    // The call hangs under the agent's span, through warden's request span.
    let request = got
        .iter()
        .find(|s| s.span_id == call.parent_span_id)
        .expect("the call span's parent was exported");
    assert_eq!(request.name, "mcp.request");
    assert_eq!(hex(&request.parent_span_id), PARENT);
}
