//! The CLI's HTTP client of the Workstream API (`demo`, `project import`, `packet upload`).
//!
//! * Every call carries a bearer token; every mutation an `Idempotency-Key`. Keys come
//!   from [`Keys`]: derived from a run id and the item's name, so repeating a run with the
//!   same id replays each answer instead of making anything twice.
//! * A refusal becomes a [`CliError`] with the envelope's stable code, the method, path
//!   and status, and the details; a connection failure is `server_unreachable`.
//! * `429 rate_limit_exceeded` is waited out once per call for its `Retry-After` (at
//!   most a minute), showing the wait on the current progress bar: first-access limits
//!   are per minute, and a demo run makes a few new profiles.

use std::path::Path;
use std::time::Duration;

use indicatif::ProgressBar;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use crate::fixes::CliError;

/// The server clients talk to by default (`up`'s address).
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";

/// A client of one server's `/api/v1`.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    server: String,
    progress: ProgressBar,
}

/// Idempotency keys derived from a run id.
#[derive(Debug, Clone)]
pub struct Keys {
    run: String,
}

impl Keys {
    /// Keys of the run `run`.
    pub fn new(run: impl Into<String>) -> Keys {
        Keys { run: run.into() }
    }

    /// The key of `item` in this run: a UUID from SHA-256 of (run, item).
    pub fn key(&self, item: &str) -> Uuid {
        let digest = Sha256::digest(format!("workstream-cli\0{}\0{item}", self.run).as_bytes());
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        uuid::Builder::from_custom_bytes(bytes).into_uuid()
    }
}

/// A multipart packet upload.
pub struct Upload<'a> {
    /// The task.
    pub task: Uuid,
    /// The contributor's summary.
    pub summary: &'a str,
    /// The contributor's attestation.
    pub attestation: &'a str,
    /// The ZIP on disk.
    pub zip: &'a Path,
}

impl Client {
    /// A client of `server` (`http://host:port`, with or without a trailing `/`).
    pub fn new(server: &str) -> Client {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(300))
            .build()
            .expect("a reqwest client builds");
        Client {
            http,
            server: server.trim_end_matches('/').to_owned(),
            progress: ProgressBar::hidden(),
        }
    }

    /// The server's base URL.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Shows waits (rate limits) on `bar`.
    pub fn set_progress(&mut self, bar: ProgressBar) {
        self.progress = bar;
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.server)
    }

    /// `GET /api/v1/health`: `server_unreachable` if nothing answers there.
    pub async fn health(&self) -> Result<Value, CliError> {
        let response = self
            .http
            .get(self.url("/health"))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .map_err(|e| unreachable(&self.server, &e))?;
        if !response.status().is_success() {
            return Err(CliError::new(
                "server_unreachable",
                format!(
                    "{}/api/v1/health answered {}: is it a Workstream server?",
                    self.server,
                    response.status()
                ),
            ));
        }
        response.json().await.map_err(|e| {
            CliError::new(
                "server_unreachable",
                format!("{}/api/v1/health: {e}", self.server),
            )
        })
    }

    /// `GET path` as `token`.
    pub async fn get(&self, token: &str, path: &str) -> Result<Value, CliError> {
        self.call(Method::GET, token, path, None, None).await
    }

    /// `POST path` with `body` and the idempotency key `key`.
    pub async fn post(
        &self,
        token: &str,
        path: &str,
        body: &Value,
        key: Uuid,
    ) -> Result<Value, CliError> {
        self.call(Method::POST, token, path, Some(body), Some(key))
            .await
    }

    /// `PUT path` with `body` and the idempotency key `key`.
    pub async fn put(
        &self,
        token: &str,
        path: &str,
        body: &Value,
        key: Uuid,
    ) -> Result<Value, CliError> {
        self.call(Method::PUT, token, path, Some(body), Some(key))
            .await
    }

    /// `PATCH path` with `body` and the idempotency key `key`.
    pub async fn patch(
        &self,
        token: &str,
        path: &str,
        body: &Value,
        key: Uuid,
    ) -> Result<Value, CliError> {
        self.call(Method::PATCH, token, path, Some(body), Some(key))
            .await
    }

    async fn call(
        &self,
        method: Method,
        token: &str,
        path: &str,
        body: Option<&Value>,
        key: Option<Uuid>,
    ) -> Result<Value, CliError> {
        let mut waited = false;
        loop {
            let mut request = self
                .http
                .request(method.clone(), self.url(path))
                .bearer_auth(token);
            if let Some(key) = key {
                request = request.header("idempotency-key", key.to_string());
            }
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = request
                .send()
                .await
                .map_err(|e| unreachable(&self.server, &e))?;
            match self.answer(&method, path, response).await {
                Err(Refusal::RateLimited(seconds)) if !waited => {
                    waited = true;
                    self.wait(seconds).await;
                }
                Err(Refusal::RateLimited(_)) => {
                    return Err(CliError::new(
                        "rate_limit_exceeded",
                        format!("{method} {path} is still rate limited after waiting"),
                    ));
                }
                Err(Refusal::Error(err)) => return Err(err),
                Ok(value) => return Ok(value),
            }
        }
    }

    async fn wait(&self, seconds: u64) {
        let seconds = seconds.clamp(1, 60);
        let before = self.progress.message();
        for left in (1..=seconds).rev() {
            self.progress
                .set_message(format!("rate limited by the server: retrying in {left}s"));
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        self.progress.set_message(before);
    }

    async fn answer(
        &self,
        method: &Method,
        path: &str,
        response: reqwest::Response,
    ) -> Result<Value, Refusal> {
        let status = response.status();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let text = response
            .text()
            .await
            .map_err(|e| Refusal::Error(unreachable(&self.server, &e)))?;
        let value: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if status.is_success() {
            return Ok(value);
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Err(Refusal::RateLimited(retry_after.unwrap_or(5)));
        }
        Err(Refusal::Error(refusal(method, path, status, &value)))
    }

    /// `POST /tasks/{task}/packets` (multipart: summary, attestation, packet), streaming
    /// the ZIP from disk with its progress on `bar`.
    pub async fn upload(
        &self,
        token: &str,
        upload: &Upload<'_>,
        key: Uuid,
        bar: &ProgressBar,
    ) -> Result<Value, CliError> {
        let path = format!("/tasks/{}/packets", upload.task);
        let file = tokio::fs::File::open(upload.zip).await.map_err(|e| {
            CliError::new(
                "packet_layout_missing",
                format!("{}: {e}", upload.zip.display()),
            )
        })?;
        let length = file.metadata().await.map(|m| m.len()).unwrap_or(0);
        bar.set_length(length);
        bar.set_position(0);
        let stream = {
            let bar = bar.clone();
            file_stream::chunks(file, move |n| bar.inc(n))
        };
        let part = reqwest::multipart::Part::stream_with_length(
            reqwest::Body::wrap_stream(stream),
            length,
        )
        .file_name("packet.zip")
        .mime_str("application/zip")
        .expect("a valid mime type");
        let form = reqwest::multipart::Form::new()
            .text("summary", upload.summary.to_owned())
            .text("attestation", upload.attestation.to_owned())
            .part("packet", part);
        let response = self
            .http
            .post(self.url(&path))
            .bearer_auth(token)
            .header("idempotency-key", key.to_string())
            .multipart(form)
            .send()
            .await
            .map_err(|e| unreachable(&self.server, &e))?;
        match self.answer(&Method::POST, &path, response).await {
            Ok(value) => Ok(value),
            Err(Refusal::Error(err)) => Err(err),
            Err(Refusal::RateLimited(_)) => Err(CliError::new(
                "rate_limit_exceeded",
                format!("POST {path} answered 429"),
            )),
        }
    }
}

impl Client {
    /// `POST /checkers` (multipart: component): publishes a checker component. Returns
    /// the registry record and whether this call created it (201) or the same bytes
    /// were published before (200).
    pub async fn publish_checker(
        &self,
        token: &str,
        component: Vec<u8>,
        key: Uuid,
    ) -> Result<(bool, Value), CliError> {
        let path = "/checkers";
        let form = reqwest::multipart::Form::new().part(
            "component",
            reqwest::multipart::Part::bytes(component)
                .file_name("checker.wasm")
                .mime_str("application/wasm")
                .expect("a valid mime type"),
        );
        let response = self
            .http
            .post(self.url(path))
            .bearer_auth(token)
            .header("idempotency-key", key.to_string())
            .multipart(form)
            .send()
            .await
            .map_err(|e| unreachable(&self.server, &e))?;
        let created = response.status() == StatusCode::CREATED;
        match self.answer(&Method::POST, path, response).await {
            Ok(value) => Ok((created, value)),
            Err(Refusal::Error(err)) => Err(err),
            Err(Refusal::RateLimited(_)) => Err(CliError::new(
                "rate_limit_exceeded",
                format!("POST {path} answered 429"),
            )),
        }
    }
}

enum Refusal {
    RateLimited(u64),
    Error(CliError),
}

/// A file as a stream of 64 KiB chunks, each reported to a callback as it is read (the
/// upload's progress), without pulling in `tokio-util`.
mod file_stream {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use tokio::io::{AsyncRead, ReadBuf};

    use futures_util::Stream;

    /// The stream of [`chunks`].
    pub struct Chunks<F> {
        file: tokio::fs::File,
        read: F,
        buffer: Box<[u8]>,
    }

    /// Reads `file`, calling `read` with the size of each chunk.
    pub fn chunks<F: Fn(u64) + Send + Sync + 'static>(file: tokio::fs::File, read: F) -> Chunks<F> {
        Chunks {
            file,
            read,
            buffer: vec![0u8; 64 * 1024].into_boxed_slice(),
        }
    }

    impl<F: Fn(u64) + Unpin> Stream for Chunks<F> {
        type Item = std::io::Result<Vec<u8>>;

        fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            let this = self.get_mut();
            let mut buffer = ReadBuf::new(&mut this.buffer);
            match Pin::new(&mut this.file).poll_read(cx, &mut buffer) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
                Poll::Ready(Ok(())) => {
                    let filled = buffer.filled();
                    if filled.is_empty() {
                        return Poll::Ready(None);
                    }
                    (this.read)(filled.len() as u64);
                    Poll::Ready(Some(Ok(filled.to_vec())))
                }
            }
        }
    }
}

fn unreachable(server: &str, err: &reqwest::Error) -> CliError {
    CliError::new(
        "server_unreachable",
        format!("nothing answers at {server}: {err}"),
    )
}

/// The [`CliError`] of a refused call: the envelope's code, or `http_<status>`.
fn refusal(method: &Method, path: &str, status: StatusCode, body: &Value) -> CliError {
    let error = &body["error"];
    let code = error["code"]
        .as_str()
        .map_or_else(|| format!("http_{}", status.as_u16()), str::to_owned);
    let message = error["message"]
        .as_str()
        .map_or_else(|| body.to_string(), str::to_owned);
    CliError::new(
        code,
        format!("{method} {path} answered {}: {message}", status.as_u16()),
    )
    .with_details(error["details"].clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_per_run_and_item() {
        let a = Keys::new("run-1");
        assert_eq!(a.key("project"), a.key("project"));
        assert_ne!(a.key("project"), a.key("guide"));
        assert_ne!(a.key("project"), Keys::new("run-2").key("project"));
        assert_eq!(a.key("project").get_version_num(), 8);
    }
}
