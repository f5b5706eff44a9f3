//! Hostile test guest: a checker that imports `hostile:forbidden-import/exfiltrate`,
//! an interface no host provides and the import policy does not allow.
//!
//! The host must refuse it when it is loaded (publication, `checker test`, `checker
//! inspect`), with `checker_import_not_allowed` naming the import, before compiling
//! anything; never at run time. `check` calls the import, so it stays in the
//! component's imports. Never registered outside tests.

#![allow(missing_docs, unsafe_code, clippy::too_many_arguments)]

wit_bindgen::generate!({
    // The contract first: the world includes it.
    path: ["../../../wit/checker.wit", "wit/world.wit"],
    world: "hostile:forbidden-import/checker",
});

struct Forbidden;

impl Guest for Forbidden {
    fn info() -> CheckerInfo {
        CheckerInfo {
            name: "hostile-forbidden-import".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Test guest importing an interface checkers may not import.".into(),
            config_schema: r#"{"type":"object"}"#.into(),
        }
    }

    fn check(input: CheckInput) -> Result<Report, String> {
        hostile::forbidden_import::exfiltrate::send(&input.summary);
        Ok(Report {
            findings: Vec::new(),
            summary: None,
        })
    }
}

export!(Forbidden);
