//! Runs `tests/sql/schema_checks.sql` (252 checks of every constraint and trigger of
//! the schema, each with its expected SQLSTATE and constraint name) with `psql`
//! against a fresh database.

use std::path::Path;
use std::process::Command;

use workstream_store::embedded::find_server_binaries;
use workstream_store::testing::TestDatabase;

#[tokio::test]
async fn every_schema_check_passes() {
    let db = TestDatabase::create().await.unwrap();
    let psql = find_server_binaries()
        .map(|dir| dir.join("psql"))
        .ok()
        .filter(|p| p.is_file())
        .unwrap_or_else(|| "psql".into());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sql/schema_checks.sql");
    let out = Command::new(psql)
        .arg("--no-psqlrc")
        .arg("--dbname")
        .arg(db.url())
        .arg("--file")
        .arg(&script)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let failures: Vec<&str> = stdout.lines().filter(|l| l.contains("FAIL")).collect();
    assert!(
        out.status.success() && failures.is_empty(),
        "schema checks failed ({}):\n{}\n{stderr}",
        out.status,
        failures.join("\n")
    );
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("schema_checks:"))
        .expect("the summary line");
    assert!(summary.ends_with(" 0 failed"), "{summary}");
}
