//! The HTTPS calls of the production verifier: fetching the JWKS document and token
//! introspection (docs/security.md, "Network calls").
//!
//! Both go through a client built here with the same rules:
//!
//! * `https://` only, TLS by rustls (ring provider) trusting the webpki root store, plus
//!   an optional PEM file of extra trust anchors for a private CA
//!   (`WORKSTREAM_TOKEN_JWKS_CA_FILE`, `WORKSTREAM_TOKEN_INTROSPECTION_CA_FILE`; these
//!   two variables are Workstream's addition, upstream has no equivalent);
//! * no redirects (a 3xx is a failure), no proxy from the environment, no cookies, no
//!   compression;
//! * a status other than 200 is a failure;
//! * the body is read chunk by chunk and the read stops as soon as it passes the size
//!   cap, so an oversized (or endless) response never sits in memory whole;
//! * timeouts, from `<PREFIX>_{CONNECT,READ,WRITE,POOL,TOTAL}_TIMEOUT_SECONDS`
//!   (defaults 2/3/3/1/5). reqwest enforces `CONNECT` (TCP and TLS set-up), `READ` (the
//!   longest wait for any read from the socket) and `TOTAL` (the whole call, body
//!   included; the call is also wrapped in a timer of its own). It has no separate
//!   write timeout and never queues for a pooled connection (it opens a new one), so
//!   `WRITE` and `POOL` are accepted and validated for compatibility with upstream's
//!   settings but only bounded by `TOTAL`.
//!
//! Every failure is reported as a reason string; the callers turn it into "verification
//! unavailable" (503), never into an accepted token.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::{Certificate, Client, StatusCode, Url};

use crate::config::ConfigError;

/// How one kind of call reaches its endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpsSettings {
    /// TCP connect and TLS handshake (`_CONNECT_TIMEOUT_SECONDS`, 2).
    pub connect_timeout: Duration,
    /// Longest wait for one read (`_READ_TIMEOUT_SECONDS`, 3).
    pub read_timeout: Duration,
    /// `_WRITE_TIMEOUT_SECONDS` (3): validated, bounded by the total timeout.
    pub write_timeout: Duration,
    /// `_POOL_TIMEOUT_SECONDS` (1): validated, bounded by the total timeout.
    pub pool_timeout: Duration,
    /// The whole call (`_TOTAL_TIMEOUT_SECONDS`, 5).
    pub total_timeout: Duration,
    /// Largest body read (`_MAX_RESPONSE_BYTES`).
    pub max_response_bytes: usize,
    /// Extra trust anchors (PEM), added to the webpki roots (`_CA_FILE`).
    pub ca_file: Option<PathBuf>,
}

/// Smallest and largest accepted response caps.
const RESPONSE_BYTES_RANGE: std::ops::RangeInclusive<usize> = 1024..=16 * 1024 * 1024;
/// Largest accepted timeout, in seconds.
const MAX_TIMEOUT_SECONDS: f64 = 300.0;

impl HttpsSettings {
    /// The defaults with a response cap of `max_response_bytes`.
    pub fn with_max_response_bytes(max_response_bytes: usize) -> HttpsSettings {
        HttpsSettings {
            connect_timeout: Duration::from_secs(2),
            read_timeout: Duration::from_secs(3),
            write_timeout: Duration::from_secs(3),
            pool_timeout: Duration::from_secs(1),
            total_timeout: Duration::from_secs(5),
            max_response_bytes,
            ca_file: None,
        }
    }

    /// Reads `<prefix>_{CONNECT,READ,WRITE,POOL,TOTAL}_TIMEOUT_SECONDS`,
    /// `<prefix>_MAX_RESPONSE_BYTES` and `<prefix>_CA_FILE`.
    pub fn from_env(
        prefix: &str,
        default_max_response_bytes: usize,
    ) -> Result<HttpsSettings, ConfigError> {
        let defaults = HttpsSettings::with_max_response_bytes(default_max_response_bytes);
        let timeout = |name: &str, default: Duration| -> Result<Duration, ConfigError> {
            let variable = format!("{prefix}_{name}_TIMEOUT_SECONDS");
            match std::env::var(&variable) {
                Err(_) => Ok(default),
                Ok(text) => match text.trim().parse::<f64>() {
                    Ok(seconds) if seconds > 0.0 && seconds <= MAX_TIMEOUT_SECONDS => {
                        Ok(Duration::from_secs_f64(seconds))
                    }
                    _ => Err(ConfigError(format!(
                        "{variable} must be a number of seconds above 0 and at most \
                         {MAX_TIMEOUT_SECONDS}"
                    ))),
                },
            }
        };
        let max_variable = format!("{prefix}_MAX_RESPONSE_BYTES");
        let max_response_bytes = match std::env::var(&max_variable) {
            Err(_) => default_max_response_bytes,
            Ok(text) => text
                .trim()
                .parse()
                .ok()
                .filter(|n| RESPONSE_BYTES_RANGE.contains(n))
                .ok_or_else(|| {
                    ConfigError(format!(
                        "{max_variable} must be a whole number in {}..={}",
                        RESPONSE_BYTES_RANGE.start(),
                        RESPONSE_BYTES_RANGE.end()
                    ))
                })?,
        };
        Ok(HttpsSettings {
            connect_timeout: timeout("CONNECT", defaults.connect_timeout)?,
            read_timeout: timeout("READ", defaults.read_timeout)?,
            write_timeout: timeout("WRITE", defaults.write_timeout)?,
            pool_timeout: timeout("POOL", defaults.pool_timeout)?,
            total_timeout: timeout("TOTAL", defaults.total_timeout)?,
            max_response_bytes,
            ca_file: std::env::var(format!("{prefix}_CA_FILE"))
                .ok()
                .filter(|path| !path.is_empty())
                .map(PathBuf::from),
        })
    }

    /// The client for these settings; `what` names the setting in errors. Fails when the
    /// CA file cannot be read or holds no certificate.
    pub(crate) fn client(&self, what: &str) -> Result<Client, ConfigError> {
        if self.max_response_bytes == 0 {
            return Err(ConfigError(format!(
                "{what}: the response cap must be above 0"
            )));
        }
        let timeouts = [
            self.connect_timeout,
            self.read_timeout,
            self.write_timeout,
            self.pool_timeout,
            self.total_timeout,
        ];
        if timeouts.iter().any(Duration::is_zero) {
            return Err(ConfigError(format!("{what}: timeouts must be above 0")));
        }
        let mut builder = Client::builder()
            .use_rustls_tls()
            .https_only(true)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .referer(false)
            .connect_timeout(self.connect_timeout)
            .read_timeout(self.read_timeout)
            .timeout(self.total_timeout)
            .user_agent(concat!("workstream/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &self.ca_file {
            let pem = std::fs::read(path).map_err(|e| {
                ConfigError(format!(
                    "{what}: cannot read CA file {}: {e}",
                    path.display()
                ))
            })?;
            let certificates = Certificate::from_pem_bundle(&pem)
                .map_err(|e| ConfigError(format!("{what}: CA file {}: {e}", path.display())))?;
            if certificates.is_empty() {
                return Err(ConfigError(format!(
                    "{what}: CA file {} holds no PEM certificate",
                    path.display()
                )));
            }
            for certificate in certificates {
                builder = builder.add_root_certificate(certificate);
            }
        }
        builder
            .build()
            .map_err(|e| ConfigError(format!("{what}: cannot build the HTTPS client: {e}")))
    }
}

/// `text` as an `https://` URL with a host, no userinfo and no fragment; `name` is the
/// variable, for errors. Plain `http://` is refused: keys and introspection answers
/// must not be open to tampering on the way.
pub fn https_url(name: &str, text: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(text).map_err(|e| ConfigError(format!("{name}: not a URL: {e}")))?;
    if url.scheme() != "https" {
        return Err(ConfigError(format!(
            "{name} must be an https:// URL (got {}://)",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ConfigError(format!("{name} must have a host")));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError(format!("{name} must not carry credentials")));
    }
    if url.fragment().is_some() {
        return Err(ConfigError(format!("{name} must not have a fragment")));
    }
    Ok(url)
}

/// Sends `request` and returns the body of a 200 answer, at most `max_bytes` long,
/// within `total` (on top of the client's own timeouts).
pub(crate) async fn fetch_capped(
    request: reqwest::RequestBuilder,
    max_bytes: usize,
    total: Duration,
) -> Result<Vec<u8>, String> {
    match tokio::time::timeout(total, fetch_inner(request, max_bytes)).await {
        Ok(result) => result,
        Err(_) => Err(format!("no complete answer within {total:?}")),
    }
}

async fn fetch_inner(
    request: reqwest::RequestBuilder,
    max_bytes: usize,
) -> Result<Vec<u8>, String> {
    let mut response = request.send().await.map_err(describe)?;
    let status = response.status();
    if status != StatusCode::OK {
        // Redirects land here too: they are never followed.
        return Err(format!("answered {status}, expected 200 OK"));
    }
    if response
        .content_length()
        .is_some_and(|length| length > max_bytes as u64)
    {
        return Err(format!("response larger than {max_bytes} bytes"));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(describe)? {
        if body.len() + chunk.len() > max_bytes {
            return Err(format!("response larger than {max_bytes} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A reqwest error with its causes (the TLS or connect reason is in the chain).
fn describe(error: reqwest::Error) -> String {
    use std::error::Error as _;
    let mut text = if error.is_timeout() {
        format!("timed out: {error}")
    } else {
        error.to_string()
    };
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_https_urls_are_accepted() {
        assert!(https_url("X", "https://id.example.com/jwks").is_ok());
        assert!(https_url("X", "https://127.0.0.1:8443/jwks?x=1").is_ok());
        assert!(https_url("X", "http://id.example.com/jwks").is_err());
        assert!(https_url("X", "file:///etc/jwks.json").is_err());
        assert!(https_url("X", "https://user:pw@id.example.com/jwks").is_err());
        assert!(https_url("X", "https://id.example.com/jwks#frag").is_err());
        assert!(https_url("X", "not a url").is_err());
    }
}
