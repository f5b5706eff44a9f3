//! `workstream worker`: runs against a current database until SIGTERM and exits 0;
//! refuses a database whose schema is behind the binary.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use workstream_store::testing::TestDatabase;

fn workstream() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_workstream"));
    cmd.env_remove("WORKSTREAM_DATABASE_URL")
        .env("WORKSTREAM_LOG", "warn");
    cmd
}

#[tokio::test(flavor = "multi_thread")]
async fn the_worker_runs_until_sigterm_and_stops_cleanly() {
    let db = TestDatabase::create().await.unwrap();
    let mut child = workstream()
        .args(["worker", "--concurrency", "3", "--worker-id", "cli-test"])
        .env("WORKSTREAM_DATABASE_URL", db.url())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert!(line.contains("worker cli-test"), "{line:?}");
    assert!(line.contains("3 slot(s)"), "{line:?}");
    assert!(line.contains("a 60 s lease"), "the default lease: {line:?}");

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(exit.success(), "the worker exits 0 on SIGTERM: {exit:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_worker_refuses_a_schema_that_is_behind() {
    let db = TestDatabase::create().await.unwrap();
    sqlx::query(
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT max(version) FROM _sqlx_migrations)",
    )
    .execute(db.pool())
    .await
    .unwrap();
    let out = workstream()
        .arg("worker")
        .env("WORKSTREAM_DATABASE_URL", db.url())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("schema is behind"), "{stderr}");
}

#[test]
fn zero_slots_is_a_usage_error() {
    let out = workstream()
        .args(["worker", "--concurrency", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

#[test]
fn a_zero_lease_is_a_usage_error() {
    let out = workstream()
        .args(["worker", "--lease-seconds", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}
