//! Registering checker components: load, ask, validate, store.
//!
//! Registration is where a component earns its row in the registry (docs/checkers.md: "compile components when they are registered, never on the request path"):
//!
//! 1. the sandbox loads the bytes — import allow-list, compilation, pre-linking against
//!    a published version of the `workstream:checker` world (recorded as the row's
//!    `contract`) — and a refusal keeps its
//!    [`workstream_sandbox::LoadError`] code (`checker_component_invalid`,
//!    `checker_import_not_allowed`, `checker_contract_mismatch`);
//! 2. `info()` is called under the sandbox's limits; a trap or timeout there is
//!    `checker_contract_mismatch` too (the component does not answer as the contract
//!    says);
//! 3. what `info()` said is checked: the name, version and description fit the
//!    registry's rules (`checker_info_invalid`), and the configuration schema is a JSON
//!    object that is a valid JSON Schema (draft 2020-12) (`checker_config_schema_invalid`);
//! 4. a `check` of an empty packet (no files, `{}` configuration) must finish under the
//!    production limits: a report, or the checker's own `err` answer (a configuration
//!    it needs is missing), but not a trap, a timeout, a memory blow-up or a report the
//!    platform refuses (`checker_smoke_check_failed`), so that a component that can
//!    never produce a result is refused when it is published, not on its first packet;
//! 5. the row is inserted with its audit event (`checker_component_registered`, system
//!    chain) in one transaction, which also notifies every process of the deployment
//!    ([`PUBLISHED_CHANNEL`]) so each compiles the component before a job needs it.
//!
//! Registration is idempotent by digest: bytes already registered return the existing
//! row without loading anything, so a restart does not recompile the built-ins.
//! [`register_builtins`] registers every component embedded in the binary
//! ([`workstream_sandbox::builtin::all`]) and is called at server start. Publication over
//! HTTP validates first ([`validate_for_publication`], outside any transaction:
//! compiling a Python component takes seconds) and then [`publish`]es in the request's
//! transaction.
//!
//! [`validate_configuration`] is the same check a checker policy's configuration gets:
//! the instance against the component's declared schema (`checker_configuration_invalid`).

use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::Digest;
use workstream_domain::ErrorCode;
use workstream_sandbox::{CheckRequest, CheckerInfo, LoadedChecker, Phase, Sandbox, builtin};
use workstream_store::audit::{self, NewAuditEvent};
use workstream_store::checkers::{self as registry, CheckerComponent, NewCheckerComponent};

use crate::error::CommandError;

/// The `LISTEN`/`NOTIFY` channel a publication notifies; the payload is the digest.
pub const PUBLISHED_CHANNEL: &str = "workstream_checker_published";

/// What a registration did.
#[derive(Debug, Clone, PartialEq)]
pub struct Registration {
    /// The registry row (new or existing).
    pub component: CheckerComponent,
    /// `false` when the digest was already registered.
    pub created: bool,
}

/// A component that passed every registration check but is not stored yet: what
/// `checker inspect` shows and [`register_component`] stores.
#[derive(Debug, Clone)]
pub struct ValidatedChecker {
    /// The loaded (compiled, pre-linked) component.
    pub loaded: LoadedChecker,
    /// What its `info()` said.
    pub info: CheckerInfo,
    /// `info.config_schema`, parsed.
    pub config_schema: Value,
}

/// Loads `bytes` into the sandbox, calls `info()` and checks what it says (steps 1-3 of
/// the module docs), without touching the database: what `checker test` needs before
/// it runs the component on the author's packet.
///
/// Loading is CPU-bound (milliseconds for a Rust guest, seconds for Python or
/// JavaScript when not cached): it runs on the calling thread.
pub async fn validate_component(
    sandbox: &Sandbox,
    bytes: &[u8],
) -> Result<ValidatedChecker, CommandError> {
    let loaded = sandbox
        .load(bytes)
        .map_err(|e| CommandError::new(e.code(), e.to_string()))?;
    let info = sandbox.info(&loaded).await.map_err(|(code, detail)| {
        CommandError::new(
            ErrorCode::CheckerContractMismatch,
            format!("info() did not answer ({}): {detail}", code.as_str()),
        )
    })?;
    check_info(&info)?;
    let config_schema = check_config_schema(&info.config_schema)?;
    Ok(ValidatedChecker {
        loaded,
        info,
        config_schema,
    })
}

/// Everything publication checks (see the module docs, steps 1-4), without touching
/// the database: [`validate_component`] and a `check` of an empty packet under the
/// production limits. What `POST /checkers`, `checker inspect` and [`register_component`]
/// run.
pub async fn validate_for_publication(
    sandbox: &Sandbox,
    bytes: &[u8],
) -> Result<ValidatedChecker, CommandError> {
    let validated = validate_component(sandbox, bytes).await?;
    smoke_check(sandbox, &validated.loaded).await?;
    Ok(validated)
}

/// Registers a component (see the module docs). `registered_by` is `None` for the
/// platform itself.
pub async fn register_component(
    pool: &sqlx::PgPool,
    sandbox: &Sandbox,
    bytes: &[u8],
    builtin: bool,
    registered_by: Option<Uuid>,
) -> Result<Registration, CommandError> {
    let digest = Digest::of_bytes(bytes).to_string();
    if let Some(component) = registry::get(pool, &digest)
        .await
        .map_err(CommandError::from)?
    {
        return Ok(Registration {
            component,
            created: false,
        });
    }
    let validated = validate_for_publication(sandbox, bytes).await?;
    let mut tx = pool.begin().await.map_err(CommandError::from)?;
    let registration = publish(&mut tx, &validated, bytes, builtin, registered_by).await?;
    tx.commit().await.map_err(CommandError::from)?;
    Ok(registration)
}

/// Stores a validated component in `conn`'s transaction: the registry row, its audit
/// event and the notification to every process ([`PUBLISHED_CHANNEL`]). Bytes already
/// registered (by an earlier or a concurrent publication) return the existing row,
/// with `created: false`, and nothing else is written.
pub async fn publish(
    conn: &mut PgConnection,
    validated: &ValidatedChecker,
    bytes: &[u8],
    builtin: bool,
    registered_by: Option<Uuid>,
) -> Result<Registration, CommandError> {
    let digest = validated.loaded.digest().to_string();
    let new = NewCheckerComponent {
        digest: digest.clone(),
        name: validated.info.name.clone(),
        version: validated.info.version.clone(),
        description: validated.info.description.clone(),
        config_schema: validated.config_schema.clone(),
        contract: validated.loaded.contract().as_str(),
        bytes,
        builtin,
        registered_by,
    };
    let Some(component) = registry::insert(conn, &new)
        .await
        .map_err(CommandError::from)?
    else {
        let component = registry::get(&mut *conn, &digest)
            .await
            .map_err(CommandError::from)?
            .ok_or_else(|| CommandError::internal("registered component vanished"))?;
        return Ok(Registration {
            component,
            created: false,
        });
    };
    audit::append(
        conn,
        NewAuditEvent {
            entity_type: "checker_component".into(),
            event_type: "checker_component_registered".into(),
            actor_id: registered_by,
            payload: json!({
                "digest": component.digest,
                "name": component.name,
                "version": component.version,
                "byte_count": component.byte_count,
                "builtin": component.builtin,
                "contract": component.contract,
            }),
            ..NewAuditEvent::default()
        },
    )
    .await
    .map_err(CommandError::internal)?;
    sqlx::query!(
        "SELECT pg_notify($1, $2)",
        PUBLISHED_CHANNEL,
        &component.digest
    )
    .execute(&mut *conn)
    .await
    .map_err(CommandError::from)?;
    Ok(Registration {
        component,
        created: true,
    })
}

/// Step 4 of validation: `check` of an empty packet under the production limits.
async fn smoke_check(sandbox: &Sandbox, loaded: &LoadedChecker) -> Result<(), CommandError> {
    let empty = tempfile::tempdir().map_err(CommandError::internal)?;
    let outcome = sandbox
        .run(loaded, CheckRequest::new(Phase::PostSubmit), empty.path())
        .await
        .map_err(CommandError::internal)?;
    match &outcome.result {
        workstream_sandbox::RunResult::Completed { .. } => Ok(()),
        result if result.declined() => Ok(()),
        workstream_sandbox::RunResult::InfrastructureFailed { code, detail } => {
            Err(CommandError::new(ErrorCode::CheckerSmokeCheckFailed,
                format!(
                    "check() of an empty packet did not finish under the production limits ({}): {detail}",
                    code.as_str()
                ),
            )
            .with_details(json!({ "failure_code": code.as_str(), "fuel_consumed": outcome.fuel_consumed })))
        }
    }
}

/// Registers every built-in checker (pinned by the digest of the bytes embedded in
/// this binary). Called at server start; an error here is a broken build and must stop
/// the start.
pub async fn register_builtins(
    pool: &sqlx::PgPool,
    sandbox: &Sandbox,
) -> Result<Vec<Registration>, CommandError> {
    let mut registrations = Vec::with_capacity(builtin::all().len());
    for checker in builtin::all() {
        let registration = register_component(pool, sandbox, checker.bytes, true, None)
            .await
            .map_err(|e| {
                CommandError::internal(format!("built-in checker {}: {e}", checker.name))
            })?;
        if registration.component.name != checker.name {
            return Err(CommandError::internal(format!(
                "built-in checker {} calls itself {}",
                checker.name, registration.component.name
            )));
        }
        registrations.push(registration);
    }
    Ok(registrations)
}

/// Checks a configuration against a component's declared schema (draft 2020-12).
/// Refused with `checker_configuration_invalid` and the schema errors in the details.
pub fn validate_configuration(schema: &Value, configuration: &Value) -> Result<(), CommandError> {
    let validator = compile_schema(schema)?;
    let errors: Vec<Value> = validator
        .iter_errors(configuration)
        .take(50)
        .map(|e| json!({"path": e.instance_path().to_string(), "message": e.to_string()}))
        .collect();
    if errors.is_empty() {
        return Ok(());
    }
    let first = errors[0]["message"].as_str().unwrap_or_default().to_owned();
    Err(CommandError::new(
        ErrorCode::CheckerConfigurationInvalid,
        format!("the configuration does not match the checker's schema: {first}"),
    )
    .with_details(json!({ "errors": errors })))
}

/// The registry's rules for what `info()` reports (the table's constraints, checked
/// first so the refusal says which field is wrong).
fn check_info(info: &CheckerInfo) -> Result<(), CommandError> {
    let refuse = |message: String| Err(CommandError::new(ErrorCode::CheckerInfoInvalid, message));
    let name_ok = info.name.len() <= 100
        && info.name.starts_with(|c: char| c.is_ascii_lowercase())
        && info
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-'));
    if !name_ok {
        return refuse(format!(
            "info().name {:?} must be 1-100 characters of a-z, 0-9, `_`, `.`, `-`, starting with a letter",
            info.name
        ));
    }
    if !(1..=64).contains(&info.version.chars().count()) {
        return refuse("info().version must be 1-64 characters".into());
    }
    if info.description.chars().count() > 4000 {
        return refuse("info().description must be at most 4000 characters".into());
    }
    Ok(())
}

/// Parses `info().config_schema` and checks it is a JSON object and a valid JSON Schema.
fn check_config_schema(text: &str) -> Result<Value, CommandError> {
    let refuse = |message: String| {
        Err(CommandError::new(
            ErrorCode::CheckerConfigSchemaInvalid,
            message,
        ))
    };
    let schema: Value = match serde_json::from_str(text) {
        Ok(schema) => schema,
        Err(e) => return refuse(format!("info().config_schema is not JSON: {e}")),
    };
    if !schema.is_object() {
        return refuse("info().config_schema must be a JSON object".into());
    }
    if let Err(e) = jsonschema::draft202012::meta::validate(&schema) {
        return refuse(format!(
            "info().config_schema is not a valid JSON Schema: {e}"
        ));
    }
    compile_schema(&schema)?;
    Ok(schema)
}

fn compile_schema(schema: &Value) -> Result<jsonschema::Validator, CommandError> {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(schema)
        .map_err(|e| {
            CommandError::new(
                ErrorCode::CheckerConfigSchemaInvalid,
                format!("the checker's configuration schema does not compile: {e}"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_schemas_must_be_objects_and_valid() {
        assert!(check_config_schema(r#"{"type": "object"}"#).is_ok());
        for bad in [
            "not json",
            "[]",
            "true",
            r#"{"type": 7}"#,
            r#"{"properties": {"a": {"minLength": -1}}}"#,
        ] {
            let err = check_config_schema(bad).unwrap_err();
            assert_eq!(err.code, "checker_config_schema_invalid", "{bad}");
        }
    }

    #[test]
    fn configurations_are_checked_against_the_schema() {
        let schema = json!({
            "type": "object",
            "additionalProperties": false,
            "properties": {"paths": {"type": "array", "items": {"type": "string"}}}
        });
        assert!(validate_configuration(&schema, &json!({"paths": ["a"]})).is_ok());
        let err = validate_configuration(&schema, &json!({"paths": "a"})).unwrap_err();
        assert_eq!(err.code, "checker_configuration_invalid");
        assert_eq!(err.details["errors"][0]["path"], "/paths");
    }

    #[test]
    fn info_fields_follow_the_registry_rules() {
        let info = |name: &str, version: &str| CheckerInfo {
            name: name.into(),
            version: version.into(),
            description: String::new(),
            config_schema: "{}".into(),
        };
        assert!(check_info(&info("required-files", "0.1.0")).is_ok());
        assert!(check_info(&info("Required", "0.1.0")).is_err());
        assert!(check_info(&info("", "0.1.0")).is_err());
        assert!(check_info(&info("a b", "0.1.0")).is_err());
        assert!(check_info(&info("ok", "")).is_err());
    }
}
