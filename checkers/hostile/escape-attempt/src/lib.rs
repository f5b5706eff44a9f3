//! Hostile test guest: tries to leave its sandbox and reports the outcome.
//!
//! Each attempt becomes one finding: `escape_denied` (`info`) when the
//! sandbox refused it, `escape_succeeded` (`error`) when it worked. A
//! correctly configured host therefore gets a *passing* report listing every
//! attempt as denied, and a test can assert on the codes. One control read
//! (`packet_readable`, `info`) proves that the legitimate view of `/packet`
//! still works, so "everything denied" cannot come from a broken mount.
//!
//! Attempts: read `/etc/passwd`; read and list through `/packet/..`; list
//! `/`; read relative to the working directory; create, and append to,
//! files under the read-only `/packet`; read environment variables and
//! arguments (the host gives none). Never registered outside tests.

use std::fs::{self, OpenOptions};
use std::io::Write;

use workstream_checker_sdk::{CheckError, Checker, Context, Findings, NoConfig, export_checker};

/// The checker.
pub struct EscapeAttempt;

impl Checker for EscapeAttempt {
    const NAME: &'static str = "hostile-escape-attempt";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str =
        "Test guest: tries to read and write outside its read-only /packet view.";
    const CONFIG_SCHEMA: &'static str = r#"{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","additionalProperties":false}"#;
    type Config = NoConfig;

    fn check(ctx: &Context, _config: &NoConfig, out: &mut Findings) -> Result<(), CheckError> {
        attempt(out, "read /etc/passwd", || {
            fs::read("/etc/passwd").map(|b| b.len())
        });
        attempt(out, "read /packet/../etc/passwd", || {
            fs::read("/packet/../etc/passwd").map(|b| b.len())
        });
        attempt(out, "list /packet/..", || {
            fs::read_dir("/packet/..").map(|d| d.count())
        });
        attempt(out, "list /", || fs::read_dir("/").map(|d| d.count()));
        attempt(out, "read ../etc/passwd", || {
            fs::read("../etc/passwd").map(|b| b.len())
        });
        attempt(out, "create /packet/escape.txt", || {
            fs::write("/packet/escape.txt", b"escaped").map(|()| 7)
        });
        if let Some(entry) = ctx.manifest().iter().next() {
            let path = format!("/packet/{}", entry.path);
            attempt(out, "append to a packet file", || {
                let mut file = OpenOptions::new().append(true).open(&path)?;
                file.write_all(b"tampered").map(|()| 8)
            });
        }
        let variables = std::env::vars_os().count();
        let arguments = std::env::args_os().count();
        if variables + arguments > 0 {
            out.error(
                "escape_succeeded",
                format!("saw {variables} environment variables and {arguments} arguments"),
            );
        } else {
            out.info("escape_denied", "environment and arguments are empty");
        }

        // The control: the legitimate view must work.
        let listed = fs::read_dir("/packet").map(|entries| entries.count());
        match listed {
            Ok(count) => {
                out.info(
                    "packet_readable",
                    format!("listed {count} entries in /packet"),
                );
            }
            Err(err) => {
                out.error(
                    "packet_unreadable",
                    format!("could not list /packet: {err}"),
                );
            }
        }
        Ok(())
    }
}

/// Runs one attempt and records whether it got through.
fn attempt(out: &mut Findings, what: &str, action: impl FnOnce() -> std::io::Result<usize>) {
    match action() {
        Ok(amount) => {
            out.error("escape_succeeded", format!("{what}: succeeded ({amount})"));
        }
        Err(err) => {
            out.info(
                "escape_denied",
                format!("{what}: denied ({:?})", err.kind()),
            );
        }
    }
}

export_checker!(EscapeAttempt);
