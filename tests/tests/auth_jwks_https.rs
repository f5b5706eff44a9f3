//! Production mode over the network: the JWKS fetched over HTTPS and token introspection,
//! against a small identity-provider stand-in running in the test (real TCP, real TLS
//! with rustls, hand-written HTTP/1.1 so each answer can misbehave on purpose). Its
//! certificate is signed by the throwaway CA in `tests/fixtures/tls`, which the verifier
//! trusts through `ca_file` (`WORKSTREAM_TOKEN_*_CA_FILE`). The provider counts the
//! requests it gets, so the tests can check how often the API calls it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use workstream_api::auth::Verifier;
use workstream_api::auth::introspection::{IntrospectionConfig, IntrospectionMode};
use workstream_api::auth::jwks::JwksConfig;
use workstream_e2e::TestServer;

const ISSUER: &str = "https://id.example.com";
const CLIENT_ID: &str = "workstream-api";
const CLIENT_SECRET: &str = "introspection-secret";

// ---------------------------------------------------------------------------------
// The identity provider stand-in.

/// One canned answer.
#[derive(Clone)]
enum Reply {
    /// A status, extra headers and a body with `Content-Length`.
    Plain {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// 200 with this body sent in 16 KiB chunks, without `Content-Length`.
    Chunked(Vec<u8>),
    /// 200 and chunks that never end (until the client hangs up).
    Endless,
    /// Reads the request and never answers.
    Hang,
}

impl Reply {
    fn json(value: &Value) -> Reply {
        Reply::Plain {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: serde_json::to_vec(value).unwrap(),
        }
    }

    fn status(status: u16) -> Reply {
        Reply::Plain {
            status,
            headers: vec![],
            body: b"{}".to_vec(),
        }
    }
}

/// A request as the provider saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    headers: HashMap<String, String>,
    body: String,
}

#[derive(Default)]
struct IdpState {
    replies: Mutex<HashMap<String, Reply>>,
    hits: Mutex<HashMap<String, usize>>,
    last: Mutex<HashMap<String, Seen>>,
}

/// An HTTPS server on `127.0.0.1`, answering each path with its [`Reply`].
struct Idp {
    base: String,
    state: Arc<IdpState>,
    accept_loop: tokio::task::JoinHandle<()>,
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

fn ca_file() -> PathBuf {
    fixture("tls/ca.pem")
}

impl Idp {
    async fn start() -> Idp {
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(fixture("tls/server.pem"))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
        let key = PrivateKeyDer::from_pem_file(fixture("tls/server.key")).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("https://{}", listener.local_addr().unwrap());
        let state = Arc::new(IdpState::default());
        let shared = state.clone();
        let accept_loop = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                let state = shared.clone();
                tokio::spawn(async move {
                    if let Ok(tls) = acceptor.accept(tcp).await {
                        let _ = answer(tls, &state).await;
                    }
                });
            }
        });
        Idp {
            base,
            state,
            accept_loop,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn reply(&self, path: &str, reply: Reply) {
        self.state
            .replies
            .lock()
            .unwrap()
            .insert(path.to_owned(), reply);
    }

    fn hits(&self, path: &str) -> usize {
        self.state
            .hits
            .lock()
            .unwrap()
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    fn last(&self, path: &str) -> Seen {
        self.state.last.lock().unwrap()[path].clone()
    }

    /// Stops listening: new connections are refused.
    async fn stop(self) {
        self.accept_loop.abort();
        let _ = self.accept_loop.await;
    }
}

/// Reads one request, records it, writes the path's reply and closes.
async fn answer<S>(mut stream: S, state: &IdpState) -> std::io::Result<()>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 || buffer.len() > 65_536 {
            return Ok(());
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_owned();
    let path = request_line.next().unwrap_or_default().to_owned();
    let headers: HashMap<String, String> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buffer[head_end..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    *state.hits.lock().unwrap().entry(path.clone()).or_default() += 1;
    state.last.lock().unwrap().insert(
        path.clone(),
        Seen {
            method,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        },
    );
    let reply = state
        .replies
        .lock()
        .unwrap()
        .get(&path)
        .cloned()
        .unwrap_or(Reply::status(404));
    match reply {
        Reply::Plain {
            status,
            headers,
            body,
        } => {
            let mut head = format!(
                "HTTP/1.1 {status} Whatever\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (name, value) in headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str("\r\n");
            stream.write_all(head.as_bytes()).await?;
            stream.write_all(&body).await?;
        }
        Reply::Chunked(body) => {
            stream.write_all(CHUNKED_HEAD).await?;
            for piece in body.chunks(16_384) {
                write_chunk(&mut stream, piece).await?;
            }
            stream.write_all(b"0\r\n\r\n").await?;
        }
        Reply::Endless => {
            stream.write_all(CHUNKED_HEAD).await?;
            let piece = vec![b' '; 16_384];
            // 1 GiB at most, should the client never hang up.
            for _ in 0..65_536 {
                write_chunk(&mut stream, &piece).await?;
            }
        }
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(120)).await;
        }
    }
    stream.flush().await?;
    stream.shutdown().await
}

const CHUNKED_HEAD: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
    Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";

async fn write_chunk<S: tokio::io::AsyncWrite + Unpin>(
    stream: &mut S,
    piece: &[u8],
) -> std::io::Result<()> {
    stream
        .write_all(format!("{:x}\r\n", piece.len()).as_bytes())
        .await?;
    stream.write_all(piece).await?;
    stream.write_all(b"\r\n").await
}

// ---------------------------------------------------------------------------------
// Keys, tokens and the API server.

fn rsa() -> EncodingKey {
    EncodingKey::from_rsa_pem(&std::fs::read(fixture("keys/rsa2048.pem")).unwrap()).unwrap()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn claims(jti: &str) -> Value {
    json!({
        "iss": ISSUER, "aud": "workstream", "sub": "carol", "jti": jti,
        "subject_kind": "human", "scope": "workstream:access",
        "iat": now(), "exp": now() + 600,
    })
}

fn sign(kid: &str, jti: &str) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, &claims(jti), &rsa()).unwrap()
}

/// A JWKS document publishing the test key under each of `kids`.
fn jwks(kids: &[&str]) -> Value {
    let keys = kids
        .iter()
        .map(|kid| {
            let mut jwk = Jwk::from_encoding_key(&rsa(), Algorithm::RS256).unwrap();
            jwk.common.key_id = Some((*kid).to_owned());
            jwk
        })
        .collect();
    serde_json::to_value(JwkSet { keys }).unwrap()
}

/// The verifier's settings for a JWKS at `url`, trusting the test CA, with short
/// timeouts.
fn config(url: &str) -> JwksConfig {
    let mut config = JwksConfig::new(
        ISSUER,
        "workstream",
        "RS256",
        url,
        Duration::from_secs(300),
        Duration::from_secs(30),
    )
    .unwrap();
    config.network.ca_file = Some(ca_file());
    config.network.read_timeout = Duration::from_secs(1);
    config.network.total_timeout = Duration::from_secs(2);
    config
}

fn no_introspection() -> IntrospectionMode {
    IntrospectionMode::disabled("these tests are about the keys").unwrap()
}

async fn server(config: JwksConfig) -> TestServer {
    TestServer::start_with(Verifier::jwks(config, no_introspection()).unwrap()).await
}

async fn get_me(server: &TestServer, token: &str) -> (u16, Value) {
    let response = server
        .client
        .get(server.url("/api/v1/actors/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn accepted(server: &TestServer, token: &str) {
    let (status, body) = get_me(server, token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["actor_kind"], "human", "{body}");
}

async fn refused(server: &TestServer, token: &str, reason: &str) {
    let (status, body) = get_me(server, token).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "invalid_token", "{body}");
    assert_eq!(body["error"]["details"]["reason"], reason, "{body}");
}

async fn unavailable(server: &TestServer, token: &str) {
    let (status, body) = get_me(server, token).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        body["error"]["code"], "identity_verification_unavailable",
        "{body}"
    );
    assert_eq!(body["error"]["retryable"], true, "{body}");
}

// ---------------------------------------------------------------------------------
// JWKS over HTTPS.

#[tokio::test]
async fn a_token_verifies_against_keys_fetched_over_https() {
    let idp = Idp::start().await;
    idp.reply("/jwks", Reply::json(&jwks(&["k1"])));
    let api = server(config(&idp.url("/jwks"))).await;
    // Fetched on first use, not at startup.
    assert_eq!(idp.hits("/jwks"), 0);
    accepted(&api, &sign("k1", "j-1")).await;
    accepted(&api, &sign("k1", "j-2")).await;
    assert_eq!(idp.hits("/jwks"), 1, "the keys are cached");
    let seen = idp.last("/jwks");
    assert_eq!(seen.method, "GET");
    assert!(seen.headers["accept"].contains("json"), "{seen:?}");

    // Without the test CA the provider's certificate is not trusted: unavailable, and
    // nothing is accepted.
    let mut untrusted = config(&idp.url("/jwks"));
    untrusted.network.ca_file = None;
    let api = server(untrusted).await;
    unavailable(&api, &sign("k1", "j-3")).await;
    assert_eq!(idp.hits("/jwks"), 1, "the TLS handshake failed first");
}

#[tokio::test]
async fn a_rotated_key_is_found_with_one_refresh() {
    let idp = Idp::start().await;
    idp.reply("/jwks", Reply::json(&jwks(&["old"])));
    let api = server(config(&idp.url("/jwks"))).await;
    accepted(&api, &sign("old", "j-1")).await;
    assert_eq!(idp.hits("/jwks"), 1);
    // The provider starts signing with a new key.
    idp.reply("/jwks", Reply::json(&jwks(&["old", "new"])));
    accepted(&api, &sign("new", "j-2")).await;
    assert_eq!(idp.hits("/jwks"), 2, "one refresh for the new kid");
    accepted(&api, &sign("new", "j-3")).await;
    accepted(&api, &sign("old", "j-4")).await;
    assert_eq!(idp.hits("/jwks"), 2);
}

#[tokio::test]
async fn an_unknown_kid_flood_costs_one_fetch_per_window() {
    let idp = Idp::start().await;
    idp.reply("/jwks", Reply::json(&jwks(&["real"])));
    // The default window of 30 s: long enough for the flood on a loaded machine.
    let api = Arc::new(server(config(&idp.url("/jwks"))).await);
    accepted(&api, &sign("real", "j-0")).await;
    assert_eq!(idp.hits("/jwks"), 1);

    // 40 concurrent requests with made-up kids, half of them repeated.
    let mut flood = tokio::task::JoinSet::new();
    for i in 0..40 {
        let api = api.clone();
        flood.spawn(async move {
            let kid = format!("made-up-{}", i % 20);
            get_me(&api, &sign(&kid, &format!("f-{i}"))).await
        });
    }
    while let Some(result) = flood.join_next().await {
        let (status, body) = result.unwrap();
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["error"]["details"]["reason"], "unknown_kid", "{body}");
    }
    assert_eq!(idp.hits("/jwks"), 2, "one refresh for the whole flood");
    // The real key keeps working, from the cache.
    accepted(&api, &sign("real", "j-1")).await;
    assert_eq!(idp.hits("/jwks"), 2);

    // With a window of 1 s: once it has passed, an unknown kid refreshes again.
    let mut settings = config(&idp.url("/jwks"));
    settings.unknown_kid_ttl = Duration::from_secs(1);
    let api = server(settings).await;
    accepted(&api, &sign("real", "j-2")).await;
    refused(&api, &sign("made-up-a", "j-3"), "unknown_kid").await;
    assert_eq!(idp.hits("/jwks"), 4);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    refused(&api, &sign("made-up-b", "j-4"), "unknown_kid").await;
    assert_eq!(idp.hits("/jwks"), 5);
}

#[tokio::test]
async fn an_unreachable_jwks_is_503_never_permissive() {
    let idp = Idp::start().await;
    idp.reply("/jwks", Reply::json(&jwks(&["k1"])));
    let api = server(config(&idp.url("/jwks"))).await;
    accepted(&api, &sign("k1", "j-1")).await;
    idp.stop().await;
    // A new kid needs a refresh, which cannot happen.
    unavailable(&api, &sign("k2", "j-2")).await;

    // A server that has never reached its provider.
    let gone = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}/jwks", gone.local_addr().unwrap());
    drop(gone);
    let api = server(config(&url)).await;
    unavailable(&api, &sign("k1", "j-3")).await;
}

/// Starts a provider answering `/jwks` with `reply` and an API server using it, and
/// checks that a token signed with the published key is answered 503.
async fn unavailable_when(reply: Reply, total_timeout: Duration) -> (Idp, Duration) {
    let idp = Idp::start().await;
    idp.reply("/jwks", reply);
    // The same key, valid, at another path: a redirect target.
    idp.reply("/jwks-moved", Reply::json(&jwks(&["k1"])));
    let mut settings = config(&idp.url("/jwks"));
    settings.network.total_timeout = total_timeout;
    let api = server(settings).await;
    let started = Instant::now();
    unavailable(&api, &sign("k1", "j-1")).await;
    let took = started.elapsed();
    assert_eq!(idp.hits("/jwks"), 1);
    (idp, took)
}

/// A valid JWKS publishing `k1`, padded to `size` bytes.
fn padded_jwks(size: usize) -> Vec<u8> {
    let mut document = jwks(&["k1"]);
    let bare = serde_json::to_vec(&document).unwrap().len();
    document["padding"] = json!(" ".repeat(size - bare - 14));
    let body = serde_json::to_vec(&document).unwrap();
    assert!(
        body.len() >= size - 2 && body.len() <= size + 2,
        "{}",
        body.len()
    );
    body
}

#[tokio::test]
async fn bad_answers_from_the_jwks_endpoint_are_503() {
    let second = Duration::from_secs(2);
    // The cap is 262144 bytes; 300000 bytes of an otherwise valid document.
    let oversized = padded_jwks(300_000);
    assert!(
        serde_json::from_slice::<Value>(&oversized).is_ok(),
        "valid apart from its size"
    );
    unavailable_when(
        Reply::Plain {
            status: 200,
            headers: vec![],
            body: oversized.clone(),
        },
        second,
    )
    .await;
    // The same without Content-Length: caught while streaming.
    unavailable_when(Reply::Chunked(oversized), second).await;
    // A body that never ends is cut at the cap, long before the total timeout.
    let (_, took) = unavailable_when(Reply::Endless, Duration::from_secs(30)).await;
    assert!(took < Duration::from_secs(10), "took {took:?}");

    // A redirect is not followed, even to a valid document on the same host.
    let (idp, _) = unavailable_when(
        Reply::Plain {
            status: 302,
            headers: vec![("Location".into(), "/jwks-moved".into())],
            body: vec![],
        },
        second,
    )
    .await;
    assert_eq!(idp.hits("/jwks-moved"), 0, "redirect followed");

    unavailable_when(Reply::status(500), second).await;
    unavailable_when(Reply::status(404), second).await;
    unavailable_when(
        Reply::Plain {
            status: 200,
            headers: vec![],
            body: b"{\"keys\": [".to_vec(),
        },
        second,
    )
    .await;
    unavailable_when(Reply::json(&json!({"no": "keys"})), second).await;
    // No answer at all: the timeout makes it unavailable.
    let (_, took) = unavailable_when(Reply::Hang, second).await;
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[tokio::test]
async fn a_document_just_under_the_cap_is_accepted() {
    let idp = Idp::start().await;
    idp.reply("/jwks", Reply::Chunked(padded_jwks(260_000)));
    let api = server(config(&idp.url("/jwks"))).await;
    accepted(&api, &sign("k1", "j-1")).await;
}

// ---------------------------------------------------------------------------------
// Introspection.

fn introspection(idp: &Idp) -> IntrospectionConfig {
    let mut config =
        IntrospectionConfig::new(&idp.url("/introspect"), CLIENT_ID, CLIENT_SECRET).unwrap();
    config.network.ca_file = Some(ca_file());
    config.network.read_timeout = Duration::from_secs(1);
    config.network.total_timeout = Duration::from_secs(2);
    config
}

fn active(jti: &str) -> Reply {
    Reply::json(&json!({
        "active": true, "iss": ISSUER, "sub": "carol", "aud": ["workstream"], "jti": jti,
        "scope": "workstream:access", "token_type": "Bearer",
    }))
}

#[tokio::test]
async fn introspection_decides_after_the_signature() {
    let keys = Idp::start().await;
    keys.reply("/jwks", Reply::json(&jwks(&["k1"])));
    // The introspection endpoint on a provider of its own, so it can go down alone.
    let introspect = Idp::start().await;
    let verifier = Verifier::jwks(
        config(&keys.url("/jwks")),
        IntrospectionMode::required(introspection(&introspect)),
    )
    .unwrap();
    let api = TestServer::start_with(verifier).await;

    // Active and about this token: accepted.
    let token = sign("k1", "j-1");
    introspect.reply("/introspect", active("j-1"));
    accepted(&api, &token).await;
    assert_eq!(introspect.hits("/introspect"), 1);
    let seen = introspect.last("/introspect");
    assert_eq!(seen.method, "POST");
    use base64::Engine as _;
    let credentials =
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    assert_eq!(
        seen.headers["authorization"],
        format!("Basic {credentials}")
    );
    assert_eq!(
        seen.headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert_eq!(seen.body, format!("token={token}"));

    // Not active (revoked): refused.
    introspect.reply("/introspect", Reply::json(&json!({"active": false})));
    refused(&api, &token, "introspection_inactive").await;
    // Active, but about another token.
    introspect.reply("/introspect", active("j-other"));
    refused(&api, &token, "introspection_mismatch").await;
    // Active, but not for our audience.
    introspect.reply(
        "/introspect",
        Reply::json(&json!({
            "active": true, "iss": ISSUER, "sub": "carol", "aud": "someone-else", "jti": "j-1",
        })),
    );
    refused(&api, &token, "introspection_mismatch").await;

    // A token that fails locally is never sent to the provider.
    let before = introspect.hits("/introspect");
    let parts: Vec<&str> = token.split('.').collect();
    refused(
        &api,
        &format!("{}.{}.{}A", parts[0], parts[1], &parts[2][1..]),
        "invalid_signature",
    )
    .await;
    assert_eq!(introspect.hits("/introspect"), before);

    // The endpoint misbehaves: unavailable, not accepted.
    introspect.reply("/introspect", Reply::status(500));
    unavailable(&api, &token).await;
    introspect.reply("/introspect", Reply::Hang);
    unavailable(&api, &token).await;
    introspect.reply(
        "/introspect",
        Reply::Plain {
            status: 200,
            headers: vec![],
            body: vec![b' '; 70_000],
        },
    );
    unavailable(&api, &token).await;
    // The endpoint is down.
    introspect.reply("/introspect", active("j-1"));
    accepted(&api, &token).await;
    introspect.stop().await;
    unavailable(&api, &token).await;
}

// ---------------------------------------------------------------------------------
// Configuration.

#[tokio::test]
async fn network_configuration_is_strict() {
    let idp = Idp::start().await;
    let jwks_url = idp.url("/jwks");
    let jwks_config = |location: &str| {
        JwksConfig::new(
            ISSUER,
            "workstream",
            "RS256",
            location,
            Duration::from_secs(300),
            Duration::from_secs(30),
        )
    };
    assert!(jwks_config(&jwks_url).is_ok());
    let plain = jwks_config("http://127.0.0.1:1/jwks").unwrap_err();
    assert!(plain.0.contains("https"), "{}", plain.0);
    assert!(jwks_config("https://user:pw@id.example.com/jwks").is_err());

    // The introspection endpoint must differ from the JWKS URL.
    let same = IntrospectionConfig::new(&jwks_url, CLIENT_ID, CLIENT_SECRET).unwrap();
    let refused = Verifier::jwks(config(&jwks_url), IntrospectionMode::required(same))
        .expect_err("introspection at the JWKS URL");
    assert!(refused.0.contains("differ"), "{}", refused.0);
    assert!(
        IntrospectionConfig::new("http://127.0.0.1:1/introspect", CLIENT_ID, CLIENT_SECRET)
            .is_err(),
        "plain http introspection"
    );
    assert!(
        IntrospectionMode::disabled("").is_err(),
        "a reason is required"
    );
    assert!(
        Verifier::jwks(
            config(&jwks_url),
            IntrospectionMode::required(introspection(&idp))
        )
        .is_ok()
    );

    // A CA file that is missing or holds no certificate stops startup.
    let mut missing = config(&jwks_url);
    missing.network.ca_file = Some("/nonexistent/ca.pem".into());
    assert!(Verifier::jwks(missing, no_introspection()).is_err());
    let mut not_pem = config(&jwks_url);
    not_pem.network.ca_file = Some(fixture("tls/README.md"));
    assert!(Verifier::jwks(not_pem, no_introspection()).is_err());
}
