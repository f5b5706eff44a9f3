//! Forged tokens against the production (JWKS) verifier: the cases `auth_jwks.rs` and
//! `auth_tokens.rs` (local mode, every claim rule) do not already cover, each refused
//! with 401 `invalid_token` and the exact rule in `details.reason`, and none leaving a
//! row behind.
//!
//! The server pins RS256 and reads a JWKS file holding two RSA keys (`rsa-1`,
//! `rsa-2`), an EC key published for ES256 (not pinned, so never loaded) and an `oct`
//! key carrying the RSA public key as an HMAC secret (ignored: symmetric keys are never
//! used). The forgeries: `alg: none` (unsigned, and spelled otherwise), key confusion
//! (HS256/384/512 keyed with the RSA public key, by its PEM or DER bytes, naming the RSA
//! kid or the `oct` one), a kid that names another key, a kid that names the unpinned
//! EC key or the `oct` key, a flipped, truncated or transplanted signature, the payload
//! of one token with another's signature, wrong audience, not yet valid, issued in the
//! future, expired just past the skew, and oversized tokens and headers.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
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

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

/// Valid claims with `overrides` applied (a null removes the claim).
fn claims(overrides: Value) -> Value {
    let mut base = json!({
        "iss": ISSUER, "aud": "workstream", "sub": "mallory", "jti": "forged-1",
        "subject_kind": "human", "scope": "workstream:access",
        "iat": now(), "exp": now() + 600,
    });
    for (name, value) in overrides.as_object().unwrap() {
        if value.is_null() {
            base.as_object_mut().unwrap().remove(name);
        } else {
            base[name] = value.clone();
        }
    }
    base
}

fn rsa() -> EncodingKey {
    EncodingKey::from_rsa_pem(&key_file("rsa2048.pem")).unwrap()
}

fn rs256(kid: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &rsa()).unwrap()
}

/// `header.claims` signed with HMAC (`alg`) keyed with `secret`, whatever the header says.
fn hmac(alg: Algorithm, header: Value, claims: &Value, secret: &[u8]) -> String {
    let input = format!("{}.{}", b64(&header), b64(claims));
    let signature =
        jsonwebtoken::crypto::sign(input.as_bytes(), &EncodingKey::from_secret(secret), alg)
            .unwrap();
    format!("{input}.{signature}")
}

fn jwk(key: &EncodingKey, alg: Algorithm, kid: &str) -> Value {
    let mut jwk = Jwk::from_encoding_key(key, alg).unwrap();
    jwk.common.key_id = Some(kid.to_owned());
    serde_json::to_value(jwk).unwrap()
}

/// The RSA public key's DER bytes (the PEM's base64 body).
fn public_der(pem: &[u8]) -> Vec<u8> {
    let text = std::str::from_utf8(pem).unwrap();
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(body).unwrap()
}

async fn server(dir: &Path) -> TestServer {
    let public_pem = key_file("rsa2048.pub.pem");
    let second = EncodingKey::from_rsa_pem(&key_file("rsa2048-second.pem")).unwrap();
    let ec = EncodingKey::from_ec_pem(&key_file("p256.pem")).unwrap();
    let keys: Vec<Value> = vec![
        jwk(&rsa(), Algorithm::RS256, "rsa-1"),
        jwk(&second, Algorithm::RS256, "rsa-2"),
        jwk(&ec, Algorithm::ES256, "ec-1"),
        json!({"kty": "oct", "kid": "hmac-1", "alg": "HS256", "k": URL_SAFE_NO_PAD.encode(&public_pem)}),
    ];
    // The document parses as a JWKS with all four keys (the oct key is valid JSON Web Key).
    let document = json!({ "keys": keys });
    serde_json::from_value::<JwkSet>(document.clone()).expect("a well-formed JWKS");
    let path = dir.join("jwks.json");
    std::fs::write(&path, serde_json::to_vec(&document).unwrap()).unwrap();
    let config = JwksConfig::new(
        ISSUER,
        "workstream",
        "RS256",
        path.to_str().unwrap(),
        std::time::Duration::from_secs(300),
        std::time::Duration::from_secs(30),
    )
    .unwrap();
    let introspection = IntrospectionMode::disabled("file-based key tests").unwrap();
    TestServer::start_with(Verifier::jwks(config, introspection).unwrap()).await
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

fn replace_signature(token: &str, signature: &str) -> String {
    let (input, _) = token.rsplit_once('.').unwrap();
    format!("{input}.{signature}")
}

#[tokio::test]
async fn forged_tokens_are_refused_with_their_rule() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path()).await;
    let public_pem = key_file("rsa2048.pub.pem");
    let public_der = public_der(&public_pem);
    let second = EncodingKey::from_rsa_pem(&key_file("rsa2048-second.pem")).unwrap();

    // The genuine token verifies: every refusal below is the forgery's doing.
    let genuine = rs256("rsa-1", &claims(json!({"sub": "genuine"})));
    let (status, body) = get_me(&server, &genuine).await;
    assert_eq!(status, 200, "{body}");
    let other = rs256("rsa-1", &claims(json!({"sub": "other", "jti": "forged-2"})));
    let genuine_signature = genuine.rsplit('.').next().unwrap().to_owned();
    let rs_header = json!({"alg": "RS256", "typ": "JWT", "kid": "rsa-1"});
    let hs = |alg: Algorithm, name: &str, kid: &str, secret: &[u8]| {
        hmac(
            alg,
            json!({"alg": name, "typ": "JWT", "kid": kid}),
            &claims(json!({})),
            secret,
        )
    };

    let cases: Vec<(&str, String, &str)> = vec![
        // alg none: no signature at all is not even a JWS; any spelling is refused.
        (
            "alg none, unsigned",
            format!(
                "{}.{}.",
                b64(&json!({"alg": "none", "kid": "rsa-1"})),
                b64(&claims(json!({})))
            ),
            "malformed_token",
        ),
        (
            "alg None",
            format!(
                "{}.{}.c2ln",
                b64(&json!({"alg": "None", "kid": "rsa-1"})),
                b64(&claims(json!({})))
            ),
            "unsupported_algorithm",
        ),
        (
            "alg NONE",
            format!(
                "{}.{}.c2ln",
                b64(&json!({"alg": "NONE", "kid": "rsa-1"})),
                b64(&claims(json!({})))
            ),
            "unsupported_algorithm",
        ),
        (
            "no alg",
            format!(
                "{}.{}.c2ln",
                b64(&json!({"kid": "rsa-1"})),
                b64(&claims(json!({})))
            ),
            "unsupported_algorithm",
        ),
        // Key confusion: the RSA public key used as an HMAC secret.
        (
            "HS256 keyed with the RSA public PEM",
            hs(Algorithm::HS256, "HS256", "rsa-1", &public_pem),
            "unsupported_algorithm",
        ),
        (
            "HS256 keyed with the RSA public DER",
            hs(Algorithm::HS256, "HS256", "rsa-1", &public_der),
            "unsupported_algorithm",
        ),
        (
            "HS384 keyed with the RSA public PEM",
            hs(Algorithm::HS384, "HS384", "rsa-1", &public_pem),
            "unsupported_algorithm",
        ),
        (
            "HS512 keyed with the RSA public PEM",
            hs(Algorithm::HS512, "HS512", "rsa-1", &public_pem),
            "unsupported_algorithm",
        ),
        (
            "HS256 naming the oct key",
            hs(Algorithm::HS256, "HS256", "hmac-1", &public_pem),
            "unsupported_algorithm",
        ),
        (
            "RS256 header, HMAC signature with the public PEM",
            hmac(
                Algorithm::HS256,
                rs_header.clone(),
                &claims(json!({})),
                &public_pem,
            ),
            "invalid_signature",
        ),
        // The kid names another key, or one that is never loaded.
        (
            "kid of the second RSA key",
            rs256("rsa-2", &claims(json!({}))),
            "invalid_signature",
        ),
        (
            "signed by the second key, kid of the first",
            {
                let mut header = Header::new(Algorithm::RS256);
                header.kid = Some("rsa-1".into());
                jsonwebtoken::encode(&header, &claims(json!({})), &second).unwrap()
            },
            "invalid_signature",
        ),
        (
            "kid of the unpinned EC key",
            rs256("ec-1", &claims(json!({}))),
            "unknown_kid",
        ),
        (
            "kid of the ignored oct key",
            rs256("hmac-1", &claims(json!({}))),
            "unknown_kid",
        ),
        // Signatures.
        (
            "flipped signature byte",
            {
                let mut bytes = URL_SAFE_NO_PAD.decode(&genuine_signature).unwrap();
                bytes[0] ^= 0x01;
                replace_signature(&genuine, &URL_SAFE_NO_PAD.encode(bytes))
            },
            "invalid_signature",
        ),
        (
            "truncated signature",
            replace_signature(&genuine, &genuine_signature[..genuine_signature.len() - 8]),
            "invalid_signature",
        ),
        (
            "signature not base64url",
            replace_signature(&genuine, "!!!!"),
            "invalid_signature",
        ),
        (
            "another token's signature",
            replace_signature(&genuine, other.rsplit('.').next().unwrap()),
            "invalid_signature",
        ),
        (
            "forged payload, original signature",
            {
                let parts: Vec<&str> = genuine.split('.').collect();
                format!(
                    "{}.{}.{}",
                    parts[0],
                    b64(&claims(
                        json!({"sub": "admin", "scope": "workstream:access admin"})
                    )),
                    parts[2]
                )
            },
            "invalid_signature",
        ),
        (
            "forged header, original signature",
            {
                let parts: Vec<&str> = genuine.split('.').collect();
                format!(
                    "{}.{}.{}",
                    b64(&json!({"alg": "RS256", "kid": "rsa-1", "typ": "JWT", "x": 1})),
                    parts[1],
                    parts[2]
                )
            },
            "invalid_signature",
        ),
        // Claims, validly signed.
        (
            "wrong audience",
            rs256("rsa-1", &claims(json!({"aud": "workstream-api"}))),
            "wrong_audience",
        ),
        (
            "audience list without ours",
            rs256("rsa-1", &claims(json!({"aud": ["billing", "search"]}))),
            "wrong_audience",
        ),
        (
            "wrong issuer (trailing slash)",
            rs256("rsa-1", &claims(json!({"iss": "https://id.example.com/"}))),
            "wrong_issuer",
        ),
        (
            "not yet valid",
            rs256("rsa-1", &claims(json!({"nbf": now() + 120}))),
            "not_yet_valid",
        ),
        (
            "issued in the future",
            rs256("rsa-1", &claims(json!({"iat": now() + 120}))),
            "issued_in_future",
        ),
        (
            "expired just past the skew",
            rs256("rsa-1", &claims(json!({"exp": now() - 31}))),
            "expired",
        ),
        (
            "no exp",
            rs256("rsa-1", &claims(json!({"exp": null}))),
            "missing_exp",
        ),
        (
            "an exp that never comes",
            rs256("rsa-1", &claims(json!({"exp": 1e308}))),
            "lifetime_too_long",
        ),
        (
            "a human token for longer than a day",
            rs256("rsa-1", &claims(json!({"exp": now() + 24 * 3600 + 60}))),
            "lifetime_too_long",
        ),
        (
            "a subject holding NUL",
            rs256("rsa-1", &claims(json!({"sub": "ali\u{0}ce"}))),
            "claim_not_text",
        ),
        // Sizes: checked before any key is looked up.
        (
            "oversized token",
            rs256("rsa-1", &claims(json!({"pad": "p".repeat(16_400)}))),
            "token_too_large",
        ),
        (
            "oversized header",
            {
                let parts: Vec<&str> = genuine.split('.').collect();
                format!(
                    "{}.{}.{}",
                    b64(&json!({"alg": "RS256", "kid": "rsa-1", "pad": "p".repeat(4_100)})),
                    parts[1],
                    parts[2]
                )
            },
            "header_too_large",
        ),
    ];

    let mut failures = Vec::new();
    for (name, token, reason) in &cases {
        let (status, body) = get_me(&server, token).await;
        if status != 401
            || body["error"]["code"] != "invalid_token"
            || body["error"]["details"]["reason"] != *reason
        {
            failures.push(format!(
                "{name}: expected 401 invalid_token/{reason}, got {status} {body}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} forgeries:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );

    // Only the genuine caller has a profile; the forgeries wrote nothing.
    let subjects: Vec<String> =
        sqlx::query_scalar("SELECT subject FROM actor_identity_links ORDER BY subject")
            .fetch_all(server.database.pool())
            .await
            .unwrap();
    assert_eq!(subjects, ["genuine"]);
}
