//! Bearer tokens: the shape and claim rules every token must meet (docs/security.md,
//! steps 3 and 6-9), whichever key signed it.
//!
//! The rules are checked here, on the raw JSON, rather than by `jsonwebtoken`'s
//! `Validation`: upstream's rules are stricter and more specific than the crate's (an
//! `exp` that is a boolean, an audience list longer than 16, duplicate scopes, a
//! subject with surrounding whitespace) and each refusal must be attributable to one
//! rule. Signatures and keys are the verifier's (`workstream_api::auth`, which
//! re-exports this module as `auth::token`). Nothing here touches a key or does I/O,
//! which is why it lives in the domain crate: the token fuzz target (`fuzz/`) reaches
//! it without building the API's dependencies.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

/// Who a token speaks for (`subject_kind`). Matching is case-sensitive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectKind {
    /// A person.
    Human,
    /// A pre-provisioned service principal.
    Service,
    /// An AI agent: verified, then refused (403 `unsupported_subject_kind`).
    Agent,
    /// A shared space: verified, then refused (403 `unsupported_subject_kind`).
    Space,
}

impl SubjectKind {
    /// Parses the claim value.
    pub fn parse(value: &str) -> Option<SubjectKind> {
        match value {
            "human" => Some(SubjectKind::Human),
            "service" => Some(SubjectKind::Service),
            "agent" => Some(SubjectKind::Agent),
            "space" => Some(SubjectKind::Space),
            _ => None,
        }
    }

    /// The claim value.
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Human => "human",
            SubjectKind::Service => "service",
            SubjectKind::Agent => "agent",
            SubjectKind::Space => "space",
        }
    }
}

/// What a verified token says: identity only, never roles (`VerifiedIssuerToken`).
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedToken {
    /// The configured issuer the token was checked against.
    pub issuer: String,
    /// `sub`.
    pub subject: String,
    /// `subject_kind`.
    pub subject_kind: SubjectKind,
    /// `jti`.
    pub token_id: String,
    /// `scope`, as distinct tokens.
    pub scopes: Vec<String>,
    /// `aud`, as a list.
    pub audience: Vec<String>,
    /// `exp`, seconds since the epoch.
    pub expires_at: f64,
    /// `iat`, seconds since the epoch.
    pub issued_at: f64,
    /// `nbf`, when present.
    pub not_before: Option<f64>,
}

/// Why a token is refused. Each variant is one rule; `reason()` is the stable word
/// shown in the 401's `details.reason`, so a client (and a test) can tell which rule
/// failed without learning anything about the keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// The token is not acceptable; the reason names the rule.
    Invalid(&'static str),
    /// The keys cannot be obtained right now (503, retryable).
    Unavailable(String),
}

/// Limits and expected values shared by both verification modes.
#[derive(Debug, Clone)]
pub struct ClaimRules {
    /// `iss` must equal this exactly.
    pub issuer: String,
    /// `aud` must contain this.
    pub audience: String,
    /// Allowed clock skew in seconds (0..=300, default 30).
    pub skew_seconds: i64,
    /// The scope a human token must carry (`workstream:access`).
    pub human_scope: String,
    /// The scope a service token must carry (`workstream:service`).
    pub service_scope: String,
    /// Largest whole token, in bytes (default 16384).
    pub token_max_bytes: usize,
    /// Largest decoded header, in bytes (default 4096).
    pub header_max_bytes: usize,
    /// Largest decoded payload, in bytes (default 12288).
    pub payload_max_bytes: usize,
    /// How far ahead of now a human token's `exp` may be, in seconds (default 24 h): a
    /// token that never expires in practice (`exp: 1e308`) is refused, not trusted.
    pub human_max_lifetime_seconds: i64,
    /// The same for service tokens (default 30 days: services rotate less often).
    pub service_max_lifetime_seconds: i64,
}

impl ClaimRules {
    /// Upstream's defaults for `issuer` and `audience`.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> ClaimRules {
        ClaimRules {
            issuer: issuer.into(),
            audience: audience.into(),
            skew_seconds: 30,
            human_scope: "workstream:access".into(),
            service_scope: "workstream:service".into(),
            token_max_bytes: 16384,
            header_max_bytes: 4096,
            payload_max_bytes: 12288,
            human_max_lifetime_seconds: 24 * 3600,
            service_max_lifetime_seconds: 30 * 24 * 3600,
        }
    }
}

/// A token split into its parts, with header and payload decoded but nothing trusted.
#[derive(Debug, Clone)]
pub struct ParsedToken<'a> {
    /// The JOSE header.
    pub header: Map<String, Value>,
    /// The claims.
    pub claims: Map<String, Value>,
    /// `"<header_b64>.<payload_b64>"`, what the signature covers.
    pub signing_input: &'a str,
    /// The third segment, still base64url.
    pub signature: &'a str,
}

fn invalid(reason: &'static str) -> TokenError {
    TokenError::Invalid(reason)
}

fn decode_segment(
    segment: &str,
    max: usize,
    too_large: &'static str,
    malformed: &'static str,
) -> Result<Map<String, Value>, TokenError> {
    // Reject on the encoded size first so a huge segment is never decoded.
    if segment.len() > max.div_ceil(3) * 4 {
        return Err(invalid(too_large));
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| invalid(malformed))?;
    if bytes.len() > max {
        return Err(invalid(too_large));
    }
    serde_json::from_slice::<Map<String, Value>>(&bytes).map_err(|_| invalid(malformed))
}

/// Step 3: size, three segments, base64url JSON objects, no `jku`/`x5u`/`crit`.
pub fn parse<'a>(token: &'a str, rules: &ClaimRules) -> Result<ParsedToken<'a>, TokenError> {
    if token.len() > rules.token_max_bytes {
        return Err(invalid("token_too_large"));
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid("malformed_token"));
    };
    if signature.is_empty() {
        return Err(invalid("malformed_token"));
    }
    let header_map = decode_segment(
        header,
        rules.header_max_bytes,
        "header_too_large",
        "malformed_header",
    )?;
    let claims = decode_segment(
        payload,
        rules.payload_max_bytes,
        "payload_too_large",
        "malformed_payload",
    )?;
    // Keys named by the token itself would let the token choose who vouches for it.
    if header_map.contains_key("jku") || header_map.contains_key("x5u") {
        return Err(invalid("forbidden_header"));
    }
    if header_map.get("crit").is_some_and(|c| !c.is_null()) {
        return Err(invalid("forbidden_header"));
    }
    Ok(ParsedToken {
        header: header_map,
        claims,
        signing_input: &token[..header.len() + 1 + payload.len()],
        signature,
    })
}

fn number(claims: &Map<String, Value>, name: &str) -> Option<Result<f64, ()>> {
    claims.get(name).map(|value| match value {
        // A JSON boolean is not a number (Python's bool-is-int pitfall upstream guards).
        Value::Number(n) => n.as_f64().filter(|f| f.is_finite()).ok_or(()),
        _ => Err(()),
    })
}

fn scopes(value: Option<&Value>) -> Result<Vec<String>, TokenError> {
    let bad = || invalid("invalid_scope");
    let tokens: Vec<String> = match value {
        Some(Value::String(text)) => text.split(' ').map(str::to_owned).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned).ok_or_else(bad))
            .collect::<Result<_, _>>()?,
        None => return Err(invalid("missing_scope")),
        Some(_) => return Err(bad()),
    };
    if tokens.is_empty() || tokens.len() > 64 {
        return Err(bad());
    }
    let mut distinct: Vec<String> = Vec::with_capacity(tokens.len());
    for token in tokens {
        if token.is_empty() || token.len() > 128 || token.chars().any(char::is_whitespace) {
            return Err(bad());
        }
        if distinct.contains(&token) {
            return Err(bad());
        }
        distinct.push(token);
    }
    Ok(distinct)
}

fn audience(value: Option<&Value>, expected: &str) -> Result<Vec<String>, TokenError> {
    let bad = || invalid("invalid_audience");
    let list: Vec<String> = match value {
        None => return Err(invalid("missing_audience")),
        Some(Value::String(text)) if !text.is_empty() => vec![text.clone()],
        Some(Value::Array(items)) if (1..=16).contains(&items.len()) => items
            .iter()
            .map(|item| match item.as_str() {
                Some(text) if !text.is_empty() && text.len() <= 256 => Ok(text.to_owned()),
                _ => Err(bad()),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(bad()),
    };
    if !list.iter().any(|aud| aud == expected) {
        return Err(invalid("wrong_audience"));
    }
    Ok(list)
}

/// Steps 6-9: issuer, audience, time, and the shared claim rules, at `now` (seconds
/// since the epoch).
pub fn check_claims(
    claims: &Map<String, Value>,
    rules: &ClaimRules,
    now: f64,
) -> Result<VerifiedToken, TokenError> {
    // Every claim may end up in a record (the subject in the actor's profile, the
    // token id in the audit trail), and PostgreSQL stores no NUL character.
    if !storable(&Value::Object(claims.clone())) {
        return Err(invalid("claim_not_text"));
    }
    match claims.get("iss") {
        None => return Err(invalid("missing_issuer")),
        Some(Value::String(iss)) if *iss == rules.issuer => {}
        Some(_) => return Err(invalid("wrong_issuer")),
    }
    let audience = audience(claims.get("aud"), &rules.audience)?;
    let skew = rules.skew_seconds as f64;
    let expires_at = match number(claims, "exp") {
        None => return Err(invalid("missing_exp")),
        Some(Err(())) => return Err(invalid("invalid_exp")),
        Some(Ok(exp)) if exp <= now - skew => return Err(invalid("expired")),
        Some(Ok(exp)) => exp,
    };
    let issued_at = match number(claims, "iat") {
        None => return Err(invalid("missing_iat")),
        Some(Err(())) => return Err(invalid("invalid_iat")),
        Some(Ok(iat)) if iat > now + skew => return Err(invalid("issued_in_future")),
        Some(Ok(iat)) => iat,
    };
    let not_before = match number(claims, "nbf") {
        None => None,
        Some(Err(())) => return Err(invalid("invalid_nbf")),
        Some(Ok(nbf)) if nbf > now + skew => return Err(invalid("not_yet_valid")),
        Some(Ok(nbf)) => Some(nbf),
    };
    let subject = match claims.get("sub") {
        None => return Err(invalid("missing_sub")),
        Some(Value::String(sub))
            if !sub.is_empty() && sub.trim() == sub && sub.chars().count() <= 200 =>
        {
            sub.clone()
        }
        Some(_) => return Err(invalid("invalid_sub")),
    };
    let token_id = match claims.get("jti") {
        None => return Err(invalid("missing_jti")),
        Some(Value::String(jti)) if (1..=512).contains(&jti.chars().count()) => jti.clone(),
        Some(_) => return Err(invalid("invalid_jti")),
    };
    let subject_kind = match claims.get("subject_kind") {
        None => return Err(invalid("missing_subject_kind")),
        Some(value) => value
            .as_str()
            .and_then(SubjectKind::parse)
            .ok_or(invalid("invalid_subject_kind"))?,
    };
    let longest = match subject_kind {
        SubjectKind::Service => rules.service_max_lifetime_seconds,
        _ => rules.human_max_lifetime_seconds,
    };
    if expires_at > now + longest as f64 + skew {
        return Err(invalid("lifetime_too_long"));
    }
    let scopes = scopes(claims.get("scope"))?;
    let required = match subject_kind {
        SubjectKind::Human => Some(&rules.human_scope),
        SubjectKind::Service => Some(&rules.service_scope),
        // Refused after verification anyway; no scope is defined for them.
        SubjectKind::Agent | SubjectKind::Space => None,
    };
    if let Some(required) = required
        && !scopes.contains(required)
    {
        return Err(invalid("missing_required_scope"));
    }
    Ok(VerifiedToken {
        issuer: rules.issuer.clone(),
        subject,
        subject_kind,
        token_id,
        scopes,
        audience,
        expires_at,
        issued_at,
        not_before,
    })
}

/// Whether every string and key in `value` can be stored as PostgreSQL text (has no
/// NUL character).
fn storable(value: &Value) -> bool {
    match value {
        Value::String(s) => !s.contains('\0'),
        Value::Array(items) => items.iter().all(storable),
        Value::Object(map) => map.iter().all(|(k, v)| !k.contains('\0') && storable(v)),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules() -> ClaimRules {
        ClaimRules::new("https://auth.flow.local", "workstream-api")
    }

    fn claims(overrides: Value) -> Map<String, Value> {
        let mut base = json!({
            "iss": "https://auth.flow.local", "aud": "workstream-api", "sub": "alice",
            "jti": "j1", "subject_kind": "human", "scope": "workstream:access",
            "iat": 1000, "exp": 2000,
        });
        for (k, v) in overrides.as_object().unwrap() {
            if v.is_null() {
                base.as_object_mut().unwrap().remove(k);
            } else {
                base[k] = v.clone();
            }
        }
        base.as_object().unwrap().clone()
    }

    fn reason(overrides: Value) -> &'static str {
        match check_claims(&claims(overrides), &rules(), 1500.0) {
            Err(TokenError::Invalid(reason)) => reason,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_complete_token_passes() {
        let ok = check_claims(&claims(json!({})), &rules(), 1500.0).unwrap();
        assert_eq!(ok.subject, "alice");
        assert_eq!(ok.scopes, vec!["workstream:access"]);
    }

    #[test]
    fn each_rule_refuses_with_its_reason() {
        assert_eq!(reason(json!({"exp": true})), "invalid_exp");
        assert_eq!(reason(json!({"exp": 1400})), "expired");
        assert_eq!(reason(json!({"aud": []})), "invalid_audience");
        assert_eq!(reason(json!({"aud": vec!["a"; 17]})), "invalid_audience");
        assert_eq!(reason(json!({"aud": ["a", ""]})), "invalid_audience");
        assert_eq!(reason(json!({"sub": " alice"})), "invalid_sub");
        assert_eq!(
            reason(json!({"subject_kind": "Human"})),
            "invalid_subject_kind"
        );
        assert_eq!(
            reason(json!({"scope": "workstream:access workstream:access"})),
            "invalid_scope"
        );
        assert_eq!(reason(json!({"scope": "a  b"})), "invalid_scope");
        assert_eq!(reason(json!({"scope": ["a b"]})), "invalid_scope");
        assert_eq!(reason(json!({"scope": "other"})), "missing_required_scope");
        assert_eq!(reason(json!({"sub": "ali\u{0}ce"})), "claim_not_text");
        assert_eq!(reason(json!({"extra": {"k\u{0}": 1}})), "claim_not_text");
        assert_eq!(reason(json!({"exp": 1e308})), "lifetime_too_long");
        assert_eq!(
            reason(json!({"exp": 1500 + 24 * 3600 + 31})),
            "lifetime_too_long"
        );
        let day = json!({"exp": 1500 + 24 * 3600});
        assert!(check_claims(&claims(day), &rules(), 1500.0).is_ok());
        let service = json!({"subject_kind": "service", "scope": "workstream:service",
                             "exp": 1500 + 7 * 24 * 3600});
        assert!(check_claims(&claims(service), &rules(), 1500.0).is_ok());
    }

    #[test]
    fn skew_is_allowed_on_both_sides() {
        let within = claims(json!({"exp": 1480, "iat": 1520, "nbf": 1529}));
        assert!(check_claims(&within, &rules(), 1500.0).is_ok());
        assert_eq!(reason(json!({"exp": 1470})), "expired");
        assert_eq!(reason(json!({"iat": 1531})), "issued_in_future");
        assert_eq!(reason(json!({"nbf": 1531})), "not_yet_valid");
    }
}
