//! Every token rule of docs/security.md in local HS256 mode, one test per case,
//! over real HTTP: the status, the error code, the rule named in `details.reason`, the
//! `WWW-Authenticate` challenge, and that no refused request wrote a single row.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};
use workstream_api::auth::Verifier;
use workstream_api::auth::token::ClaimRules;
use workstream_api::config::Environment;
use workstream_e2e::{TEST_SECRET, TestServer};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

fn header() -> Value {
    json!({ "alg": "HS256", "typ": "JWT" })
}

/// Valid claims with `overrides` applied (a null removes the claim).
fn claims(overrides: Value) -> Value {
    let mut base = json!({
        "iss": "https://auth.flow.local", "aud": "workstream-api", "sub": "mallory",
        "jti": "token-1", "subject_kind": "human", "scope": "workstream:access",
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

/// Signs `header.claims` with the test secret, whatever the header says.
fn forge(header: Value, claims: Value) -> String {
    forge_with(header, claims, TEST_SECRET)
}

fn forge_with(header: Value, claims: Value, secret: &[u8]) -> String {
    let input = format!("{}.{}", b64(&header), b64(&claims));
    let signature = jsonwebtoken::crypto::sign(
        input.as_bytes(),
        &EncodingKey::from_secret(secret),
        Algorithm::HS256,
    )
    .unwrap();
    format!("{input}.{signature}")
}

async fn no_rows(server: &TestServer) {
    for table in ["actor_profiles", "actor_identity_links", "audit_events"] {
        let count: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(server.database.pool())
            .await
            .unwrap();
        assert_eq!(count, 0, "a refused request wrote to {table}");
    }
}

async fn get_me(
    server: &TestServer,
    authorization: Option<String>,
) -> (u16, Option<String>, Value) {
    let mut request = server.client.get(server.url("/api/v1/actors/me"));
    if let Some(value) = authorization {
        request = request.header("Authorization", value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, challenge, response.json().await.unwrap())
}

/// The token is refused with 401 `invalid_token` for `reason`.
async fn refused(token: String, reason: &str) {
    let server = TestServer::start().await;
    let (status, challenge, body) = get_me(&server, Some(format!("Bearer {token}"))).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "invalid_token", "{body}");
    assert_eq!(body["error"]["details"]["reason"], reason, "{body}");
    assert!(body["error"]["correlation_id"].is_string());
    assert_eq!(challenge.as_deref(), Some("Bearer error=\"invalid_token\""));
    no_rows(&server).await;
}

macro_rules! refused {
    ($($name:ident: $reason:literal => $token:expr;)+) => {
        $(
            #[tokio::test]
            async fn $name() {
                refused($token, $reason).await;
            }
        )+
    };
}

refused! {
    // Shape (step 3).
    not_three_segments: "malformed_token" => "abc.def".to_owned();
    four_segments: "malformed_token" => format!("{}.x", forge(header(), claims(json!({}))));
    empty_signature: "malformed_token" => format!("{}.{}.", b64(&header()), b64(&claims(json!({}))));
    header_not_base64url: "malformed_header" => format!("%%%.{}.c2ln", b64(&claims(json!({}))));
    header_padded_base64: "malformed_header" => format!("{}=.{}.c2ln", b64(&header()), b64(&claims(json!({}))));
    header_not_an_object: "malformed_header" => forge(json!(["HS256"]), claims(json!({})));
    payload_not_json: "malformed_payload" => format!("{}.{}.c2ln", b64(&header()), URL_SAFE_NO_PAD.encode(b"not json"));
    header_with_jku: "forbidden_header" => forge(json!({"alg": "HS256", "typ": "JWT", "jku": "https://evil.example/keys"}), claims(json!({})));
    header_with_x5u: "forbidden_header" => forge(json!({"alg": "HS256", "typ": "JWT", "x5u": "https://evil.example/cert"}), claims(json!({})));
    header_with_crit: "forbidden_header" => forge(json!({"alg": "HS256", "typ": "JWT", "crit": ["exp"]}), claims(json!({})));
    // Algorithm and type (step 4).
    alg_none: "unsupported_algorithm" => format!("{}.{}.c2ln", b64(&json!({"alg": "none", "typ": "JWT"})), b64(&claims(json!({}))));
    alg_none_unsigned: "malformed_token" => format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT"})), b64(&claims(json!({}))));
    rs256_header_in_hmac_mode: "unsupported_algorithm" => forge(json!({"alg": "RS256", "typ": "JWT"}), claims(json!({})));
    hs512_header: "unsupported_algorithm" => forge(json!({"alg": "HS512", "typ": "JWT"}), claims(json!({})));
    lowercase_alg: "unsupported_algorithm" => forge(json!({"alg": "hs256", "typ": "JWT"}), claims(json!({})));
    missing_typ: "invalid_type" => forge(json!({"alg": "HS256"}), claims(json!({})));
    wrong_typ: "invalid_type" => forge(json!({"alg": "HS256", "typ": "at+jwt"}), claims(json!({})));
    // Signature (step 5).
    tampered_signature: "invalid_signature" => {
        let token = forge(header(), claims(json!({})));
        let (rest, signature) = token.rsplit_once('.').unwrap();
        let flipped = if signature.starts_with('A') { "B" } else { "A" };
        format!("{rest}.{flipped}{}", &signature[1..])
    };
    tampered_payload: "invalid_signature" => {
        let token = forge(header(), claims(json!({})));
        let parts: Vec<&str> = token.split('.').collect();
        format!("{}.{}.{}", parts[0], b64(&claims(json!({"sub": "admin"}))), parts[2])
    };
    signed_with_another_secret: "invalid_signature" => forge_with(header(), claims(json!({})), b"another-secret-of-thirty-two-bytes-or-more");
    // Issuer and audience (steps 6-7).
    wrong_issuer: "wrong_issuer" => forge(header(), claims(json!({"iss": "https://evil.example"})));
    missing_issuer: "missing_issuer" => forge(header(), claims(json!({"iss": null})));
    missing_audience: "missing_audience" => forge(header(), claims(json!({"aud": null})));
    wrong_audience: "wrong_audience" => forge(header(), claims(json!({"aud": "another-api"})));
    audience_list_without_ours: "wrong_audience" => forge(header(), claims(json!({"aud": ["a", "b"]})));
    empty_audience_string: "invalid_audience" => forge(header(), claims(json!({"aud": ""})));
    empty_audience_list: "invalid_audience" => forge(header(), claims(json!({"aud": []})));
    audience_list_of_17: "invalid_audience" => forge(header(), claims(json!({"aud": vec!["workstream-api"; 17]})));
    audience_list_with_empty_entry: "invalid_audience" => forge(header(), claims(json!({"aud": ["workstream-api", ""]})));
    audience_entry_too_long: "invalid_audience" => forge(header(), claims(json!({"aud": ["workstream-api", "a".repeat(257)]})));
    audience_number: "invalid_audience" => forge(header(), claims(json!({"aud": 7})));
    // Time (step 8), skew 30 s.
    expired_beyond_skew: "expired" => forge(header(), claims(json!({"exp": now() - 31})));
    exp_boolean: "invalid_exp" => forge(header(), claims(json!({"exp": true})));
    exp_string: "invalid_exp" => forge(header(), claims(json!({"exp": "9999999999"})));
    missing_exp: "missing_exp" => forge(header(), claims(json!({"exp": null})));
    issued_in_future: "issued_in_future" => forge(header(), claims(json!({"iat": now() + 120})));
    missing_iat: "missing_iat" => forge(header(), claims(json!({"iat": null})));
    not_yet_valid: "not_yet_valid" => forge(header(), claims(json!({"nbf": now() + 120})));
    nbf_not_a_number: "invalid_nbf" => forge(header(), claims(json!({"nbf": false})));
    // Shared claims (step 9).
    missing_sub: "missing_sub" => forge(header(), claims(json!({"sub": null})));
    empty_sub: "invalid_sub" => forge(header(), claims(json!({"sub": ""})));
    sub_with_surrounding_space: "invalid_sub" => forge(header(), claims(json!({"sub": "mallory "})));
    sub_too_long: "invalid_sub" => forge(header(), claims(json!({"sub": "m".repeat(201)})));
    sub_not_a_string: "invalid_sub" => forge(header(), claims(json!({"sub": 42})));
    missing_jti: "missing_jti" => forge(header(), claims(json!({"jti": null})));
    empty_jti: "invalid_jti" => forge(header(), claims(json!({"jti": ""})));
    jti_too_long: "invalid_jti" => forge(header(), claims(json!({"jti": "j".repeat(513)})));
    missing_subject_kind: "missing_subject_kind" => forge(header(), claims(json!({"subject_kind": null})));
    subject_kind_wrong_case: "invalid_subject_kind" => forge(header(), claims(json!({"subject_kind": "Human"})));
    subject_kind_unknown: "invalid_subject_kind" => forge(header(), claims(json!({"subject_kind": "robot"})));
    missing_scope: "missing_scope" => forge(header(), claims(json!({"scope": null})));
    empty_scope: "invalid_scope" => forge(header(), claims(json!({"scope": ""})));
    scope_with_double_space: "invalid_scope" => forge(header(), claims(json!({"scope": "workstream:access  extra"})));
    duplicate_scopes: "invalid_scope" => forge(header(), claims(json!({"scope": ["workstream:access", "workstream:access"]})));
    scope_list_with_whitespace: "invalid_scope" => forge(header(), claims(json!({"scope": ["workstream:access", "a b"]})));
    scope_list_of_65: "invalid_scope" => forge(header(), claims(json!({"scope": (0..65).map(|i| format!("s{i}")).collect::<Vec<_>>()})));
    scope_too_long: "invalid_scope" => forge(header(), claims(json!({"scope": format!("workstream:access {}", "s".repeat(129))})));
    scope_not_a_string: "invalid_scope" => forge(header(), claims(json!({"scope": 1})));
    human_without_access_scope: "missing_required_scope" => forge(header(), claims(json!({"scope": "workstream:service"})));
    service_without_service_scope: "missing_required_scope" => forge(header(), claims(json!({"subject_kind": "service", "scope": "workstream:access"})));
    // Sizes (step 3): total 16384, header 4096, payload 12288.
    token_too_large: "token_too_large" => forge(header(), claims(json!({"pad": "p".repeat(16_400)})));
    header_too_large: "header_too_large" => forge(json!({"alg": "HS256", "typ": "JWT", "pad": "p".repeat(4_100)}), claims(json!({})));
}

/// With the defaults a payload over 12288 bytes always makes the token exceed 16384
/// first; a server with a tighter payload limit shows the payload rule itself.
#[tokio::test]
async fn payload_too_large() {
    let mut rules = ClaimRules::new("https://auth.flow.local", "workstream-api");
    rules.payload_max_bytes = 1024;
    let verifier = Verifier::local_hmac_with_rules(Environment::Test, TEST_SECRET, rules).unwrap();
    let server = TestServer::start_with(verifier).await;
    let token = forge(header(), claims(json!({"pad": "p".repeat(1_100)})));
    assert!(token.len() < 16384);
    let (status, _, body) = get_me(&server, Some(format!("Bearer {token}"))).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["details"]["reason"], "payload_too_large");
    no_rows(&server).await;
}

#[tokio::test]
async fn no_authorization_header_is_missing_token_with_a_bearer_challenge() {
    let server = TestServer::start().await;
    for authorization in [
        None,
        Some("Basic YWxpY2U6cHc=".to_owned()),
        Some("Bearer ".to_owned()),
    ] {
        let (status, challenge, body) = get_me(&server, authorization.clone()).await;
        assert_eq!(status, 401, "{authorization:?}");
        assert_eq!(body["error"]["code"], "missing_token");
        assert_eq!(body["error"]["message"], "Missing bearer token");
        assert_eq!(challenge.as_deref(), Some("Bearer"));
    }
    no_rows(&server).await;
}

#[tokio::test]
async fn accepted_edge_cases_pass() {
    let server = TestServer::start().await;
    let tokens = [
        // Expired, but within the 30 s skew.
        forge(header(), claims(json!({"exp": now() - 20, "sub": "a"}))),
        // iat and nbf slightly ahead, within skew.
        forge(
            header(),
            claims(json!({"iat": now() + 20, "nbf": now() + 20, "sub": "b"})),
        ),
        // An audience list containing ours; a scope list; crit explicitly null.
        forge(
            json!({"alg": "HS256", "typ": "JWT", "crit": null}),
            claims(
                json!({"aud": ["other", "workstream-api"], "scope": ["x", "workstream:access"], "sub": "c"}),
            ),
        ),
        // Extra claims (roles, email) are ignored and grant nothing.
        forge(
            header(),
            claims(json!({"roles": ["admin"], "email": "d@example.com", "sub": "d"})),
        ),
    ];
    for token in tokens {
        let (status, _, body) = get_me(&server, Some(format!("Bearer {token}"))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["admin_roles"], json!([]));
    }
}

#[tokio::test]
async fn agent_and_space_subjects_are_refused_without_rows() {
    let server = TestServer::start().await;
    for kind in ["agent", "space"] {
        let token = forge(header(), claims(json!({"subject_kind": kind})));
        let (status, challenge, body) = get_me(&server, Some(format!("Bearer {token}"))).await;
        assert_eq!(status, 403, "{body}");
        assert_eq!(body["error"]["code"], "unsupported_subject_kind");
        assert_eq!(challenge, None);
    }
    no_rows(&server).await;
}

#[tokio::test]
async fn an_unprovisioned_service_is_refused_without_rows() {
    let server = TestServer::start().await;
    let token = server.service_token("svc-payments");
    let (status, _, body) = get_me(&server, Some(format!("Bearer {token}"))).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "service_actor_not_provisioned");
    no_rows(&server).await;
}

#[tokio::test]
async fn a_provisioned_service_is_recognised() {
    let server = TestServer::start().await;
    let service = server
        .service_actor("svc-payments", "workstream.payment.local_adapter")
        .await;
    let (status, _, body) = get_me(&server, Some(format!("Bearer {}", service.token))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["actor_kind"], "service");
    assert_eq!(body["actor_profile_id"], service.id.to_string());
    // The same subject with a human token does not become a second actor.
    let human = server.token("svc-payments");
    let (status, _, body) = get_me(&server, Some(format!("Bearer {human}"))).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "subject_kind_mismatch");
}

#[tokio::test]
async fn an_unconfigured_verifier_answers_503_retryable() {
    let server = TestServer::start_with(Verifier::unavailable("no keys configured")).await;
    let token = forge(header(), claims(json!({})));
    let (status, _, body) = get_me(&server, Some(format!("Bearer {token}"))).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "identity_verification_unavailable");
    assert_eq!(body["error"]["retryable"], true);
    no_rows(&server).await;
}

#[test]
fn local_hmac_is_refused_outside_local_and_test() {
    for environment in [Environment::Staging, Environment::Production] {
        let err = Verifier::local_hmac(
            environment,
            TEST_SECRET,
            "https://auth.flow.local",
            "workstream-api",
        )
        .unwrap_err();
        assert!(err.0.contains("cannot run outside local/test"), "{err}");
    }
    assert!(
        Verifier::local_hmac(
            Environment::Local,
            TEST_SECRET,
            "https://auth.flow.local",
            "workstream-api"
        )
        .is_ok()
    );
    let short = Verifier::local_hmac(
        Environment::Test,
        b"short",
        "https://auth.flow.local",
        "workstream-api",
    );
    assert!(short.is_err(), "a short secret is refused");
}
