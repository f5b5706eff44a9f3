//! `workstream token`: mints a local HS256 token for development and tests.
//!
//! Signed with `WORKSTREAM_FLOW_AUTH_LOCAL_HMAC_SECRET`, the secret a `local`/`test`
//! server verifies with, or, when that is unset, with the secret file `up` created under
//! the data directory (`--data-dir` / `WORKSTREAM_DATA_DIR`, see [`crate::local`]); issuer and audience default to the same variables the server
//! reads, so a token minted here is accepted there. Any subject, kind, scope and
//! lifetime can be asked for, including ones the server will refuse: that is how the
//! refusals are tried by hand.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use workstream_api::auth::mint::{LOCAL_DEFAULT_AUDIENCE, LOCAL_DEFAULT_ISSUER};
use workstream_api::auth::{LocalToken, SubjectKind, mint_local_token};

/// The arguments of `workstream token`.
#[derive(Debug, clap::Args)]
pub struct TokenArgs {
    /// The `sub` claim.
    #[arg(long)]
    subject: String,
    /// `human`, `service`, `agent` or `space`.
    #[arg(long, default_value = "human")]
    kind: String,
    /// Scopes (repeat the flag or separate with spaces); default: the kind's required
    /// scope (`workstream:access` for humans, `workstream:service` otherwise).
    #[arg(long = "scope")]
    scopes: Vec<String>,
    /// How long the token is valid: `90s`, `30m`, `1h`, `7d` or plain seconds.
    #[arg(long, default_value = "1h")]
    lifetime: String,
    /// The `iss` claim.
    #[arg(long, env = "WORKSTREAM_FLOW_AUTH_ISSUER", default_value = LOCAL_DEFAULT_ISSUER)]
    issuer: String,
    /// The `aud` claim.
    #[arg(long, env = "WORKSTREAM_FLOW_AUTH_AUDIENCE", default_value = LOCAL_DEFAULT_AUDIENCE)]
    audience: String,
    /// The data directory whose secret file is used when the variable is unset.
    #[arg(long, env = "WORKSTREAM_DATA_DIR", default_value = ".workstream")]
    data_dir: PathBuf,
}

/// Parses `90s`, `30m`, `1h`, `7d` or a number of seconds.
fn lifetime(text: &str) -> anyhow::Result<Duration> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((at, _)) => text.split_at(at),
        None => (text, "s"),
    };
    let number: u64 = number
        .parse()
        .with_context(|| format!("--lifetime {text:?}: expected e.g. 90s, 30m, 1h, 7d"))?;
    let seconds = match unit {
        "s" => number,
        "m" => number * 60,
        "h" => number * 3600,
        "d" => number * 86_400,
        other => bail!("--lifetime: unknown unit {other:?} (use s, m, h or d)"),
    };
    if seconds == 0 {
        bail!("--lifetime must be positive");
    }
    Ok(Duration::from_secs(seconds))
}

/// Prints a signed token on stdout.
pub fn run(args: TokenArgs) -> anyhow::Result<()> {
    let secret = crate::local::require_secret(&args.data_dir)
        .map_err(|e| crate::fixes::CliError::new("local_secret_missing", format!("{e:#}")))?
        .secret;
    let kind = SubjectKind::parse(&args.kind)
        .with_context(|| format!("--kind {:?}: use human, service, agent or space", args.kind))?;
    let scopes: Vec<String> = args
        .scopes
        .iter()
        .flat_map(|s| s.split_whitespace())
        .map(str::to_owned)
        .collect();
    let token = LocalToken {
        subject: args.subject,
        kind,
        scopes: (!scopes.is_empty()).then_some(scopes),
        lifetime: lifetime(&args.lifetime)?,
        issuer: args.issuer,
        audience: args.audience,
    };
    println!("{}", mint_local_token(secret.as_bytes(), &token));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_parse() {
        assert_eq!(lifetime("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(lifetime("90").unwrap(), Duration::from_secs(90));
        assert_eq!(lifetime("2d").unwrap(), Duration::from_secs(172_800));
        assert!(lifetime("1y").is_err());
        assert!(lifetime("0s").is_err());
        assert!(lifetime("h").is_err());
    }
}
