//! Optional trace export: the spans the logs carry (a request with its correlation id,
//! a job with its kind and attempt, an evaluation with its task, submission and checker
//! run), sent to an OpenTelemetry collector over OTLP/HTTP.
//!
//! Nothing is exported unless `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set. The standard variables apply:
//! `OTEL_EXPORTER_OTLP_PROTOCOL` (`http/protobuf`, the default, or `http/json`; `grpc`
//! is not built in), `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_SERVICE_NAME` (default
//! `workstream`), `OTEL_RESOURCE_ATTRIBUTES` and the batch processor's `OTEL_BSP_*`.
//! Which spans are exported is `WORKSTREAM_TRACE` (an `EnvFilter`; default `info`),
//! apart from what the logs show (`WORKSTREAM_LOG`): a server logging only warnings
//! still exports its request spans. The exporter's own HTTP client is never traced.
//! Spans are batched on a thread of their own, so a slow or absent collector costs the
//! server nothing but the dropped spans; a configuration that cannot work is reported
//! once in the log, and the process runs on without export.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::Layer;
use tracing_subscriber::Registry;
use tracing_subscriber::filter::{EnvFilter, Filtered};

/// The export layer, with its own filter, right on the registry.
pub type OtlpLayer = Filtered<
    tracing_opentelemetry::OpenTelemetryLayer<Registry, opentelemetry_sdk::trace::Tracer>,
    EnvFilter,
    Registry,
>;

/// Crates whose spans would trace the export itself.
const EXPORT_INTERNALS: &[&str] = &[
    "opentelemetry",
    "opentelemetry_sdk",
    "opentelemetry_otlp",
    "opentelemetry_http",
    "reqwest",
    "hyper",
    "hyper_util",
    "h2",
];

/// `WORKSTREAM_TRACE`, or `info`; never the export's own internals.
fn export_filter() -> Result<EnvFilter, String> {
    let mut filter = match std::env::var("WORKSTREAM_TRACE") {
        Ok(directives) => EnvFilter::try_new(&directives)
            .map_err(|err| format!("WORKSTREAM_TRACE={directives} is not a filter: {err}"))?,
        Err(_) => EnvFilter::new("info,sqlx=warn"),
    };
    for internal in EXPORT_INTERNALS {
        let directive = format!("{internal}=off")
            .parse()
            .map_err(|err| format!("{internal}=off: {err}"))?;
        filter = filter.add_directive(directive);
    }
    Ok(filter)
}

/// Flushes the spans still batched when dropped (at the end of `main`, outside the async
/// runtime: the exporter's HTTP client blocks).
#[derive(Default)]
pub struct Flush(Option<SdkTracerProvider>);

impl Drop for Flush {
    fn drop(&mut self) {
        if let Some(provider) = self.0.take()
            && let Err(err) = provider.shutdown()
        {
            eprintln!("warning: the last spans were not exported: {err}");
        }
    }
}

/// The export layer and its flush guard when an endpoint is configured; `Ok(None)`
/// when none is; `Err` with why when one is configured but cannot be used.
pub fn otlp_layer() -> Result<Option<(OtlpLayer, Flush)>, String> {
    let configured = [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
    .iter()
    .any(|name| std::env::var(name).is_ok_and(|v| !v.trim().is_empty()));
    if !configured {
        return Ok(None);
    }
    let protocol = match std::env::var("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        .or_else(|_| std::env::var("OTEL_EXPORTER_OTLP_PROTOCOL"))
        .as_deref()
    {
        Err(_) | Ok("http/protobuf") => Protocol::HttpBinary,
        Ok("http/json") => Protocol::HttpJson,
        Ok(other) => {
            return Err(format!(
                "OTEL_EXPORTER_OTLP_PROTOCOL={other} is not supported: use http/protobuf or http/json"
            ));
        }
    };
    // The builder reads the endpoint (adding `/v1/traces` to a base endpoint), the
    // headers and the timeout from the environment itself.
    let exporter = SpanExporter::builder()
        .with_http()
        .with_protocol(protocol)
        .build()
        .map_err(|err| format!("the OTLP exporter could not be built: {err}"))?;
    let mut resource = Resource::builder();
    if std::env::var("OTEL_SERVICE_NAME").is_err() {
        resource = resource.with_service_name("workstream");
    }
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource.build())
        .build();
    let filter = export_filter()?;
    let tracer = provider.tracer("workstream");
    let layer = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_filter(filter);
    Ok(Some((layer, Flush(Some(provider)))))
}
