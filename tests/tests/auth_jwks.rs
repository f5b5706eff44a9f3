//! Production mode: RS256/ES256/EdDSA tokens verified against keys from a JWKS file
//! (the HTTPS source and introspection are in `auth_jwks_https.rs`),
//! with a pinned algorithm list of one key family. Keys are throwaway fixtures under
//! `tests/fixtures/keys`; the JWKS document is derived from them in each test.

use std::path::Path;
use std::time::Duration;

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use workstream_api::auth::Verifier;
use workstream_api::auth::introspection::IntrospectionMode;
use workstream_api::auth::jwks::JwksConfig;
use workstream_e2e::TestServer;

const ISSUER: &str = "https://id.example.com";

fn key_file(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/keys")
            .join(name),
    )
    .unwrap()
}

fn rsa() -> EncodingKey {
    EncodingKey::from_rsa_pem(&key_file("rsa2048.pem")).unwrap()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn claims() -> Value {
    json!({
        "iss": ISSUER, "aud": "workstream", "sub": "carol", "jti": "j-1",
        "subject_kind": "human", "scope": "workstream:access",
        "iat": now(), "exp": now() + 600,
    })
}

fn jwk(key: &EncodingKey, alg: Algorithm, kid: &str) -> Jwk {
    let mut jwk = Jwk::from_encoding_key(key, alg).unwrap();
    jwk.common.key_id = Some(kid.to_owned());
    jwk
}

fn write_jwks(path: &Path, keys: Vec<Jwk>) {
    std::fs::write(path, serde_json::to_vec(&JwkSet { keys }).unwrap()).unwrap();
}

fn sign(key: &EncodingKey, alg: Algorithm, kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

fn no_introspection() -> IntrospectionMode {
    IntrospectionMode::disabled("file-based key tests").unwrap()
}

async fn server(algorithms: &str, jwks: &Path) -> TestServer {
    server_with(algorithms, jwks, Duration::from_secs(30)).await
}

async fn server_with(algorithms: &str, jwks: &Path, unknown_kid_ttl: Duration) -> TestServer {
    let config = JwksConfig::new(
        ISSUER,
        "workstream",
        algorithms,
        jwks.to_str().unwrap(),
        Duration::from_secs(300),
        unknown_kid_ttl,
    )
    .unwrap();
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

async fn refused(server: &TestServer, token: &str, reason: &str) {
    let (status, body) = get_me(server, token).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "invalid_token");
    assert_eq!(body["error"]["details"]["reason"], reason, "{body}");
}

#[tokio::test]
async fn rs256_with_a_pinned_list_and_kid() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jwks.json");
    let small = EncodingKey::from_rsa_pem(&key_file("rsa1024.pem")).unwrap();
    write_jwks(
        &path,
        vec![
            jwk(&rsa(), Algorithm::RS256, "rsa-1"),
            // The same key published for RS384 only.
            jwk(&rsa(), Algorithm::RS384, "rsa-384"),
            // Too small: skipped when the document is read.
            jwk(&small, Algorithm::RS256, "rsa-small"),
        ],
    );
    let server = server("RS256,RS384", &path).await;

    let (status, body) = get_me(
        &server,
        &sign(&rsa(), Algorithm::RS256, Some("rsa-1"), &claims()),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["actor_kind"], "human");

    // HS256 is never accepted in this mode, whatever it is signed with.
    let hmac = EncodingKey::from_secret(b"a-secret-that-is-long-enough-for-hs256!!");
    refused(
        &server,
        &sign(&hmac, Algorithm::HS256, Some("rsa-1"), &claims()),
        "unsupported_algorithm",
    )
    .await;
    // alg none.
    let none = format!(
        "{}.{}.c2ln",
        b64(&json!({"alg": "none", "typ": "JWT", "kid": "rsa-1"})),
        b64(&claims())
    );
    refused(&server, &none, "unsupported_algorithm").await;
    // Not in the pinned list.
    refused(
        &server,
        &sign(&rsa(), Algorithm::RS512, Some("rsa-1"), &claims()),
        "unsupported_algorithm",
    )
    .await;
    // kid required.
    refused(
        &server,
        &sign(&rsa(), Algorithm::RS256, None, &claims()),
        "invalid_kid",
    )
    .await;
    refused(
        &server,
        &sign(&rsa(), Algorithm::RS256, Some(""), &claims()),
        "invalid_kid",
    )
    .await;
    refused(
        &server,
        &sign(&rsa(), Algorithm::RS256, Some(&"k".repeat(257)), &claims()),
        "invalid_kid",
    )
    .await;
    // Unknown kid, and the undersized key that was never loaded.
    refused(
        &server,
        &sign(&rsa(), Algorithm::RS256, Some("nobody"), &claims()),
        "unknown_kid",
    )
    .await;
    refused(
        &server,
        &sign(&small, Algorithm::RS256, Some("rsa-small"), &claims()),
        "unknown_kid",
    )
    .await;
    // The JWK's alg must equal the token's.
    refused(
        &server,
        &sign(&rsa(), Algorithm::RS256, Some("rsa-384"), &claims()),
        "key_algorithm_mismatch",
    )
    .await;
    // Claim rules apply as in local mode.
    let mut local_issuer = claims();
    local_issuer["iss"] = json!("https://auth.flow.local");
    refused(
        &server,
        &sign(&rsa(), Algorithm::RS256, Some("rsa-1"), &local_issuer),
        "wrong_issuer",
    )
    .await;
    let mut expired = claims();
    expired["exp"] = json!(now() - 60);
    refused(
        &server,
        &sign(&rsa(), Algorithm::RS256, Some("rsa-1"), &expired),
        "expired",
    )
    .await;
    // A tampered payload.
    let token = sign(&rsa(), Algorithm::RS256, Some("rsa-1"), &claims());
    let parts: Vec<&str> = token.split('.').collect();
    let mut forged = claims();
    forged["sub"] = json!("admin");
    refused(
        &server,
        &format!("{}.{}.{}", parts[0], b64(&forged), parts[2]),
        "invalid_signature",
    )
    .await;
    // jku in the header.
    let jku = format!(
        "{}.{}.{}",
        b64(&json!({"alg": "RS256", "typ": "JWT", "kid": "rsa-1", "jku": "https://evil.example"})),
        parts[1],
        parts[2]
    );
    refused(&server, &jku, "forbidden_header").await;
}

fn b64(value: &Value) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

#[tokio::test]
async fn es256_and_eddsa_verify_with_their_own_family_only() {
    let dir = tempfile::tempdir().unwrap();
    let ec = EncodingKey::from_ec_pem(&key_file("p256.pem")).unwrap();
    let ed = EncodingKey::from_ed_pem(&key_file("ed25519.pem")).unwrap();
    let path = dir.path().join("jwks.json");
    write_jwks(
        &path,
        vec![
            jwk(&ec, Algorithm::ES256, "ec-1"),
            jwk(&ed, Algorithm::EdDSA, "ed-1"),
            jwk(&rsa(), Algorithm::RS256, "rsa-1"),
        ],
    );
    let es = server("ES256", &path).await;
    let (status, body) = get_me(&es, &sign(&ec, Algorithm::ES256, Some("ec-1"), &claims())).await;
    assert_eq!(status, 200, "{body}");
    refused(
        &es,
        &sign(&ed, Algorithm::EdDSA, Some("ed-1"), &claims()),
        "unsupported_algorithm",
    )
    .await;
    refused(
        &es,
        &sign(&rsa(), Algorithm::RS256, Some("rsa-1"), &claims()),
        "unsupported_algorithm",
    )
    .await;

    let eddsa = server("EdDSA", &path).await;
    let (status, body) = get_me(
        &eddsa,
        &sign(&ed, Algorithm::EdDSA, Some("ed-1"), &claims()),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    refused(
        &eddsa,
        &sign(&ec, Algorithm::ES256, Some("ec-1"), &claims()),
        "unsupported_algorithm",
    )
    .await;
}

#[tokio::test]
async fn an_unknown_kid_rereads_the_file_and_a_missing_file_is_503() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jwks.json");
    write_jwks(&path, vec![jwk(&rsa(), Algorithm::RS256, "old")]);
    // No unknown-kid window, so that the second unknown kid below re-reads the file too
    // (the window is covered in auth_jwks_https).
    let server = server_with("RS256", &path, Duration::ZERO).await;
    // Rotation: the new kid appears in the file after startup.
    write_jwks(&path, vec![jwk(&rsa(), Algorithm::RS256, "new")]);
    let (status, body) = get_me(
        &server,
        &sign(&rsa(), Algorithm::RS256, Some("new"), &claims()),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // The key source disappears: verification is unavailable, not permissive.
    std::fs::remove_file(&path).unwrap();
    let (status, body) = get_me(
        &server,
        &sign(&rsa(), Algorithm::RS256, Some("newer"), &claims()),
    )
    .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "identity_verification_unavailable");
    assert_eq!(body["error"]["retryable"], true);
}

#[test]
fn production_configuration_is_strict() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jwks.json");
    write_jwks(&path, vec![jwk(&rsa(), Algorithm::RS256, "k")]);
    let file = path.to_str().unwrap();
    let config = |issuer: &str, algorithms: &str, location: &str| {
        JwksConfig::new(
            issuer,
            "workstream",
            algorithms,
            location,
            Duration::from_secs(300),
            Duration::from_secs(30),
        )
    };
    assert!(config(ISSUER, "RS256", file).is_ok());
    assert!(config(ISSUER, "RS256", &format!("file://{file}")).is_ok());
    assert!(
        config(ISSUER, "RS256,ES256", file).is_err(),
        "two key families"
    );
    assert!(config(ISSUER, "HS256", file).is_err(), "symmetric");
    assert!(config(ISSUER, "RS256,RS256", file).is_err(), "duplicate");
    assert!(
        config("https://auth.flow.local", "RS256", file).is_err(),
        "placeholder issuer"
    );
    assert!(
        config("http://id.example.com", "RS256", file).is_err(),
        "plain http issuer"
    );
    assert!(
        config(ISSUER, "RS256", "https://id.example.com/jwks").is_ok(),
        "JWKS over https"
    );
    assert!(
        config(ISSUER, "RS256", "http://id.example.com/jwks").is_err(),
        "JWKS over plain http"
    );
    let missing = config(ISSUER, "RS256", "/nonexistent/jwks.json").unwrap();
    assert!(
        Verifier::jwks(missing, no_introspection()).is_err(),
        "an unreadable JWKS stops startup"
    );
}
