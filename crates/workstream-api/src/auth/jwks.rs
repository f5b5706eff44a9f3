//! Production keys: a JWKS document and a pinned algorithm list.
//!
//! The document is read from a file (`WORKSTREAM_TOKEN_JWKS_URL` holding a path or a
//! `file://` URL): a deployment mounts the identity provider's keys, or a sidecar keeps
//! the file fresh. Fetching over HTTPS is not built in.
//!
//! Keys are cached for `WORKSTREAM_TOKEN_JWKS_CACHE_TTL_SECONDS` (300). A `kid` that is
//! not in the cache triggers one re-read (a key rotation), after which it is remembered
//! as unknown for `WORKSTREAM_TOKEN_UNKNOWN_KID_CACHE_TTL_SECONDS` (30), so a flood of
//! made-up kids cannot turn into a flood of reads. A document that cannot be read makes
//! verification unavailable (503), never silently permissive.
//!
//! Only asymmetric keys are ever used: an `oct` key in the document is ignored, and the
//! token's `alg` must be in the pinned list, which holds one key family, and must equal
//! the JWK's own `alg` — so a token cannot pick a weaker algorithm for a strong key.

use std::collections::HashMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};
use serde_json::{Map, Value};
use tokio::sync::Mutex;

use super::token::TokenError;
use crate::config::ConfigError;

/// The production verifier's settings.
#[derive(Debug, Clone)]
pub struct JwksConfig {
    /// `WORKSTREAM_TOKEN_ISSUER`: an https URL, not the local placeholder.
    pub issuer: String,
    /// `WORKSTREAM_TOKEN_AUDIENCE` (default `workstream`).
    pub audience: String,
    /// `WORKSTREAM_TOKEN_ALGORITHMS`: distinct, one key family.
    pub algorithms: Vec<Algorithm>,
    /// Where the JWKS document is.
    pub path: PathBuf,
    /// How long loaded keys are trusted before a re-read.
    pub cache_ttl: Duration,
    /// How long an unknown kid is remembered.
    pub unknown_kid_ttl: Duration,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn seconds(name: &str, default: u64) -> Result<Duration, ConfigError> {
    match env(name) {
        None => Ok(Duration::from_secs(default)),
        Some(text) => text
            .trim()
            .parse()
            .map(Duration::from_secs)
            .map_err(|_| ConfigError(format!("{name} must be a whole number of seconds"))),
    }
}

impl JwksConfig {
    /// Reads the `WORKSTREAM_TOKEN_*` variables.
    pub fn from_env() -> Result<JwksConfig, ConfigError> {
        let issuer = env("WORKSTREAM_TOKEN_ISSUER")
            .ok_or_else(|| ConfigError("WORKSTREAM_TOKEN_ISSUER is required".into()))?;
        let location = env("WORKSTREAM_TOKEN_JWKS_URL")
            .ok_or_else(|| ConfigError("WORKSTREAM_TOKEN_JWKS_URL is required".into()))?;
        let algorithms = env("WORKSTREAM_TOKEN_ALGORITHMS")
            .ok_or_else(|| ConfigError("WORKSTREAM_TOKEN_ALGORITHMS is required".into()))?;
        JwksConfig::new(
            &issuer,
            &env("WORKSTREAM_TOKEN_AUDIENCE").unwrap_or_else(|| "workstream".into()),
            &algorithms,
            &location,
            seconds("WORKSTREAM_TOKEN_JWKS_CACHE_TTL_SECONDS", 300)?,
            seconds("WORKSTREAM_TOKEN_UNKNOWN_KID_CACHE_TTL_SECONDS", 30)?,
        )
    }

    /// Validates explicit settings; `algorithms` is a comma list.
    pub fn new(
        issuer: &str,
        audience: &str,
        algorithms: &str,
        location: &str,
        cache_ttl: Duration,
        unknown_kid_ttl: Duration,
    ) -> Result<JwksConfig, ConfigError> {
        check_issuer(issuer)?;
        if audience.is_empty() || audience.len() > 256 || audience.contains(char::is_whitespace) {
            return Err(ConfigError(
                "WORKSTREAM_TOKEN_AUDIENCE must be 1..256 bytes without whitespace".into(),
            ));
        }
        Ok(JwksConfig {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            algorithms: pinned_algorithms(algorithms)?,
            path: jwks_path(location)?,
            cache_ttl,
            unknown_kid_ttl,
        })
    }
}

fn check_issuer(issuer: &str) -> Result<(), ConfigError> {
    let bad = |why: &str| ConfigError(format!("WORKSTREAM_TOKEN_ISSUER {why}"));
    let Some(rest) = issuer.strip_prefix("https://") else {
        return Err(bad("must be an https URL"));
    };
    if issuer.len() > 200 || issuer.trim() != issuer {
        return Err(bad(
            "must be at most 200 bytes without surrounding whitespace",
        ));
    }
    if issuer.contains(['?', '#']) {
        return Err(bad("must not have a query or fragment"));
    }
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') {
        return Err(bad("must have a host and no userinfo"));
    }
    let host = authority.split(':').next().unwrap_or_default();
    if host.eq_ignore_ascii_case("auth.flow.local") {
        return Err(bad("must not be the local placeholder auth.flow.local"));
    }
    Ok(())
}

/// The pinned list: distinct, asymmetric, one family, supported by the crypto backend.
fn pinned_algorithms(list: &str) -> Result<Vec<Algorithm>, ConfigError> {
    let mut algorithms = Vec::new();
    for name in list.split(',').map(str::trim) {
        let alg = match name {
            "RS256" | "RS384" | "RS512" | "ES256" | "ES384" | "EdDSA" => {
                Algorithm::from_str(name).map_err(|_| ConfigError(format!("bad alg {name}")))?
            }
            other => {
                return Err(ConfigError(format!(
                    "WORKSTREAM_TOKEN_ALGORITHMS: {other:?} is not one of RS256, RS384, \
                     RS512, ES256, ES384, EdDSA"
                )));
            }
        };
        if algorithms.contains(&alg) {
            return Err(ConfigError(format!(
                "WORKSTREAM_TOKEN_ALGORITHMS lists {name} twice"
            )));
        }
        algorithms.push(alg);
    }
    let family = algorithms[0].family();
    if algorithms.iter().any(|alg| alg.family() != family) {
        return Err(ConfigError(
            "WORKSTREAM_TOKEN_ALGORITHMS must all belong to one key family".into(),
        ));
    }
    Ok(algorithms)
}

fn jwks_path(location: &str) -> Result<PathBuf, ConfigError> {
    if location.starts_with("https://") || location.starts_with("http://") {
        return Err(ConfigError(
            "WORKSTREAM_TOKEN_JWKS_URL: fetching keys over the network is not built in; \
             give the path of a JWKS file (kept fresh by the deployment)"
                .into(),
        ));
    }
    let path = location.strip_prefix("file://").unwrap_or(location);
    if path.is_empty() {
        return Err(ConfigError("WORKSTREAM_TOKEN_JWKS_URL is empty".into()));
    }
    Ok(PathBuf::from(path))
}

/// Largest JWKS document read.
const MAX_DOCUMENT_BYTES: u64 = 262_144;
/// Most keys taken from one document.
const MAX_KEYS: usize = 20;
/// Most unknown kids remembered.
const MAX_UNKNOWN_KIDS: usize = 100;

#[derive(Debug)]
struct UsableKey {
    alg: Algorithm,
    key: DecodingKey,
}

#[derive(Debug)]
struct Cache {
    keys: HashMap<String, UsableKey>,
    loaded_at: Instant,
    unknown: HashMap<String, Instant>,
}

/// The cached keys of one JWKS document.
#[derive(Debug)]
pub struct JwksKeys {
    config: JwksConfig,
    cache: Mutex<Cache>,
}

impl JwksKeys {
    /// Reads the document once; a document that cannot be read stops startup.
    pub fn load(config: JwksConfig) -> Result<JwksKeys, ConfigError> {
        let keys = read_document(&config)
            .map_err(|why| ConfigError(format!("WORKSTREAM_TOKEN_JWKS_URL: {why}")))?;
        Ok(JwksKeys {
            config,
            cache: Mutex::new(Cache {
                keys,
                loaded_at: Instant::now(),
                unknown: HashMap::new(),
            }),
        })
    }

    /// The token's `alg`, if it is pinned. `none` and HMAC never are.
    pub fn algorithm_of(&self, header: &Map<String, Value>) -> Result<Algorithm, TokenError> {
        let refused = TokenError::Invalid("unsupported_algorithm");
        let name = header
            .get("alg")
            .and_then(Value::as_str)
            .ok_or(refused.clone())?;
        let alg = Algorithm::from_str(name).map_err(|_| refused.clone())?;
        if alg.family() == AlgorithmFamily::Hmac || !self.config.algorithms.contains(&alg) {
            return Err(refused);
        }
        Ok(alg)
    }

    /// The key `kid` for a token signed with `alg`.
    pub async fn key(&self, kid: &str, alg: Algorithm) -> Result<DecodingKey, TokenError> {
        let mut cache = self.cache.lock().await;
        let stale = cache.loaded_at.elapsed() >= self.config.cache_ttl;
        let known_unknown = cache
            .unknown
            .get(kid)
            .is_some_and(|at| at.elapsed() < self.config.unknown_kid_ttl);
        if stale || (!cache.keys.contains_key(kid) && !known_unknown) {
            let keys = read_document(&self.config).map_err(|why| {
                tracing::warn!(%why, "JWKS document unavailable");
                TokenError::Unavailable(why)
            })?;
            cache.keys = keys;
            cache.loaded_at = Instant::now();
            cache
                .unknown
                .retain(|_, at| at.elapsed() < self.config.unknown_kid_ttl);
        }
        let Some(found) = cache.keys.get(kid) else {
            if cache.unknown.len() < MAX_UNKNOWN_KIDS {
                cache.unknown.insert(kid.to_owned(), Instant::now());
            }
            return Err(TokenError::Invalid("unknown_kid"));
        };
        if found.alg != alg {
            return Err(TokenError::Invalid("key_algorithm_mismatch"));
        }
        Ok(found.key.clone())
    }
}

fn read_document(config: &JwksConfig) -> Result<HashMap<String, UsableKey>, String> {
    use std::io::Read;
    let file = std::fs::File::open(&config.path)
        .map_err(|e| format!("cannot open {}: {e}", config.path.display()))?;
    let mut text = Vec::new();
    file.take(MAX_DOCUMENT_BYTES + 1)
        .read_to_end(&mut text)
        .map_err(|e| format!("cannot read {}: {e}", config.path.display()))?;
    if text.len() as u64 > MAX_DOCUMENT_BYTES {
        return Err(format!("larger than {MAX_DOCUMENT_BYTES} bytes"));
    }
    let document: Value = serde_json::from_slice(&text).map_err(|e| format!("not JSON: {e}"))?;
    let entries = document
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("no \"keys\" array")?;
    let mut keys = HashMap::new();
    for entry in entries.iter().take(MAX_KEYS) {
        match usable(entry, &config.algorithms) {
            Ok((kid, key)) => {
                keys.insert(kid, key);
            }
            Err(why) => tracing::warn!(%why, "JWKS key skipped"),
        }
    }
    Ok(keys)
}

/// A JWK the verifier may use: a kid, an asymmetric key matching its pinned `alg`,
/// RSA of 2048 bits or more, EC on the curve of its algorithm, Ed25519 for EdDSA.
fn usable(entry: &Value, pinned: &[Algorithm]) -> Result<(String, UsableKey), String> {
    let jwk: Jwk = serde_json::from_value(entry.clone()).map_err(|e| format!("bad JWK: {e}"))?;
    let kid = jwk
        .common
        .key_id
        .clone()
        .filter(|kid| !kid.is_empty() && kid.chars().count() <= 256)
        .ok_or("JWK without a kid")?;
    let alg = jwk
        .common
        .key_algorithm
        // KeyAlgorithm names its variants like Algorithm does.
        .and_then(|alg| Algorithm::from_str(&format!("{alg:?}")).ok())
        .ok_or_else(|| format!("JWK {kid} has no usable alg"))?;
    if !pinned.contains(&alg) {
        return Err(format!("JWK {kid}: alg {alg:?} is not pinned"));
    }
    match (&jwk.algorithm, alg) {
        (AlgorithmParameters::RSA(rsa), Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512) => {
            let modulus = URL_SAFE_NO_PAD
                .decode(&rsa.n)
                .map_err(|_| format!("JWK {kid}: bad modulus"))?;
            let first = modulus
                .iter()
                .position(|b| *b != 0)
                .unwrap_or(modulus.len());
            let significant = &modulus[first..];
            let bits = significant.len() * 8
                - significant
                    .first()
                    .map_or(0, |b| b.leading_zeros() as usize);
            if bits < 2048 {
                return Err(format!(
                    "JWK {kid}: RSA modulus of {bits} bits is too small"
                ));
            }
        }
        (AlgorithmParameters::EllipticCurve(ec), Algorithm::ES256)
            if ec.curve == EllipticCurve::P256 => {}
        (AlgorithmParameters::EllipticCurve(ec), Algorithm::ES384)
            if ec.curve == EllipticCurve::P384 => {}
        (AlgorithmParameters::OctetKeyPair(okp), Algorithm::EdDSA)
            if okp.curve == EllipticCurve::Ed25519 => {}
        _ => return Err(format!("JWK {kid}: key type does not match alg {alg:?}")),
    }
    let key = DecodingKey::from_jwk(&jwk).map_err(|e| format!("JWK {kid}: {e}"))?;
    Ok((kid, UsableKey { alg, key }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pinned_list_is_one_asymmetric_family() {
        assert!(pinned_algorithms("RS256,RS384").is_ok());
        assert!(pinned_algorithms("RS256,ES256").is_err());
        assert!(pinned_algorithms("HS256").is_err());
        assert!(pinned_algorithms("none").is_err());
        assert!(pinned_algorithms("ES256,ES256").is_err());
    }

    #[test]
    fn the_issuer_is_a_plain_https_url() {
        assert!(check_issuer("https://id.example.com").is_ok());
        assert!(check_issuer("http://id.example.com").is_err());
        assert!(check_issuer("https://u@id.example.com").is_err());
        assert!(check_issuer("https://id.example.com/?a=1").is_err());
        assert!(check_issuer("https://auth.flow.local").is_err());
    }
}
