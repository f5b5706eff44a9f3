//! Choosing and running the token verifier (docs/security.md).
//!
//! Two modes, picked once at startup from the environment:
//!
//! * **local HMAC** (`WORKSTREAM_FLOW_AUTH_LOCAL_HMAC_SECRET`): HS256 tokens signed with
//!   a shared secret, for development and the test suite. Refused outside the `local` and
//!   `test` environments, because anyone holding the secret can be anyone.
//! * **production** (`WORKSTREAM_TOKEN_JWKS_URL`): RS256/ES256/EdDSA tokens whose `kid`
//!   names a key in a JWKS document (fetched over HTTPS or read from a mounted file),
//!   with a pinned algorithm list of one key family, then optionally introspected.
//!   `WORKSTREAM_TOKEN_INTROSPECTION_MODE` must be set in this mode. See
//!   [`super::jwks`] and [`super::introspection`].
//!
//! A configuration that cannot work stops startup in `staging`/`production`; elsewhere
//! the server starts and every authenticated request gets 503
//! `identity_verification_unavailable`, so a developer sees what is wrong without the
//! health probe failing.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey};

use super::introspection::{IntrospectionMode, Introspector};
use super::jwks::{JwksConfig, JwksKeys, JwksSource};
use super::mint::{LOCAL_DEFAULT_AUDIENCE, LOCAL_DEFAULT_ISSUER};
use super::token::{self, ClaimRules, TokenError, VerifiedToken};
use crate::config::{ConfigError, Environment};

/// The shortest local secret accepted: HS256 keys shorter than the hash are weak, and a
/// short secret in a shared dev environment tends to end up reused elsewhere.
pub const LOCAL_SECRET_MIN_BYTES: usize = 32;

/// Verifies bearer tokens.
#[derive(Debug)]
pub struct Verifier {
    mode: Mode,
}

#[derive(Debug)]
enum Mode {
    LocalHmac {
        key: DecodingKey,
        secret: LocalSecret,
        rules: ClaimRules,
    },
    Jwks {
        keys: Box<JwksKeys>,
        rules: ClaimRules,
        introspector: Option<Box<Introspector>>,
    },
    Unavailable(String),
}

/// The local HMAC secret, kept for [`Verifier::mint_local`]; never printed.
struct LocalSecret(Vec<u8>);

impl std::fmt::Debug for LocalSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LocalSecret(..)")
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl Verifier {
    /// The local HS256 verifier with `secret`, `issuer` and `audience`.
    pub fn local_hmac(
        environment: Environment,
        secret: &[u8],
        issuer: &str,
        audience: &str,
    ) -> Result<Verifier, ConfigError> {
        check_text("WORKSTREAM_FLOW_AUTH_ISSUER", issuer)?;
        check_text("WORKSTREAM_FLOW_AUTH_AUDIENCE", audience)?;
        Verifier::local_hmac_with_rules(environment, secret, rules_from_env(issuer, audience)?)
    }

    /// The local HS256 verifier with explicit claim rules (limits, skew, scopes).
    pub fn local_hmac_with_rules(
        environment: Environment,
        secret: &[u8],
        rules: ClaimRules,
    ) -> Result<Verifier, ConfigError> {
        if !environment.is_development() {
            return Err(ConfigError(format!(
                "WORKSTREAM_FLOW_AUTH_LOCAL_HMAC_SECRET cannot run outside local/test \
                 (environment is {})",
                environment.as_str()
            )));
        }
        if secret.len() < LOCAL_SECRET_MIN_BYTES {
            return Err(ConfigError(format!(
                "WORKSTREAM_FLOW_AUTH_LOCAL_HMAC_SECRET must be at least \
                 {LOCAL_SECRET_MIN_BYTES} bytes"
            )));
        }
        Ok(Verifier {
            mode: Mode::LocalHmac {
                key: DecodingKey::from_secret(secret),
                secret: LocalSecret(secret.to_vec()),
                rules,
            },
        })
    }

    /// The production verifier over `config`, introspecting as `introspection` says.
    /// The introspection endpoint must differ from the JWKS URL.
    pub fn jwks(
        config: JwksConfig,
        introspection: IntrospectionMode,
    ) -> Result<Verifier, ConfigError> {
        let introspector = match introspection {
            IntrospectionMode::Disabled { reason } => {
                tracing::info!(%reason, "token introspection is disabled");
                None
            }
            IntrospectionMode::Required(introspection) => {
                if let JwksSource::Https(jwks_url) = &config.source
                    && *jwks_url == introspection.url
                {
                    return Err(ConfigError(
                        "WORKSTREAM_TOKEN_INTROSPECTION_URL must differ from \
                         WORKSTREAM_TOKEN_JWKS_URL"
                            .into(),
                    ));
                }
                Some(Box::new(Introspector::new(*introspection)?))
            }
        };
        let rules = rules_from_env(&config.issuer, &config.audience)?;
        Ok(Verifier {
            mode: Mode::Jwks {
                keys: Box::new(JwksKeys::load(config)?),
                rules,
                introspector,
            },
        })
    }

    /// A verifier that answers every token with 503 (misconfigured development server).
    pub fn unavailable(reason: impl Into<String>) -> Verifier {
        Verifier {
            mode: Mode::Unavailable(reason.into()),
        }
    }

    /// Builds the verifier the environment asks for.
    pub fn from_env(environment: Environment) -> Result<Verifier, ConfigError> {
        let built = if let Some(secret) = env("WORKSTREAM_FLOW_AUTH_LOCAL_HMAC_SECRET") {
            let issuer = env("WORKSTREAM_FLOW_AUTH_ISSUER").unwrap_or(LOCAL_DEFAULT_ISSUER.into());
            let audience =
                env("WORKSTREAM_FLOW_AUTH_AUDIENCE").unwrap_or(LOCAL_DEFAULT_AUDIENCE.into());
            Verifier::local_hmac(environment, secret.as_bytes(), &issuer, &audience)
        } else if env("WORKSTREAM_TOKEN_JWKS_URL").is_some() {
            JwksConfig::from_env()
                .and_then(|config| Verifier::jwks(config, IntrospectionMode::from_env()?))
        } else {
            Err(ConfigError(
                "no token verifier is configured: set WORKSTREAM_FLOW_AUTH_LOCAL_HMAC_SECRET \
                 (local/test) or WORKSTREAM_TOKEN_ISSUER, WORKSTREAM_TOKEN_JWKS_URL, \
                 WORKSTREAM_TOKEN_ALGORITHMS and WORKSTREAM_TOKEN_INTROSPECTION_MODE"
                    .into(),
            ))
        };
        match built {
            Ok(verifier) => Ok(verifier),
            Err(err) if environment.is_development() => {
                tracing::warn!(error = %err, "authenticated requests will answer 503");
                Ok(Verifier::unavailable(err.0))
            }
            Err(err) => Err(err),
        }
    }

    /// In local HMAC mode, a token for `token.subject` signed with the local secret and
    /// carrying this verifier's issuer and audience (the web UI's local sign-in); `None`
    /// in every other mode, so production can never mint.
    pub fn mint_local(&self, token: &super::mint::LocalToken) -> Option<String> {
        match &self.mode {
            Mode::LocalHmac { secret, rules, .. } => {
                let mut token = token.clone();
                token.issuer = rules.issuer.clone();
                token.audience = rules.audience.clone();
                Some(super::mint::mint_local_token(&secret.0, &token))
            }
            _ => None,
        }
    }

    /// Verifies `token` now.
    pub async fn verify(&self, token: &str) -> Result<VerifiedToken, TokenError> {
        self.verify_at(token, now()).await
    }

    /// Verifies `token` as of `now` (seconds since the epoch).
    pub async fn verify_at(&self, token: &str, now: f64) -> Result<VerifiedToken, TokenError> {
        match &self.mode {
            Mode::Unavailable(reason) => Err(TokenError::Unavailable(reason.clone())),
            Mode::LocalHmac { key, rules, .. } => {
                let parsed = token::parse(token, rules)?;
                // Exactly HS256 and JWT: anything else (`none`, an RS256 header hoping
                // the secret gets used as a public key) is refused before any crypto.
                if parsed.header.get("alg").and_then(|v| v.as_str()) != Some("HS256") {
                    return Err(TokenError::Invalid("unsupported_algorithm"));
                }
                if parsed.header.get("typ").and_then(|v| v.as_str()) != Some("JWT") {
                    return Err(TokenError::Invalid("invalid_type"));
                }
                check_signature(&parsed, key, Algorithm::HS256)?;
                token::check_claims(&parsed.claims, rules, now)
            }
            Mode::Jwks {
                keys,
                rules,
                introspector,
            } => {
                let parsed = token::parse(token, rules)?;
                let alg = keys.algorithm_of(&parsed.header)?;
                let kid = match parsed.header.get("kid").and_then(|v| v.as_str()) {
                    Some(kid) if !kid.is_empty() && kid.chars().count() <= 256 => kid,
                    _ => return Err(TokenError::Invalid("invalid_kid")),
                };
                let key = keys.key(kid, alg).await?;
                check_signature(&parsed, &key, alg)?;
                let verified = token::check_claims(&parsed.claims, rules, now)?;
                // Only a token that is already valid here is shown to the provider.
                if let Some(introspector) = introspector {
                    introspector
                        .check(token, &verified, &rules.audience)
                        .await?;
                }
                Ok(verified)
            }
        }
    }
}

fn check_signature(
    parsed: &token::ParsedToken<'_>,
    key: &DecodingKey,
    alg: Algorithm,
) -> Result<(), TokenError> {
    match jsonwebtoken::crypto::verify(parsed.signature, parsed.signing_input.as_bytes(), key, alg)
    {
        Ok(true) => Ok(()),
        Ok(false) | Err(_) => Err(TokenError::Invalid("invalid_signature")),
    }
}

fn check_text(name: &str, value: &str) -> Result<(), ConfigError> {
    if value.is_empty() || value.len() > 200 || value.trim() != value {
        return Err(ConfigError(format!(
            "{name} must be 1..200 bytes without surrounding whitespace"
        )));
    }
    Ok(())
}

fn parse_env<T: std::str::FromStr>(name: &str, default: T) -> Result<T, ConfigError> {
    match env(name) {
        None => Ok(default),
        Some(text) => text
            .trim()
            .parse()
            .map_err(|_| ConfigError(format!("{name}={text:?} is not a valid number"))),
    }
}

/// The claim rules with the limits and scopes upstream lets the environment tune.
fn rules_from_env(issuer: &str, audience: &str) -> Result<ClaimRules, ConfigError> {
    let mut rules = ClaimRules::new(issuer, audience);
    rules.skew_seconds = parse_env("WORKSTREAM_TOKEN_CLOCK_SKEW_SECONDS", 30)?;
    if !(0..=300).contains(&rules.skew_seconds) {
        return Err(ConfigError(
            "WORKSTREAM_TOKEN_CLOCK_SKEW_SECONDS must be 0..300".into(),
        ));
    }
    if let Some(scope) = env("WORKSTREAM_REQUIRED_HUMAN_SCOPE") {
        rules.human_scope = scope;
    }
    if let Some(scope) = env("WORKSTREAM_REQUIRED_SERVICE_SCOPE") {
        rules.service_scope = scope;
    }
    rules.human_max_lifetime_seconds =
        parse_env("WORKSTREAM_TOKEN_MAX_LIFETIME_SECONDS", 24 * 3600)?;
    rules.service_max_lifetime_seconds = parse_env(
        "WORKSTREAM_SERVICE_TOKEN_MAX_LIFETIME_SECONDS",
        30 * 24 * 3600,
    )?;
    if rules.human_max_lifetime_seconds < 60 || rules.service_max_lifetime_seconds < 60 {
        return Err(ConfigError(
            "WORKSTREAM_TOKEN_MAX_LIFETIME_SECONDS and WORKSTREAM_SERVICE_TOKEN_MAX_LIFETIME_SECONDS must be at least 60".into(),
        ));
    }
    rules.token_max_bytes = parse_env("WORKSTREAM_TOKEN_MAX_BYTES", 16384)?;
    rules.header_max_bytes = parse_env("WORKSTREAM_TOKEN_HEADER_MAX_BYTES", 4096)?;
    rules.payload_max_bytes = parse_env("WORKSTREAM_TOKEN_PAYLOAD_MAX_BYTES", 12288)?;
    if !(512..=32768).contains(&rules.token_max_bytes)
        || !(128..=8192).contains(&rules.header_max_bytes)
        || !(256..=24576).contains(&rules.payload_max_bytes)
        || rules.header_max_bytes > rules.token_max_bytes
        || rules.payload_max_bytes > rules.token_max_bytes
    {
        return Err(ConfigError(
            "token size limits out of range (total 512..32768, header 128..8192, \
             payload 256..24576, each part at most the total)"
                .into(),
        ));
    }
    Ok(rules)
}
