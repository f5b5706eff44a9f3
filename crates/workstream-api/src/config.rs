//! Server configuration from `WORKSTREAM_*` environment variables.
//!
//! Each variable is documented in the README. What is unsafe outside development
//! (a local HMAC token secret, a per-process cursor secret) is refused in `staging` and
//! `production` rather than silently used.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use workstream_engine::compensation::reconciliation::DEFAULT_PENDING_SLA_SECONDS;
use workstream_engine::previews::{DEFAULT_MAX_SUBMISSIONS, MAX_SUBMISSIONS_CEILING};

use crate::rate_limit::{Limit, RateLimits};

/// Where the server runs; decides which shortcuts are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    /// A developer's machine (`local`, `dev`, `development`).
    Local,
    /// Automated tests.
    Test,
    /// A pre-production deployment (`staging`, `preview`).
    Staging,
    /// Production (`prod`, `production`); the default.
    Production,
}

impl Environment {
    /// Parses upstream's accepted spellings.
    pub fn parse(value: &str) -> Option<Environment> {
        match value {
            "local" | "dev" | "development" => Some(Environment::Local),
            "test" => Some(Environment::Test),
            "staging" | "preview" => Some(Environment::Staging),
            "prod" | "production" => Some(Environment::Production),
            _ => None,
        }
    }

    /// `local` and `test`: where local HMAC tokens and generated secrets are allowed.
    pub fn is_development(self) -> bool {
        matches!(self, Environment::Local | Environment::Test)
    }

    /// The canonical name.
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Local => "local",
            Environment::Test => "test",
            Environment::Staging => "staging",
            Environment::Production => "production",
        }
    }
}

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

/// Everything the API needs besides the database.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Where the server runs.
    pub environment: Environment,
    /// The key that signs list cursors (at least 32 bytes).
    pub cursor_secret: Vec<u8>,
    /// The durable rate limits.
    pub rate_limits: RateLimits,
    /// How long an award delivery may stay unacknowledged, or an acknowledgement stay
    /// without a receipt, before finance reconciliation reports it
    /// (`WORKSTREAM_COMPENSATION_PENDING_SLA_SECONDS`, default one day; a request may
    /// pass `?pending_sla_seconds=`).
    pub compensation_pending_sla_seconds: i64,
    /// The most submissions one policy preview checks, and what a preview that names
    /// no number checks (`WORKSTREAM_POLICY_PREVIEW_MAX_SUBMISSIONS`, default 200, at
    /// most the engine's ceiling of 10 000).
    pub policy_preview_max_submissions: u32,
}

impl ApiConfig {
    /// Reads the configuration; `default_environment` applies when
    /// `WORKSTREAM_ENVIRONMENT` is unset (`up` defaults to local, `serve` to production).
    pub fn from_env(default_environment: Environment) -> Result<ApiConfig, ConfigError> {
        let environment = match std::env::var("WORKSTREAM_ENVIRONMENT") {
            Ok(value) => Environment::parse(&value).ok_or_else(|| {
                ConfigError(format!(
                    "WORKSTREAM_ENVIRONMENT={value:?} is not one of local, dev, development, \
                     test, staging, preview, prod, production"
                ))
            })?,
            Err(_) => default_environment,
        };
        let cursor_secret = match std::env::var("WORKSTREAM_PAGINATION_CURSOR_HMAC_SECRET") {
            Ok(encoded) => {
                let secret = STANDARD.decode(encoded.trim()).map_err(|_| {
                    ConfigError(
                        "WORKSTREAM_PAGINATION_CURSOR_HMAC_SECRET must be padded base64".into(),
                    )
                })?;
                if secret.len() < 32 {
                    return Err(ConfigError(
                        "WORKSTREAM_PAGINATION_CURSOR_HMAC_SECRET must decode to at least 32 bytes"
                            .into(),
                    ));
                }
                secret
            }
            Err(_) if environment.is_development() => random_secret()?,
            Err(_) => {
                return Err(ConfigError(format!(
                    "WORKSTREAM_PAGINATION_CURSOR_HMAC_SECRET is required in {} \
                     (32+ random bytes, base64): cursors must verify on every server",
                    environment.as_str()
                )));
            }
        };
        let key = match std::env::var("WORKSTREAM_API_RATE_LIMIT_KEY_SECRET") {
            Ok(encoded) => {
                let key = STANDARD.decode(encoded.trim()).map_err(|_| {
                    ConfigError("WORKSTREAM_API_RATE_LIMIT_KEY_SECRET must be padded base64".into())
                })?;
                if !(32..=64).contains(&key.len()) {
                    return Err(ConfigError(
                        "WORKSTREAM_API_RATE_LIMIT_KEY_SECRET must decode to 32..64 bytes".into(),
                    ));
                }
                key
            }
            Err(_) if environment.is_development() => random_secret()?,
            Err(_) => {
                return Err(ConfigError(format!(
                    "WORKSTREAM_API_RATE_LIMIT_KEY_SECRET is required in {} \
                     (32..64 random bytes, base64): every server must count the same subjects",
                    environment.as_str()
                )));
            }
        };
        let defaults = RateLimits::defaults(key);
        let rate_limits = RateLimits {
            first_access: limit_from_env(
                "WORKSTREAM_API_FIRST_ACCESS_RATE_LIMIT",
                defaults.first_access,
            )?,
            admin_mutation: limit_from_env(
                "WORKSTREAM_API_ADMIN_MUTATION_RATE_LIMIT",
                defaults.admin_mutation,
            )?,
            ..defaults
        };
        let compensation_pending_sla_seconds =
            match std::env::var("WORKSTREAM_COMPENSATION_PENDING_SLA_SECONDS") {
                Err(_) => DEFAULT_PENDING_SLA_SECONDS,
                Ok(text) => text.trim().parse::<i64>().ok().filter(|s| *s >= 0).ok_or_else(|| {
                    ConfigError(
                        "WORKSTREAM_COMPENSATION_PENDING_SLA_SECONDS must be a whole number of seconds"
                            .into(),
                    )
                })?,
            };
        let policy_preview_max_submissions =
            match std::env::var("WORKSTREAM_POLICY_PREVIEW_MAX_SUBMISSIONS") {
                Err(_) => DEFAULT_MAX_SUBMISSIONS,
                Ok(text) => text
                    .trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=MAX_SUBMISSIONS_CEILING).contains(n))
                    .ok_or_else(|| {
                        ConfigError(format!(
                            "WORKSTREAM_POLICY_PREVIEW_MAX_SUBMISSIONS must be a whole number \
                             from 1 to {MAX_SUBMISSIONS_CEILING}"
                        ))
                    })?,
            };
        Ok(ApiConfig {
            environment,
            cursor_secret,
            rate_limits,
            compensation_pending_sla_seconds,
            policy_preview_max_submissions,
        })
    }

    /// The configuration of the test suite's servers.
    pub fn for_tests() -> ApiConfig {
        ApiConfig {
            environment: Environment::Test,
            cursor_secret: random_secret().expect("reading /dev/urandom"),
            // Test fixtures provision dozens of actors a second; the limits have their
            // own tests, which set budgets of their own.
            rate_limits: RateLimits {
                first_access: Limit {
                    max: 1_000_000,
                    window: std::time::Duration::from_secs(60),
                },
                admin_mutation: Limit {
                    max: 1_000_000,
                    window: std::time::Duration::from_secs(60),
                },
                key: random_secret().expect("reading /dev/urandom"),
            },
            compensation_pending_sla_seconds: DEFAULT_PENDING_SLA_SECONDS,
            policy_preview_max_submissions: DEFAULT_MAX_SUBMISSIONS,
        }
    }
}

/// `NAME` (hits, at least 1) and `NAME_WINDOW_SECONDS` (at least 1), each defaulting.
fn limit_from_env(name: &str, default: Limit) -> Result<Limit, ConfigError> {
    let read = |var: String, default: u64| -> Result<u64, ConfigError> {
        match std::env::var(&var) {
            Err(_) => Ok(default),
            Ok(text) => match text.trim().parse::<u64>() {
                Ok(value) if value >= 1 => Ok(value),
                _ => Err(ConfigError(format!(
                    "{var} must be a whole number of at least 1"
                ))),
            },
        }
    };
    let max = read(name.to_owned(), u64::from(default.max))?;
    let window = read(format!("{name}_WINDOW_SECONDS"), default.window.as_secs())?;
    Ok(Limit {
        max: u32::try_from(max).map_err(|_| ConfigError(format!("{name} is too large")))?,
        window: std::time::Duration::from_secs(window),
    })
}

fn random_secret() -> Result<Vec<u8>, ConfigError> {
    use std::io::Read;
    let mut secret = vec![0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut secret))
        .map_err(|e| ConfigError(format!("reading /dev/urandom: {e}")))?;
    Ok(secret)
}
