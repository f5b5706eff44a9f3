//! Bearer token parsing and claim rules (`workstream_domain::bearer`) on arbitrary
//! input, two ways: the bytes as a whole token, and the bytes as the claims of a token
//! with a well-formed header (which reaches the claim rules far more often).
//!
//! Never a panic; a parsed token's parts put back together are the token; the claims a
//! token carries are exactly the JSON object encoded in it; an accepted token keeps
//! every rule it was checked against (issuer, audience, times, subject, scopes).
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use workstream_domain::bearer::{ClaimRules, SubjectKind, TokenError, check_claims, parse};

const NOW: f64 = 1_800_000_000.0;

fn rules() -> ClaimRules {
    ClaimRules::new("https://auth.flow.local", "workstream-api")
}

fn check(token: &str, rules: &ClaimRules) {
    let parsed = match parse(token, rules) {
        Ok(parsed) => parsed,
        Err(TokenError::Invalid(_)) => return,
        Err(other) => panic!("parsing never needs keys: {other:?}"),
    };
    assert_eq!(
        format!("{}.{}", parsed.signing_input, parsed.signature),
        token
    );
    assert!(token.len() <= rules.token_max_bytes);
    match check_claims(&parsed.claims, rules, NOW) {
        Ok(verified) => {
            assert_eq!(verified.issuer, rules.issuer);
            assert_eq!(parsed.claims["iss"], rules.issuer.as_str());
            assert!(verified.audience.contains(&rules.audience));
            assert!(verified.expires_at > NOW - rules.skew_seconds as f64);
            assert!(verified.issued_at <= NOW + rules.skew_seconds as f64);
            assert!(
                verified
                    .not_before
                    .is_none_or(|nbf| nbf <= NOW + rules.skew_seconds as f64)
            );
            assert!(!verified.subject.is_empty() && verified.subject.trim() == verified.subject);
            assert!(!verified.token_id.is_empty());
            assert!(!verified.scopes.is_empty() && verified.scopes.len() <= 64);
            let mut distinct = verified.scopes.clone();
            distinct.sort();
            distinct.dedup();
            assert_eq!(distinct.len(), verified.scopes.len(), "scopes are distinct");
            match verified.subject_kind {
                SubjectKind::Human => assert!(verified.scopes.contains(&rules.human_scope)),
                SubjectKind::Service => assert!(verified.scopes.contains(&rules.service_scope)),
                SubjectKind::Agent | SubjectKind::Space => {}
            }
        }
        Err(TokenError::Invalid(_)) => {}
        Err(other) => panic!("claim rules never need keys: {other:?}"),
    }
}

/// Checks one input; panics on a violated property.
pub fn run(data: &[u8]) {
    let rules = rules();
    if let Ok(token) = std::str::from_utf8(data) {
        check(token, &rules);
    }
    if let Ok(serde_json::Value::Object(claims)) = serde_json::from_slice::<serde_json::Value>(data)
    {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let token = format!("{header}.{}.c2ln", URL_SAFE_NO_PAD.encode(data));
        match parse(&token, &rules) {
            Ok(parsed) => assert_eq!(parsed.claims, claims),
            Err(TokenError::Invalid(reason)) => assert!(
                reason == "token_too_large" || reason == "payload_too_large",
                "a JSON object payload is refused only for its size, not {reason}"
            ),
            Err(other) => panic!("{other:?}"),
        }
        check(&token, &rules);
    }
}
