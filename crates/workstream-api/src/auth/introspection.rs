//! Token introspection (RFC 7662) in production mode (docs/security.md).
//!
//! `WORKSTREAM_TOKEN_INTROSPECTION_MODE` is required in production mode:
//!
//! * `disabled`: tokens are trusted until they expire; the operator must say why in
//!   `WORKSTREAM_TOKEN_INTROSPECTION_DISABLED_REASON` (logged at startup).
//! * `required`: after the signature and claims check out, the token is POSTed (form
//!   field `token`) to `WORKSTREAM_TOKEN_INTROSPECTION_URL` with HTTP basic auth
//!   (`WORKSTREAM_TOKEN_INTROSPECTION_CLIENT_ID`, `_CLIENT_SECRET`). The URL must be
//!   `https://` and differ from the JWKS URL. The answer must be `active: true`, with
//!   `iss` and `sub` equal to the token's, an `aud` containing the configured audience,
//!   and `jti` equal to the token's; anything else refuses the token (401
//!   `invalid_token`, reason `introspection_inactive` or `introspection_mismatch`).
//!   An endpoint that cannot be reached or answers badly (timeout, TLS, a status other
//!   than 200, a redirect, more than `WORKSTREAM_TOKEN_INTROSPECTION_MAX_RESPONSE_BYTES`
//!   (65536), not a JSON object) makes verification unavailable (503).
//!
//! The network rules are those of [`super::network`], with the timeouts
//! `WORKSTREAM_TOKEN_INTROSPECTION_{CONNECT,READ,WRITE,POOL,TOTAL}_TIMEOUT_SECONDS`
//! (2/3/3/1/5) and the extra trust anchors of `WORKSTREAM_TOKEN_INTROSPECTION_CA_FILE`
//! (our addition). Answers are not cached: each authenticated request asks once.
//! The local HMAC mode never introspects.

use reqwest::{Client, Url};
use serde_json::Value;

use super::network::{HttpsSettings, fetch_capped, https_url};
use super::token::{TokenError, VerifiedToken};
use crate::config::ConfigError;

/// Default `WORKSTREAM_TOKEN_INTROSPECTION_MAX_RESPONSE_BYTES`.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 65_536;

/// `WORKSTREAM_TOKEN_INTROSPECTION_MODE` and what goes with it.
#[derive(Debug, Clone)]
pub enum IntrospectionMode {
    /// No introspection, for the stated reason.
    Disabled {
        /// `WORKSTREAM_TOKEN_INTROSPECTION_DISABLED_REASON`.
        reason: String,
    },
    /// Every token is introspected.
    Required(Box<IntrospectionConfig>),
}

/// Where and how to introspect.
#[derive(Clone)]
pub struct IntrospectionConfig {
    /// `WORKSTREAM_TOKEN_INTROSPECTION_URL`.
    pub url: Url,
    /// `WORKSTREAM_TOKEN_INTROSPECTION_CLIENT_ID`.
    pub client_id: String,
    /// `WORKSTREAM_TOKEN_INTROSPECTION_CLIENT_SECRET`.
    pub client_secret: String,
    /// Timeouts, response cap and extra CA.
    pub network: HttpsSettings,
}

impl std::fmt::Debug for IntrospectionConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntrospectionConfig")
            .field("url", &self.url.as_str())
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("network", &self.network)
            .finish()
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn required(name: &str) -> Result<String, ConfigError> {
    env(name)
        .filter(|value| !value.trim().is_empty())
        .ok_or_else(|| ConfigError(format!("{name} is required")))
}

impl IntrospectionMode {
    /// `required`, at the endpoint of `config`.
    pub fn required(config: IntrospectionConfig) -> IntrospectionMode {
        IntrospectionMode::Required(Box::new(config))
    }

    /// `disabled` with a reason, which must not be blank.
    pub fn disabled(reason: &str) -> Result<IntrospectionMode, ConfigError> {
        let reason = reason.trim();
        if reason.is_empty() || reason.len() > 500 {
            return Err(ConfigError(
                "WORKSTREAM_TOKEN_INTROSPECTION_DISABLED_REASON must say (in 1..500 bytes) \
                 why introspection is disabled"
                    .into(),
            ));
        }
        Ok(IntrospectionMode::Disabled {
            reason: reason.to_owned(),
        })
    }

    /// Reads the `WORKSTREAM_TOKEN_INTROSPECTION_*` variables. The mode has no default.
    pub fn from_env() -> Result<IntrospectionMode, ConfigError> {
        let mode = env("WORKSTREAM_TOKEN_INTROSPECTION_MODE").ok_or_else(|| {
            ConfigError(
                "WORKSTREAM_TOKEN_INTROSPECTION_MODE is required in production mode \
                 (disabled or required)"
                    .into(),
            )
        })?;
        match mode.trim() {
            "disabled" => IntrospectionMode::disabled(
                &env("WORKSTREAM_TOKEN_INTROSPECTION_DISABLED_REASON").unwrap_or_default(),
            ),
            "required" => {
                let mut config = IntrospectionConfig::new(
                    &required("WORKSTREAM_TOKEN_INTROSPECTION_URL")?,
                    &required("WORKSTREAM_TOKEN_INTROSPECTION_CLIENT_ID")?,
                    &required("WORKSTREAM_TOKEN_INTROSPECTION_CLIENT_SECRET")?,
                )?;
                config.network = HttpsSettings::from_env(
                    "WORKSTREAM_TOKEN_INTROSPECTION",
                    DEFAULT_MAX_RESPONSE_BYTES,
                )?;
                Ok(IntrospectionMode::required(config))
            }
            other => Err(ConfigError(format!(
                "WORKSTREAM_TOKEN_INTROSPECTION_MODE={other:?} is not disabled or required"
            ))),
        }
    }
}

impl IntrospectionConfig {
    /// Validates the endpoint and client credentials; the network settings take their
    /// defaults (the field is public).
    pub fn new(
        url: &str,
        client_id: &str,
        client_secret: &str,
    ) -> Result<IntrospectionConfig, ConfigError> {
        let url = https_url("WORKSTREAM_TOKEN_INTROSPECTION_URL", url)?;
        // A colon in the id would split the basic-auth pair in the wrong place.
        if client_id.is_empty() || client_id.len() > 256 || client_id.contains(':') {
            return Err(ConfigError(
                "WORKSTREAM_TOKEN_INTROSPECTION_CLIENT_ID must be 1..256 bytes without ':'".into(),
            ));
        }
        if client_secret.is_empty() || client_secret.len() > 1024 {
            return Err(ConfigError(
                "WORKSTREAM_TOKEN_INTROSPECTION_CLIENT_SECRET must be 1..1024 bytes".into(),
            ));
        }
        Ok(IntrospectionConfig {
            url,
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            network: HttpsSettings::with_max_response_bytes(DEFAULT_MAX_RESPONSE_BYTES),
        })
    }
}

/// A configured introspection client.
#[derive(Debug)]
pub struct Introspector {
    config: IntrospectionConfig,
    client: Client,
}

impl Introspector {
    /// Builds the client (a bad CA file stops startup).
    pub fn new(config: IntrospectionConfig) -> Result<Introspector, ConfigError> {
        let client = config
            .network
            .client("WORKSTREAM_TOKEN_INTROSPECTION_URL")?;
        Ok(Introspector { config, client })
    }

    /// The endpoint.
    pub fn url(&self) -> &Url {
        &self.config.url
    }

    /// Asks the endpoint about `token`, already verified as `verified`; `audience` is
    /// the configured one.
    pub async fn check(
        &self,
        token: &str,
        verified: &VerifiedToken,
        audience: &str,
    ) -> Result<(), TokenError> {
        let request = self
            .client
            .post(self.config.url.clone())
            .basic_auth(&self.config.client_id, Some(&self.config.client_secret))
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&[("token", token)]);
        let body = fetch_capped(
            request,
            self.config.network.max_response_bytes,
            self.config.network.total_timeout,
        )
        .await
        .map_err(|why| {
            tracing::warn!(%why, "token introspection unavailable");
            TokenError::Unavailable(format!("token introspection: {why}"))
        })?;
        let answer: Value = serde_json::from_slice(&body)
            .ok()
            .filter(Value::is_object)
            .ok_or_else(|| {
                tracing::warn!("token introspection answered something other than a JSON object");
                TokenError::Unavailable("token introspection: not a JSON object".into())
            })?;
        judge(&answer, verified, audience)
    }
}

/// The verdict on an introspection answer.
fn judge(answer: &Value, verified: &VerifiedToken, audience: &str) -> Result<(), TokenError> {
    if answer.get("active") != Some(&Value::Bool(true)) {
        return Err(TokenError::Invalid("introspection_inactive"));
    }
    let text = |name: &str| answer.get(name).and_then(Value::as_str);
    let audience_ok = match answer.get("aud") {
        Some(Value::String(aud)) => aud == audience,
        Some(Value::Array(list)) => list.iter().any(|aud| aud.as_str() == Some(audience)),
        _ => false,
    };
    if text("iss") != Some(verified.issuer.as_str())
        || text("sub") != Some(verified.subject.as_str())
        || text("jti") != Some(verified.token_id.as_str())
        || !audience_ok
    {
        return Err(TokenError::Invalid("introspection_mismatch"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::SubjectKind;
    use serde_json::json;

    fn verified() -> VerifiedToken {
        VerifiedToken {
            issuer: "https://id.example.com".into(),
            subject: "carol".into(),
            subject_kind: SubjectKind::Human,
            token_id: "j-1".into(),
            scopes: vec!["workstream:access".into()],
            audience: vec!["workstream".into()],
            expires_at: 0.0,
            issued_at: 0.0,
            not_before: None,
        }
    }

    #[test]
    fn an_answer_must_be_active_and_about_this_token() {
        let good = json!({"active": true, "iss": "https://id.example.com", "sub": "carol",
                          "aud": ["other", "workstream"], "jti": "j-1"});
        assert_eq!(judge(&good, &verified(), "workstream"), Ok(()));
        let mut one = good.clone();
        one["aud"] = json!("workstream");
        assert_eq!(judge(&one, &verified(), "workstream"), Ok(()));
        let refused = |answer: Value, reason| {
            assert_eq!(
                judge(&answer, &verified(), "workstream"),
                Err(TokenError::Invalid(reason)),
                "{answer}"
            );
        };
        refused(json!({"active": false}), "introspection_inactive");
        refused(json!({"active": "true"}), "introspection_inactive");
        for (field, value) in [
            ("iss", json!("https://evil.example.com")),
            ("sub", json!("mallory")),
            ("jti", json!("j-2")),
            ("aud", json!(["other"])),
            ("aud", json!(null)),
        ] {
            let mut answer = good.clone();
            answer[field] = value;
            refused(answer, "introspection_mismatch");
        }
        let mut missing = good.clone();
        missing.as_object_mut().unwrap().remove("jti");
        refused(missing, "introspection_mismatch");
    }

    #[test]
    fn the_endpoint_is_https_with_usable_credentials() {
        assert!(IntrospectionConfig::new("https://id.example.com/introspect", "ws", "s").is_ok());
        assert!(IntrospectionConfig::new("http://id.example.com/introspect", "ws", "s").is_err());
        assert!(IntrospectionConfig::new("https://id.example.com/introspect", "w:s", "s").is_err());
        assert!(IntrospectionConfig::new("https://id.example.com/introspect", "ws", "").is_err());
        assert!(IntrospectionMode::disabled("  ").is_err());
        assert!(IntrospectionMode::disabled("tokens live 5 minutes").is_ok());
    }
}
