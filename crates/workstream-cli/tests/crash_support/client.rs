//! The load's HTTP client: what a careful API client does when servers die under it.
//!
//! Every mutation carries one `Idempotency-Key` for all its attempts. A request whose
//! answer never arrived (connection refused or reset, a timeout) or was a 5xx/429 is
//! sent again, with the same key and the same body, to the next server, until it gets
//! a definitive answer or the deadline passes. A retried request whose first attempt
//! had in fact committed must come back as a replay (`Idempotency-Replayed`), never as
//! a second effect; the checks at the end of the test count the effects.
//!
//! Because a kill rarely lands between a commit and its answer, the client also loses
//! answers on purpose: with a seeded probability it discards a successful mutation's
//! answer, as if the server had died right after committing, and sends the request
//! again. The retry must be a replay with the same status and the same body, and the
//! client asserts exactly that.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;
use uuid::Uuid;
use workstream_api::auth::{LocalToken, SubjectKind, mint_local_token};

use super::Rng;
use super::fleet::SECRET;

/// How long one request may keep being retried.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(180);

/// A token subject.
#[derive(Debug, Clone)]
pub struct Who {
    pub subject: String,
    pub service: bool,
}

impl Who {
    pub fn human(subject: impl Into<String>) -> Who {
        Who {
            subject: subject.into(),
            service: false,
        }
    }

    pub fn service(subject: impl Into<String>) -> Who {
        Who {
            subject: subject.into(),
            service: true,
        }
    }

    /// A fresh token (tokens are cheap; a soak run outlives a one-hour token).
    fn token(&self) -> String {
        let mut token = LocalToken::human(&self.subject);
        if self.service {
            token = token.kind(SubjectKind::Service);
        }
        mint_local_token(SECRET.as_bytes(), &token)
    }
}

/// A request body.
#[derive(Debug, Clone)]
pub enum Body {
    None,
    Json(Value),
    /// A packet upload: summary, attestation, ZIP.
    Packet(String, String, Vec<u8>),
}

/// A definitive answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub replayed: bool,
    /// How many times the request was sent.
    pub attempts: u32,
}

impl Reply {
    pub fn id(&self, pointer: &str) -> Uuid {
        self.body
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no {pointer} in {}", self.body))
            .parse()
            .unwrap()
    }
}

#[derive(Debug, Default)]
pub struct Stats {
    /// Requests sent more than once.
    pub retried: AtomicU64,
    /// Retried requests that came back as replays (their first attempt had committed).
    pub replays: AtomicU64,
    /// Attempts that got no answer or a 5xx/429.
    pub failed_attempts: AtomicU64,
    /// Successful mutation answers discarded on purpose (each must come back replayed).
    pub lost_on_purpose: AtomicU64,
}

pub struct Client {
    http: reqwest::Client,
    servers: Vec<String>,
    next: AtomicUsize,
    /// Decides which answers are lost, and with what probability (per mille).
    loss: Mutex<(Rng, u64)>,
    pub stats: Stats,
}

impl Client {
    /// A client of `servers` that loses `loss_per_mille` of the successful mutation
    /// answers, drawn from `seed`.
    pub fn new(servers: Vec<String>, seed: u64, loss_per_mille: u64) -> Client {
        assert!(!servers.is_empty());
        Client {
            loss: Mutex::new((Rng::new(seed), loss_per_mille)),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .pool_max_idle_per_host(0)
                .build()
                .unwrap(),
            servers,
            next: AtomicUsize::new(0),
            stats: Stats::default(),
        }
    }

    /// Sends `method path` as `who` until a definitive answer; panics past the deadline.
    pub async fn call(&self, method: Method, path: &str, who: &Who, body: Body) -> Reply {
        let key = Uuid::now_v7();
        let began = Instant::now();
        let mut attempts = 0;
        let mut last: String;
        // The answer discarded on purpose, which the retry must replay exactly.
        let mut lost: Option<(u16, Value)> = None;
        loop {
            attempts += 1;
            let server =
                &self.servers[self.next.fetch_add(1, Ordering::Relaxed) % self.servers.len()];
            let mut request = self
                .http
                .request(method.clone(), format!("{server}/api/v1{path}"))
                .bearer_auth(who.token());
            if method != Method::GET {
                request = request.header("idempotency-key", key.to_string());
            }
            request = match &body {
                Body::None => request,
                Body::Json(value) => request.json(value),
                Body::Packet(summary, attestation, zip) => request.multipart(
                    reqwest::multipart::Form::new()
                        .text("summary", summary.clone())
                        .text("attestation", attestation.clone())
                        .part(
                            "packet",
                            reqwest::multipart::Part::bytes(zip.clone()).file_name("packet.zip"),
                        ),
                ),
            };
            match request.send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let replayed = response.headers().contains_key("idempotency-replayed");
                    match response.text().await {
                        Ok(text) if status < 500 && status != 429 => {
                            let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                            if let Some((lost_status, lost_body)) = &lost {
                                assert!(
                                    replayed && status == *lost_status && body == *lost_body,
                                    "{method} {path}: the answer of a committed attempt was lost \
                                     ({lost_status} {lost_body}); the retry must replay it, \
                                     but answered {status} (replayed: {replayed}) {body}"
                                );
                            } else if method != Method::GET
                                && (200..300).contains(&status)
                                && self.lose()
                            {
                                self.stats.lost_on_purpose.fetch_add(1, Ordering::Relaxed);
                                lost = Some((status, body));
                                continue;
                            }
                            if attempts > 1 {
                                self.stats.retried.fetch_add(1, Ordering::Relaxed);
                                if replayed {
                                    self.stats.replays.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                            return Reply {
                                status,
                                body,
                                replayed,
                                attempts,
                            };
                        }
                        Ok(text) => last = format!("{status} {text}"),
                        Err(err) => last = format!("{status}, body lost: {err}"),
                    }
                }
                Err(err) => last = format!("no answer: {err}"),
            }
            self.stats.failed_attempts.fetch_add(1, Ordering::Relaxed);
            assert!(
                began.elapsed() < REQUEST_DEADLINE,
                "{method} {path}: no definitive answer after {attempts} attempts in {:?}; last: {last}",
                began.elapsed()
            );
            tokio::time::sleep(Duration::from_millis(50 + 50 * u64::from(attempts.min(10)))).await;
        }
    }

    fn lose(&self) -> bool {
        let mut loss = self.loss.lock().unwrap();
        let per_mille = loss.1;
        loss.0.next() % 1000 < per_mille
    }

    pub async fn get(&self, path: &str, who: &Who) -> Reply {
        self.call(Method::GET, path, who, Body::None).await
    }

    pub async fn post(&self, path: &str, who: &Who, body: Value) -> Reply {
        self.call(Method::POST, path, who, Body::Json(body)).await
    }

    pub async fn put(&self, path: &str, who: &Who, body: Value) -> Reply {
        self.call(Method::PUT, path, who, Body::Json(body)).await
    }
}

/// Asserts a success status and returns the reply.
#[track_caller]
pub fn expect(reply: Reply, status: u16, what: &str) -> Reply {
    assert_eq!(reply.status, status, "{what}: {}", reply.body);
    reply
}
