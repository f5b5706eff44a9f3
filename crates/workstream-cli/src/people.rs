//! The people a client command acts as on a local server: tokens minted with the local
//! secret, profiles made by their first request, system roles granted by the local
//! administrator when they lack them, and the payment adapter's service principal.
//!
//! `demo` makes a fresh crew per run (`demo-<run>-manager`, ...); `project import`
//! without `--token` uses the standing crew `local-manager`, `local-finance` and
//! `local-payment-adapter`, granting what is missing, so it can be repeated.

use std::time::Duration;

use serde_json::{Value, json};
use uuid::Uuid;
use workstream_api::auth::{LocalToken, SubjectKind, mint_local_token};
use workstream_domain::ErrorCode;

use crate::client::{Client, Keys};
use crate::fixes::CliError;
use crate::local::{self, LocalSecret};

/// The service identity of the built-in local payment adapter.
pub const LOCAL_ADAPTER_IDENTITY: &str = "workstream.payment.local_adapter";
/// The subject of the local payment adapter's service principal. A service identity
/// has one principal per server, so every client shares it (the README's walk-through
/// makes the same one on its fresh data directory).
pub const LOCAL_ADAPTER_SUBJECT: &str = "payment-adapter";

/// Mints local tokens with a server's secret.
#[derive(Clone)]
pub struct Minter {
    secret: String,
}

impl Minter {
    /// A minter with `secret`.
    pub fn new(secret: &LocalSecret) -> Minter {
        Minter {
            secret: secret.secret.clone(),
        }
    }

    /// An 8-hour token for `subject` of `kind`.
    pub fn token(&self, subject: &str, kind: SubjectKind) -> String {
        let token = LocalToken {
            subject: subject.to_owned(),
            kind,
            scopes: None,
            lifetime: Duration::from_secs(8 * 3600),
            issuer: local::issuer(),
            audience: local::audience(),
        };
        mint_local_token(self.secret.as_bytes(), &token)
    }
}

/// Someone the command acts as.
#[derive(Debug, Clone)]
pub struct Person {
    /// The token subject.
    pub subject: String,
    /// Their bearer token.
    pub token: String,
    /// Their actor profile.
    pub id: Uuid,
    /// Their system admin roles (`GET /actors/me`).
    pub admin_roles: Vec<String>,
}

fn uuid_at(value: &Value, pointer: &str) -> Result<Uuid, CliError> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            CliError::new(
                "unexpected_answer",
                format!("the server's answer has no id at {pointer}: {value}"),
            )
        })
}

/// Signs in as `subject` (the first request makes the profile).
pub async fn person(
    client: &Client,
    minter: &Minter,
    subject: &str,
    kind: SubjectKind,
) -> Result<Person, CliError> {
    let token = minter.token(subject, kind);
    let me = client.get(&token, "/actors/me").await?;
    Ok(Person {
        subject: subject.to_owned(),
        id: uuid_at(&me, "/actor_profile_id")?,
        admin_roles: me["admin_roles"]
            .as_array()
            .map(|r| {
                r.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        token,
    })
}

/// The local access administrator `subject`, or `local_admin_missing`.
pub async fn administrator(
    client: &Client,
    minter: &Minter,
    subject: &str,
) -> Result<Person, CliError> {
    let admin = person(client, minter, subject, SubjectKind::Human).await?;
    if !admin
        .admin_roles
        .iter()
        .any(|r| r == "access_administrator")
    {
        return Err(CliError::new(
            "local_admin_missing",
            format!(
                "`{subject}` is not an access administrator of {}",
                client.server()
            ),
        ));
    }
    Ok(admin)
}

/// Grants `role` (system scope) to `person` as `admin`, unless they hold it.
pub async fn ensure_system_role(
    client: &Client,
    admin: &Person,
    person: &mut Person,
    role: &str,
    keys: &Keys,
) -> Result<(), CliError> {
    if person.admin_roles.iter().any(|r| r == role) {
        return Ok(());
    }
    client
        .post(
            &admin.token,
            "/admin-role-grants",
            &json!({ "target_actor_profile_id": person.id, "role": role, "scope_type": "system",
                     "reason": format!("{role} for {}", person.subject) }),
            keys.key(&format!("grant {role} {}", person.subject)),
        )
        .await?;
    person.admin_roles.push(role.to_owned());
    Ok(())
}

/// The local payment adapter's service principal `subject`, made by `admin` if it does
/// not exist yet.
pub async fn ensure_adapter(
    client: &Client,
    minter: &Minter,
    admin: &Person,
    subject: &str,
    keys: &Keys,
) -> Result<Person, CliError> {
    let made = client
        .post(
            &admin.token,
            "/service-actors",
            &json!({ "service_identity": LOCAL_ADAPTER_IDENTITY, "subject": subject,
                     "reason": "the local payment adapter" }),
            keys.key(&format!("service actor {subject}")),
        )
        .await;
    let exists = match made {
        Ok(_) => false,
        Err(err)
            if err.is(ErrorCode::IdentityAlreadyLinked)
                || err.is(ErrorCode::ServiceIdentityExists) =>
        {
            true
        }
        Err(err) => return Err(err),
    };
    person(client, minter, subject, SubjectKind::Service)
        .await
        .map_err(|err| {
            if exists {
                CliError::new(
                    "local_adapter_unknown",
                    format!(
                        "the server's local payment adapter is not `{subject}` ({}: {})",
                        err.code, err.message
                    ),
                )
            } else {
                err
            }
        })
}

/// A project manager, a finance authority and the payment adapter.
pub struct Crew {
    /// The project manager (system scope).
    pub manager: Person,
    /// The finance authority (system scope).
    pub finance: Person,
    /// The payment adapter's service principal.
    pub adapter: Person,
}

/// Signs in `manager` and `finance` with their system roles (granted by `admin` where
/// missing) and the adapter `adapter`.
pub async fn crew(
    client: &Client,
    minter: &Minter,
    admin: &Person,
    subjects: [&str; 3],
    keys: &Keys,
) -> Result<Crew, CliError> {
    let [manager, finance, adapter] = subjects;
    let mut manager = person(client, minter, manager, SubjectKind::Human).await?;
    ensure_system_role(client, admin, &mut manager, "project_manager", keys).await?;
    let mut finance = person(client, minter, finance, SubjectKind::Human).await?;
    ensure_system_role(client, admin, &mut finance, "finance_authority", keys).await?;
    let adapter = ensure_adapter(client, minter, admin, adapter, keys).await?;
    Ok(Crew {
        manager,
        finance,
        adapter,
    })
}

/// The id at `pointer` of an answer.
pub fn id(value: &Value, pointer: &str) -> Result<Uuid, CliError> {
    uuid_at(value, pointer)
}

/// The local secret as a client needs it, or `local_secret_missing`.
pub fn local_minter(data_dir: &std::path::Path) -> Result<Minter, CliError> {
    match local::require_secret(data_dir) {
        Ok(secret) => Ok(Minter::new(&secret)),
        Err(err) => Err(CliError::new("local_secret_missing", format!("{err:#}"))),
    }
}
