//! The README's run command, for real: `workstream up` on a fresh data directory
//! starts the embedded PostgreSQL, migrates it, serves `/api/v1/health` (and `/metrics`
//! on `WORKSTREAM_METRICS_BIND`, logging JSON lines), and on Ctrl-C shuts the server and
//! the cluster down cleanly.

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
    // A free port for the metrics address (taken back by the server a moment later).
    let metrics_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();

    let mut child = workstream()
        .args(["up", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(&data_dir)
        .env("WORKSTREAM_LOG", "info,sqlx=warn")
        .env("WORKSTREAM_LOG_FORMAT", "json")
        .env(
            "WORKSTREAM_METRICS_BIND",
            format!("127.0.0.1:{metrics_port}"),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The log, read as it comes so the pipe never fills.
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let log = std::thread::spawn(move || stderr.lines().map_while(Result::ok).collect::<Vec<_>>());
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

    // The metrics address answers without a token, and has counted that request.
    let metrics = reqwest::get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("workstream_http_requests_total{")
                && l.contains(r#"route="/api/v1/health""#)
                && l.contains(r#"status="200""#)),
        "{text}"
    );
    assert!(
        text.contains("workstream_db_pool_connections{state=\"idle\"}"),
        "{text}"
    );
    // On the main address, /metrics wants an operator's token.
    let refused = reqwest::get(format!("{base}/metrics")).await.unwrap();
    assert_eq!(refused.status(), 401);

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
    // JSON lines, no terminal colours, one per request with its route and correlation id.
    let log = log.join().unwrap();
    assert!(log.iter().all(|line| !line.contains('\u{1b}')), "{log:?}");
    let requests: Vec<serde_json::Value> = log
        .iter()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|entry| entry["fields"]["message"] == "request")
        .collect();
    let health = requests
        .iter()
        .find(|r| r["fields"]["route"] == "/api/v1/health")
        .unwrap_or_else(|| panic!("no request line for the health check in {log:?}"));
    assert_eq!(health["level"], "INFO");
    assert_eq!(health["fields"]["method"], "GET");
    assert_eq!(health["fields"]["status"], 200);
    assert!(health["fields"]["latency_ms"].is_number(), "{health}");
    assert!(
        health["fields"]["correlation_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "{health}"
    );
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
