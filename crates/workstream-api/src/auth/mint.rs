//! Minting local HS256 tokens, for `workstream token` and the test suite.
//!
//! The tokens carry exactly the claims the verifier requires (`iss`, `aud`, `sub`,
//! `jti`, `subject_kind`, `scope`, `iat`, `exp`) and nothing that could be mistaken for
//! authority: there is no `roles` claim, because tokens grant nothing.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use super::token::SubjectKind;

/// Upstream's default issuer of local tokens.
pub const LOCAL_DEFAULT_ISSUER: &str = "https://auth.flow.local";
/// Upstream's default audience of local tokens.
pub const LOCAL_DEFAULT_AUDIENCE: &str = "workstream-api";

/// What to put in a local token.
#[derive(Debug, Clone)]
pub struct LocalToken {
    /// `sub`.
    pub subject: String,
    /// `subject_kind`.
    pub kind: SubjectKind,
    /// `scope`; `None` gives the kind's required scope (`workstream:access` for humans,
    /// `workstream:service` otherwise).
    pub scopes: Option<Vec<String>>,
    /// How long the token is valid.
    pub lifetime: Duration,
    /// `iss` (default `https://auth.flow.local`).
    pub issuer: String,
    /// `aud` (default `workstream-api`).
    pub audience: String,
}

impl LocalToken {
    /// A one-hour human token for `subject` with the local defaults.
    pub fn human(subject: impl Into<String>) -> LocalToken {
        LocalToken {
            subject: subject.into(),
            kind: SubjectKind::Human,
            scopes: None,
            lifetime: Duration::from_secs(3600),
            issuer: LOCAL_DEFAULT_ISSUER.into(),
            audience: LOCAL_DEFAULT_AUDIENCE.into(),
        }
    }

    /// The same token for another subject kind.
    pub fn kind(mut self, kind: SubjectKind) -> LocalToken {
        self.kind = kind;
        self
    }
}

/// Signs `token` with `secret` (HS256, `typ: JWT`, a fresh UUIDv7 `jti`).
pub fn mint_local_token(secret: &[u8], token: &LocalToken) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let scope = match &token.scopes {
        Some(scopes) => scopes.join(" "),
        None if token.kind == SubjectKind::Human => "workstream:access".into(),
        None => "workstream:service".into(),
    };
    let claims = json!({
        "iss": token.issuer,
        "aud": token.audience,
        "sub": token.subject,
        "jti": uuid::Uuid::now_v7().to_string(),
        "subject_kind": token.kind.as_str(),
        "scope": scope,
        "iat": now,
        "exp": now + token.lifetime.as_secs(),
    });
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret),
    )
    .expect("HS256 signing of a JSON object cannot fail")
}
