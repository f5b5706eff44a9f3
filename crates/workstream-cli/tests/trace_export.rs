//! Trace export, for real: `workstream up` with `OTEL_EXPORTER_OTLP_ENDPOINT` pointing
//! at a collector stand-in (an HTTP listener in the test that keeps what is posted to
//! `/v1/traces`) sends the request spans the logs carry, with their correlation id, under
//! the service name `workstream`; without the variable nothing is sent.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use serde_json::Value;

/// What the collector stand-in received, one JSON body per export.
type Received = Arc<Mutex<Vec<Value>>>;

async fn collector() -> (String, Received) {
    let received = Received::default();
    let app = Router::new()
        .route(
            "/v1/traces",
            post(|State(received): State<Received>, body: Bytes| async move {
                let value: Value = serde_json::from_slice(&body).expect("an OTLP/JSON body");
                received.lock().unwrap().push(value);
                "{}"
            }),
        )
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

/// Stops `up` with Ctrl-C when the test ends, whatever the outcome.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

fn up(dir: &std::path::Path, otlp: Option<&str>) -> (Server, String) {
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_workstream"));
    command
        .args(["up", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(dir.join("state"))
        .env_remove("WORKSTREAM_DATABASE_URL")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .env_remove("OTEL_SERVICE_NAME")
        .env("WORKSTREAM_LOG", "warn")
        .stdout(Stdio::piped());
    if let Some(endpoint) = otlp {
        command
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
            .env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
            .env("OTEL_BSP_SCHEDULE_DELAY", "100");
    }
    let mut child = command.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_owned();
    (server, base)
}

/// Every span of every export, with the service name of its resource.
fn spans(received: &Received) -> Vec<(String, Value)> {
    let mut spans = Vec::new();
    for export in received.lock().unwrap().iter() {
        for resource in export["resourceSpans"].as_array().into_iter().flatten() {
            let service = resource["resource"]["attributes"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|a| a["key"] == "service.name")
                .and_then(|a| a["value"]["stringValue"].as_str())
                .unwrap_or_default()
                .to_owned();
            for scope in resource["scopeSpans"].as_array().into_iter().flatten() {
                for span in scope["spans"].as_array().into_iter().flatten() {
                    spans.push((service.clone(), span.clone()));
                }
            }
        }
    }
    spans
}

fn attribute<'a>(span: &'a Value, key: &str) -> Option<&'a str> {
    span["attributes"]
        .as_array()?
        .iter()
        .find(|a| a["key"] == key)?["value"]["stringValue"]
        .as_str()
}

#[tokio::test(flavor = "multi_thread")]
async fn request_spans_reach_the_collector_with_their_correlation_id() {
    let (endpoint, received) = collector().await;
    let dir = tempfile::tempdir().unwrap();
    let (server, base) = up(dir.path(), Some(&endpoint));

    let client = reqwest::Client::new();
    let answer = client
        .get(format!("{base}/api/v1/health"))
        .header("X-Correlation-ID", "trace-export-1")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);

    let deadline = Instant::now() + Duration::from_secs(30);
    let found = loop {
        let found = spans(&received).into_iter().find(|(_, span)| {
            span["name"] == "request" && attribute(span, "correlation_id") == Some("trace-export-1")
        });
        if found.is_some() || Instant::now() > deadline {
            break found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let (service, span) = found.unwrap_or_else(|| {
        panic!(
            "no request span with the correlation id reached the collector: {:#?}",
            received.lock().unwrap()
        )
    });
    assert_eq!(service, "workstream");
    assert_eq!(attribute(&span, "method"), Some("GET"));
    assert_eq!(attribute(&span, "path"), Some("/api/v1/health"));
    assert_eq!(span["traceId"].as_str().map(str::len), Some(32), "{span}");
    drop(server);
}

#[tokio::test(flavor = "multi_thread")]
async fn nothing_is_exported_without_an_endpoint() {
    let (_, received) = collector().await;
    let dir = tempfile::tempdir().unwrap();
    let (server, base) = up(dir.path(), None);
    let answer = reqwest::get(format!("{base}/api/v1/health")).await.unwrap();
    assert_eq!(answer.status(), 200);
    drop(server);
    assert!(received.lock().unwrap().is_empty());
}
