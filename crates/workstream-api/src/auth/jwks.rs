//! Production keys: a JWKS document and a pinned algorithm list.
//!
//! `WORKSTREAM_TOKEN_JWKS_URL` says where the document is:
//!
//! * an `https://` URL: the identity provider's JWKS endpoint, fetched with the rules of
//!   [`super::network`] (rustls and the webpki roots, plus `WORKSTREAM_TOKEN_JWKS_CA_FILE`
//!   for a private CA; no redirects, no environment proxy, timeouts from
//!   `WORKSTREAM_TOKEN_JWKS_{CONNECT,READ,WRITE,POOL,TOTAL}_TIMEOUT_SECONDS`, at most
//!   `WORKSTREAM_TOKEN_JWKS_MAX_RESPONSE_BYTES` (262144) read). The document is fetched
//!   on first use rather than at startup, so the server can start while the provider is
//!   briefly unreachable; until a fetch succeeds, authenticated requests answer 503.
//! * a file path or a `file://` URL: keys mounted by the deployment (or kept fresh by a
//!   sidecar). The file is read at startup, and a file that cannot be read stops it.
//!
//! Plain `http://` is refused at startup.
//!
//! Keys are cached for `WORKSTREAM_TOKEN_JWKS_CACHE_TTL_SECONDS` (300); at most
//! `WORKSTREAM_TOKEN_JWKS_MAX_KEYS` (20) are taken from a document. A `kid` that is not in
//! the cache triggers one refresh (a key rotation), after which it is remembered as
//! unknown for `WORKSTREAM_TOKEN_UNKNOWN_KID_CACHE_TTL_SECONDS` (30), up to
//! `WORKSTREAM_TOKEN_UNKNOWN_KID_CACHE_MAX_ENTRIES` (100) kids. Refreshes caused by
//! unknown kids are also limited to one per that TTL, whatever the kid, so a flood of
//! made-up kids costs at most one fetch per window (the price: a key rotated in during
//! such a window is accepted once the window ends). One fetch runs at a time; requests
//! that need the keys meanwhile wait for it instead of fetching again.
//!
//! Any failure to obtain the document (unreachable, timeout, TLS, a status other than
//! 200, a redirect, too large, not a JWKS) makes verification unavailable (503
//! `identity_verification_unavailable`, retryable), never silently permissive; after a
//! failed fetch, requests needing one answer 503 for [`RETRY_AFTER_FAILURE`] without
//! trying again. Keys past their TTL are not used when the refresh fails.
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
use reqwest::Url;
use serde_json::{Map, Value};
use tokio::sync::Mutex;

use super::network::{HttpsSettings, fetch_capped, https_url};
use super::token::TokenError;
use crate::config::ConfigError;

/// Default `WORKSTREAM_TOKEN_JWKS_MAX_RESPONSE_BYTES`.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 262_144;
/// Default `WORKSTREAM_TOKEN_JWKS_MAX_KEYS`.
pub const DEFAULT_MAX_KEYS: usize = 20;
/// Default `WORKSTREAM_TOKEN_UNKNOWN_KID_CACHE_MAX_ENTRIES`.
pub const DEFAULT_UNKNOWN_KID_MAX_ENTRIES: usize = 100;
/// After a failed fetch, how long requests that need one answer 503 without retrying.
pub const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(1);

/// Where the JWKS document comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum JwksSource {
    /// A file mounted by the deployment.
    File(PathBuf),
    /// The identity provider's HTTPS endpoint.
    Https(Url),
}

/// The production verifier's settings.
#[derive(Debug, Clone)]
pub struct JwksConfig {
    /// `WORKSTREAM_TOKEN_ISSUER`: an https URL, not the local placeholder.
    pub issuer: String,
    /// `WORKSTREAM_TOKEN_AUDIENCE` (default `workstream`).
    pub audience: String,
    /// `WORKSTREAM_TOKEN_ALGORITHMS`: distinct, one key family.
    pub algorithms: Vec<Algorithm>,
    /// Where the JWKS document is (`WORKSTREAM_TOKEN_JWKS_URL`).
    pub source: JwksSource,
    /// How long loaded keys are trusted before a refresh.
    pub cache_ttl: Duration,
    /// How long an unknown kid is remembered, and the shortest time between two
    /// refreshes caused by unknown kids.
    pub unknown_kid_ttl: Duration,
    /// Most unknown kids remembered (`WORKSTREAM_TOKEN_UNKNOWN_KID_CACHE_MAX_ENTRIES`).
    pub unknown_kid_max_entries: usize,
    /// Most keys taken from one document (`WORKSTREAM_TOKEN_JWKS_MAX_KEYS`).
    pub max_keys: usize,
    /// Timeouts, response cap (also applied to a file) and extra CA of the fetch.
    pub network: HttpsSettings,
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

fn count(
    name: &str,
    default: usize,
    range: std::ops::RangeInclusive<usize>,
) -> Result<usize, ConfigError> {
    match env(name) {
        None => Ok(default),
        Some(text) => text
            .trim()
            .parse()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| {
                ConfigError(format!(
                    "{name} must be a whole number in {}..={}",
                    range.start(),
                    range.end()
                ))
            }),
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
        let mut config = JwksConfig::new(
            &issuer,
            &env("WORKSTREAM_TOKEN_AUDIENCE").unwrap_or_else(|| "workstream".into()),
            &algorithms,
            &location,
            seconds("WORKSTREAM_TOKEN_JWKS_CACHE_TTL_SECONDS", 300)?,
            seconds("WORKSTREAM_TOKEN_UNKNOWN_KID_CACHE_TTL_SECONDS", 30)?,
        )?;
        config.max_keys = count("WORKSTREAM_TOKEN_JWKS_MAX_KEYS", DEFAULT_MAX_KEYS, 1..=1000)?;
        config.unknown_kid_max_entries = count(
            "WORKSTREAM_TOKEN_UNKNOWN_KID_CACHE_MAX_ENTRIES",
            DEFAULT_UNKNOWN_KID_MAX_ENTRIES,
            0..=100_000,
        )?;
        config.network =
            HttpsSettings::from_env("WORKSTREAM_TOKEN_JWKS", DEFAULT_MAX_RESPONSE_BYTES)?;
        Ok(config)
    }

    /// Validates explicit settings; `algorithms` is a comma list, `location` an
    /// `https://` URL, a `file://` URL or a path. The other settings take their
    /// defaults (the fields are public).
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
            source: jwks_source(location)?,
            cache_ttl,
            unknown_kid_ttl,
            unknown_kid_max_entries: DEFAULT_UNKNOWN_KID_MAX_ENTRIES,
            max_keys: DEFAULT_MAX_KEYS,
            network: HttpsSettings::with_max_response_bytes(DEFAULT_MAX_RESPONSE_BYTES),
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

fn jwks_source(location: &str) -> Result<JwksSource, ConfigError> {
    const NAME: &str = "WORKSTREAM_TOKEN_JWKS_URL";
    if location.starts_with("https://") {
        return https_url(NAME, location).map(JwksSource::Https);
    }
    if location.starts_with("http://") {
        return Err(ConfigError(format!(
            "{NAME} must be an https:// URL (or the path of a mounted JWKS file): keys \
             fetched over plain http could be swapped on the way"
        )));
    }
    let path = location.strip_prefix("file://").unwrap_or(location);
    if path.is_empty() {
        return Err(ConfigError(format!("{NAME} is empty")));
    }
    if path.contains("://") {
        return Err(ConfigError(format!(
            "{NAME} must be an https:// URL, a file:// URL or a path"
        )));
    }
    Ok(JwksSource::File(PathBuf::from(path)))
}

#[derive(Debug)]
struct UsableKey {
    alg: Algorithm,
    key: DecodingKey,
}

#[derive(Debug)]
struct Cache {
    keys: HashMap<String, UsableKey>,
    /// When the keys were last loaded; `None` before the first fetch.
    loaded_at: Option<Instant>,
    /// Kids found in no document, and when.
    unknown: HashMap<String, Instant>,
    /// The last refresh caused by an unknown kid.
    last_miss_refresh: Option<Instant>,
    /// The last failed fetch.
    failed_at: Option<Instant>,
}

/// What a lookup needs next.
enum Next {
    Found(DecodingKey),
    Refused(TokenError),
    Fetch { miss: bool },
}

/// The cached keys of one JWKS document.
#[derive(Debug)]
pub struct JwksKeys {
    config: JwksConfig,
    client: Option<reqwest::Client>,
    cache: Mutex<Cache>,
    /// Held while fetching: one fetch at a time.
    fetching: Mutex<()>,
}

impl JwksKeys {
    /// Prepares the key source. A file is read now, and one that cannot be read stops
    /// startup; an HTTPS document is fetched on first use (a bad CA file stops startup).
    pub fn load(config: JwksConfig) -> Result<JwksKeys, ConfigError> {
        let mut cache = Cache {
            keys: HashMap::new(),
            loaded_at: None,
            unknown: HashMap::new(),
            last_miss_refresh: None,
            failed_at: None,
        };
        let client = match &config.source {
            JwksSource::File(path) => {
                cache.keys = read_file(path, config.network.max_response_bytes)
                    .and_then(|text| parse_document(&text, &config))
                    .map_err(|why| ConfigError(format!("WORKSTREAM_TOKEN_JWKS_URL: {why}")))?;
                cache.loaded_at = Some(Instant::now());
                None
            }
            JwksSource::Https(_) => Some(config.network.client("WORKSTREAM_TOKEN_JWKS_URL")?),
        };
        Ok(JwksKeys {
            config,
            client,
            cache: Mutex::new(cache),
            fetching: Mutex::new(()),
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
        // Fast path: the key is cached (or refused) without waiting for a fetch.
        match self.next(&mut *self.cache.lock().await, kid, alg) {
            Next::Found(key) => return Ok(key),
            Next::Refused(err) => return Err(err),
            Next::Fetch { .. } => {}
        }
        let _one_fetch = self.fetching.lock().await;
        // Decide again: a fetch that finished while this request waited may have
        // answered it.
        let miss = {
            let mut cache = self.cache.lock().await;
            match self.next(&mut cache, kid, alg) {
                Next::Found(key) => return Ok(key),
                Next::Refused(err) => return Err(err),
                Next::Fetch { miss } => {
                    if miss {
                        cache.last_miss_refresh = Some(Instant::now());
                    }
                    miss
                }
            }
        };
        let fetched = self.fetch().await;
        let mut cache = self.cache.lock().await;
        let keys = match fetched {
            Ok(keys) => keys,
            Err(why) => {
                tracing::warn!(%why, "JWKS document unavailable");
                cache.failed_at = Some(Instant::now());
                return Err(TokenError::Unavailable(why));
            }
        };
        tracing::debug!(keys = keys.len(), miss, "JWKS document loaded");
        cache.keys = keys;
        cache.loaded_at = Some(Instant::now());
        cache.failed_at = None;
        let ttl = self.config.unknown_kid_ttl;
        cache.unknown.retain(|_, at| at.elapsed() < ttl);
        match self.next(&mut cache, kid, alg) {
            Next::Found(key) => Ok(key),
            Next::Refused(err) => Err(err),
            // A refresh for stale keys that did not find the kid either.
            Next::Fetch { .. } => {
                self.remember_unknown(&mut cache, kid);
                Err(TokenError::Invalid("unknown_kid"))
            }
        }
    }

    /// What to do for `kid` given the cache as it is.
    fn next(&self, cache: &mut Cache, kid: &str, alg: Algorithm) -> Next {
        let fresh = cache
            .loaded_at
            .is_some_and(|at| at.elapsed() < self.config.cache_ttl);
        if fresh {
            if let Some(found) = cache.keys.get(kid) {
                if found.alg != alg {
                    return Next::Refused(TokenError::Invalid("key_algorithm_mismatch"));
                }
                return Next::Found(found.key.clone());
            }
            let ttl = self.config.unknown_kid_ttl;
            let recently = |at: Option<&Instant>| at.is_some_and(|at| at.elapsed() < ttl);
            if recently(cache.unknown.get(kid)) {
                return Next::Refused(TokenError::Invalid("unknown_kid"));
            }
            if recently(cache.last_miss_refresh.as_ref()) {
                self.remember_unknown(cache, kid);
                return Next::Refused(TokenError::Invalid("unknown_kid"));
            }
        }
        if cache
            .failed_at
            .is_some_and(|at| at.elapsed() < RETRY_AFTER_FAILURE)
        {
            return Next::Refused(TokenError::Unavailable(
                "the last JWKS fetch failed moments ago".into(),
            ));
        }
        Next::Fetch { miss: fresh }
    }

    fn remember_unknown(&self, cache: &mut Cache, kid: &str) {
        let ttl = self.config.unknown_kid_ttl;
        if cache.unknown.len() >= self.config.unknown_kid_max_entries {
            cache.unknown.retain(|_, at| at.elapsed() < ttl);
        }
        if cache.unknown.len() < self.config.unknown_kid_max_entries {
            cache.unknown.insert(kid.to_owned(), Instant::now());
        }
    }

    async fn fetch(&self) -> Result<HashMap<String, UsableKey>, String> {
        let max = self.config.network.max_response_bytes;
        let text = match (&self.config.source, &self.client) {
            (JwksSource::File(path), _) => read_file(path, max)?,
            (JwksSource::Https(url), Some(client)) => {
                let request = client.get(url.clone()).header(
                    reqwest::header::ACCEPT,
                    "application/json, application/jwk-set+json",
                );
                fetch_capped(request, max, self.config.network.total_timeout).await?
            }
            (JwksSource::Https(_), None) => return Err("no HTTPS client".into()),
        };
        parse_document(&text, &self.config)
    }
}

fn read_file(path: &std::path::Path, max: usize) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let mut text = Vec::new();
    file.take(max as u64 + 1)
        .read_to_end(&mut text)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if text.len() > max {
        return Err(format!("larger than {max} bytes"));
    }
    Ok(text)
}

fn parse_document(text: &[u8], config: &JwksConfig) -> Result<HashMap<String, UsableKey>, String> {
    let document: Value = serde_json::from_slice(text).map_err(|e| format!("not JSON: {e}"))?;
    let entries = document
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("no \"keys\" array")?;
    if entries.len() > config.max_keys {
        tracing::warn!(
            keys = entries.len(),
            max = config.max_keys,
            "JWKS document has more keys than WORKSTREAM_TOKEN_JWKS_MAX_KEYS; the rest are ignored"
        );
    }
    let mut keys = HashMap::new();
    for entry in entries.iter().take(config.max_keys) {
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
    fn the_jwks_location_is_https_or_a_file() {
        assert!(matches!(
            jwks_source("https://id.example.com/.well-known/jwks.json"),
            Ok(JwksSource::Https(_))
        ));
        assert_eq!(
            jwks_source("file:///run/keys/jwks.json").unwrap(),
            JwksSource::File("/run/keys/jwks.json".into())
        );
        assert_eq!(
            jwks_source("keys/jwks.json").unwrap(),
            JwksSource::File("keys/jwks.json".into())
        );
        assert!(jwks_source("http://id.example.com/jwks").is_err());
        assert!(jwks_source("ftp://id.example.com/jwks").is_err());
        assert!(jwks_source("file://").is_err());
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
