//! The README's run command, for real: `workstream up` on a fresh data directory
//! starts the embedded PostgreSQL, migrates it, serves `/api/v1/health`, and on Ctrl-C
//! shuts the server and the cluster down cleanly.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

fn workstream() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_workstream"));
    cmd.env_remove("WORKSTREAM_DATABASE_URL")
        .env("WORKSTREAM_LOG", "warn");
    cmd
}

#[tokio::test(flavor = "multi_thread")]
async fn up_serves_health_on_the_embedded_database_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    // PostgreSQL runs as `nobody` when the tests run as root; it must reach the dir.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let data_dir = dir.path().join("state");

    let mut child = workstream()
        .args(["up", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(&data_dir)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_owned();

    let body: serde_json::Value = reqwest::get(format!("{base}/api/v1/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"]["status"], "up");

    let pid_file = data_dir.join("postgres/data/postmaster.pid");
    assert!(
        pid_file.exists(),
        "the embedded cluster runs under the data dir"
    );
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(exit.success(), "up exits 0 after Ctrl-C: {exit:?}");
    assert!(
        !pid_file.exists(),
        "a clean PostgreSQL shutdown removes postmaster.pid"
    );

    // The cluster persists: the audit chain of the (empty) database verifies.
    let verify = workstream()
        .args(["audit", "verify", "--data-dir"])
        .arg(&data_dir)
        .output()
        .unwrap();
    assert!(verify.status.success(), "{verify:?}");
}

#[test]
fn serve_refuses_without_a_database_url() {
    let out = workstream().arg("serve").output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("WORKSTREAM_DATABASE_URL") || stderr.contains("--database-url"),
        "{stderr}"
    );
}
