//! Where a serving process listens: its address, bound before anything else starts so
//! that a taken port is the first thing reported ([`bind`]); the separate address of
//! `GET /metrics` that `serve` and `worker` both offer ([`spawn_metrics`]); and the
//! stop signal their servers wait on ([`stopping`]).

use std::net::SocketAddr;

use anyhow::Context;

/// Binds `bind` (first, before the database starts, so a taken port is reported at
/// once: `address_in_use`).
pub async fn bind(bind: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    match tokio::net::TcpListener::bind(bind).await {
        Ok(listener) => Ok(listener),
        Err(err) if err.kind() == std::io::ErrorKind::AddrInUse => {
            Err(crate::fixes::CliError::new(
                "address_in_use",
                format!("cannot serve on {bind}: something else listens there"),
            )
            .into())
        }
        Err(err) => Err(err).with_context(|| format!("binding {bind}")),
    }
}

/// The variable naming a separate address for `GET /metrics` without a token.
pub const METRICS_BIND: &str = "WORKSTREAM_METRICS_BIND";

/// Serves `GET /metrics` without a token on `WORKSTREAM_METRICS_BIND`, when it is set,
/// until `stopped`: the address itself is the access control, so bind it where only the
/// scraper reaches (a private interface, `127.0.0.1`). Both `serve` and `worker` do,
/// each reporting its own process's counters and the database's gauges.
pub async fn spawn_metrics(
    pool: &sqlx::PgPool,
    stopped: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<Option<SocketAddr>> {
    let Some(value) = std::env::var_os(METRICS_BIND) else {
        return Ok(None);
    };
    let value = value.to_string_lossy().into_owned();
    let address: SocketAddr = value
        .parse()
        .with_context(|| format!("{METRICS_BIND}={value} is not an address (host:port)"))?;
    let listener = bind(address).await?;
    let address = listener.local_addr()?;
    workstream_api::telemetry::recorder();
    let app = workstream_api::telemetry::metrics_app(pool.clone());
    tokio::spawn(async move {
        if let Err(err) = workstream_api::serve(listener, app, stopping(stopped)).await {
            tracing::error!(error = %err, "the metrics address stopped serving");
        }
    });
    tracing::info!(%address, "metrics served without a token");
    Ok(Some(address))
}

/// Resolves once `stopped` turns true (or its sender is gone).
pub async fn stopping(mut stopped: tokio::sync::watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stopped| *stopped).await;
}
