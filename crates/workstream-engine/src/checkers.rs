//! Registering checker components: load, ask, validate, store.
//!
//! Registration is where a component earns its row in the registry (architecture §6,
//! §11: "compile components when they are registered, never on the request path"):
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
//! 4. the row is inserted with its audit event (`checker_component_registered`, system
//!    chain) in one transaction.
//!
//! Registration is idempotent by digest: bytes already registered return the existing
//! row without loading anything, so a restart does not recompile the built-ins.
//! [`register_builtins`] registers every component embedded in the binary
//! ([`workstream_sandbox::builtin::all`]) and is called at server start.
//!
//! [`validate_configuration`] is the same check a checker policy's configuration gets:
//! the instance against the component's declared schema (`checker_configuration_invalid`).

use serde_json::{Value, json};
use uuid::Uuid;
use workstream_domain::Digest;
use workstream_sandbox::{CheckerInfo, LoadedChecker, Sandbox, builtin};
use workstream_store::audit::{self, NewAuditEvent};
use workstream_store::checkers::{self as registry, CheckerComponent, NewCheckerComponent};

use crate::error::{CommandError, ErrorKind};

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

/// Loads `bytes` into the sandbox, calls `info()` and checks what it says, without
/// touching the database.
///
/// Loading is CPU-bound (milliseconds for a Rust guest, seconds for Python or
/// JavaScript when not cached): it runs on the calling thread.
pub async fn validate_component(
    sandbox: &Sandbox,
    bytes: &[u8],
) -> Result<ValidatedChecker, CommandError> {
    let loaded = sandbox
        .load(bytes)
        .map_err(|e| CommandError::invalid(e.code(), e.to_string()))?;
    let info = sandbox.info(&loaded).await.map_err(|(code, detail)| {
        CommandError::invalid(
            "checker_contract_mismatch",
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
    let validated = validate_component(sandbox, bytes).await?;
    let new = NewCheckerComponent {
        digest: digest.clone(),
        name: validated.info.name.clone(),
        version: validated.info.version.clone(),
        description: validated.info.description.clone(),
        config_schema: validated.config_schema,
        contract: validated.loaded.contract().as_str(),
        bytes,
        builtin,
        registered_by,
    };
    let mut tx = pool.begin().await.map_err(CommandError::from)?;
    let Some(component) = registry::insert(&mut tx, &new)
        .await
        .map_err(CommandError::from)?
    else {
        // Registered concurrently since the lookup above: same bytes, same row.
        drop(tx);
        let component = registry::get(pool, &digest)
            .await
            .map_err(CommandError::from)?
            .ok_or_else(|| CommandError::internal("registered component vanished"))?;
        return Ok(Registration {
            component,
            created: false,
        });
    };
    audit::append(
        &mut tx,
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
    tx.commit().await.map_err(CommandError::from)?;
    Ok(Registration {
        component,
        created: true,
    })
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
    Err(CommandError::invalid(
        "checker_configuration_invalid",
        format!("the configuration does not match the checker's schema: {first}"),
    )
    .with_details(json!({ "errors": errors })))
}

/// The registry's rules for what `info()` reports (the table's constraints, checked
/// first so the refusal says which field is wrong).
fn check_info(info: &CheckerInfo) -> Result<(), CommandError> {
    let refuse = |message: String| Err(CommandError::invalid("checker_info_invalid", message));
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
        Err(CommandError::invalid(
            "checker_config_schema_invalid",
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
                ErrorKind::Invalid,
                "checker_config_schema_invalid",
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
