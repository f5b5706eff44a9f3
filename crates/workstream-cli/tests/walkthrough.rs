//! The README's set-up walk-through, for real: `admin bootstrap` and `up` on a fresh data
//! directory, then `examples/walkthrough/walkthrough.sh` (curl, jq and the `workstream
//! token` command only) takes a manager, a finance authority, a submitter and a reviewer
//! from nothing to a submitted packet that the checkers (run by `up`'s in-process
//! worker) pass into `review_pending`, a reviewer asks for a revision, version 2 answers
//! the finding and is accepted, and the award is delivered and reported paid. The outcome is then read back over HTTP and the
//! audit chains are verified.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::Value;
use workstream_e2e::toolchains::{or_skip, pip_packages};

const SECRET: &str = "walkthrough-secret-of-at-least-thirty-two-bytes";

fn workstream() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_workstream"));
    cmd.env_remove("WORKSTREAM_DATABASE_URL")
        .env_remove("WORKSTREAM_FLOW_AUTH_ISSUER")
        .env_remove("WORKSTREAM_FLOW_AUTH_AUDIENCE")
        .env("WORKSTREAM_FLOW_AUTH_LOCAL_HMAC_SECRET", SECRET)
        .env("WORKSTREAM_LOG", "warn");
    cmd
}

/// Stops `up` with Ctrl-C when the test ends, whatever the outcome.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

fn token(subject: &str) -> String {
    let out = workstream()
        .args(["token", "--subject", subject])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

async fn get(base: &str, token: &str, path: &str) -> Value {
    let response = reqwest::Client::new()
        .get(format!("{base}/api/v1{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "GET {path}");
    response.json().await.unwrap()
}

/// `admin bootstrap` (subject `root`) and `up` on a fresh data directory under `dir`:
/// the running server, its base URL and the data directory.
fn bootstrap_and_up(dir: &Path) -> (Server, String, std::path::PathBuf) {
    // PostgreSQL runs as `nobody` when the tests run as root; it must reach the dir.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let data_dir = dir.join("state");

    let bootstrap = workstream()
        .args(["admin", "bootstrap", "--issuer", "https://auth.flow.local"])
        .args(["--subject", "root", "--data-dir"])
        .arg(&data_dir)
        .output()
        .unwrap();
    assert!(bootstrap.status.success(), "{bootstrap:?}");

    let mut child = workstream()
        .args(["up", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(&data_dir)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_owned();
    (server, base, data_dir)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_readme_walkthrough_takes_a_task_from_nothing_to_review_pending() {
    let dir = tempfile::tempdir().unwrap();
    let (server, base, data_dir) = bootstrap_and_up(dir.path());

    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/walkthrough/walkthrough.sh")
        .canonicalize()
        .unwrap();
    let run = tokio::task::spawn_blocking({
        let base = base.clone();
        move || {
            Command::new("bash")
                .arg(&script)
                .env("API", format!("{base}/api/v1"))
                .env("WORKSTREAM", env!("CARGO_BIN_EXE_workstream"))
                .env("WORKSTREAM_FLOW_AUTH_LOCAL_HMAC_SECRET", SECRET)
                .env_remove("WORKSTREAM_FLOW_AUTH_ISSUER")
                .env_remove("WORKSTREAM_FLOW_AUTH_AUDIENCE")
                .env("WORKSTREAM_LOG", "warn")
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert!(
        run.status.success(),
        "walkthrough.sh failed:\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let outcome: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(outcome["status"], "accepted", "{outcome}");
    assert_eq!(outcome["payment"], "fulfilled", "{outcome}");

    // Read back what the script made, as the people it made.
    let task = outcome["task"].as_str().unwrap();
    let project = outcome["project"].as_str().unwrap();
    let view = get(
        &base,
        &token("manager"),
        &format!("/projects/{project}/tasks/{task}"),
    )
    .await;
    let view = &view["task"];
    assert_eq!(view["status"], "accepted", "{view}");
    let reviews = get(&base, &token("manager"), &format!("/tasks/{task}/reviews")).await;
    let decisions: Vec<&str> = reviews["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["decision"].as_str().unwrap())
        .collect();
    assert_eq!(decisions, ["needs_revision", "accept"], "{reviews}");
    assert_eq!(reviews["items"][1]["resolutions"][0]["result"], "resolved");
    assert_eq!(view["locks"]["guide_id"], outcome["guide"]);
    assert_eq!(
        view["locks"]["contribution_policy_version_id"],
        outcome["contribution_policy_version"]
    );
    let mine = get(&base, &token("submitter"), &format!("/tasks/{task}")).await;
    assert_eq!(mine["task"]["assigned_to_me"], true, "{mine}");
    assert_eq!(
        mine["task"]["compensation"]["accepted_submission"][0],
        serde_json::json!({"instrument": "money", "unit": "USD", "quantity": "12.5"})
    );
    let me = get(&base, &token("reviewer"), "/actors/me").await;
    assert_eq!(me["project_role_grants"][0]["role"], "reviewer", "{me}");
    assert_eq!(me["project_role_grants"][0]["project_id"], project);

    drop(server);
    let verify = workstream()
        .args(["audit", "verify", "--data-dir"])
        .arg(&data_dir)
        .output()
        .unwrap();
    assert!(verify.status.success(), "{verify:?}");
}

/// The same walk-through through a client generated from the served API document:
/// `openapi-python-client` (PyPI, pinned in
/// `tests/fixtures/openapi/client-requirements.txt`, installed into `target/` on first
/// use) generates `workstream_client` with warnings as errors, and
/// `examples/walkthrough/walkthrough.py` takes a task from nothing to accepted and paid
/// through it, reading every answer as the generated models.
#[tokio::test(flavor = "multi_thread")]
async fn a_client_generated_from_the_api_document_walks_through() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap();
    let Some(bin) = or_skip(
        "a_client_generated_from_the_api_document_walks_through",
        pip_packages(
            &root.join("target/test-tools/openapi-client-venv"),
            &root.join("tests/fixtures/openapi/client-requirements.txt"),
        ),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (server, base, _) = bootstrap_and_up(dir.path());

    let document = reqwest::get(format!("{base}/api/v1/openapi.json"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let generated = tempfile::tempdir().unwrap();
    let spec = generated.path().join("openapi.json");
    std::fs::write(&spec, &document).unwrap();
    // The generator formats its output with ruff, found on PATH (the venv has it).
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let generate = Command::new(bin.join("openapi-python-client"))
        .args(["generate", "--meta", "none", "--fail-on-warning", "--path"])
        .arg(&spec)
        .arg("--output-path")
        .arg(generated.path().join("workstream_client"))
        .env("PATH", &path)
        .output()
        .unwrap();
    assert!(
        generate.status.success(),
        "openapi-python-client could not generate a client:\n{}\n{}",
        String::from_utf8_lossy(&generate.stdout),
        String::from_utf8_lossy(&generate.stderr)
    );

    let script = root.join("examples/walkthrough/walkthrough.py");
    let run = tokio::task::spawn_blocking({
        let (base, python, packages) = (
            base.clone(),
            bin.join("python"),
            generated.path().to_owned(),
        );
        move || {
            Command::new(python)
                .arg(&script)
                .env("API", format!("{base}/api/v1"))
                .env("PYTHONPATH", packages)
                .env("WORKSTREAM", env!("CARGO_BIN_EXE_workstream"))
                .env("WORKSTREAM_FLOW_AUTH_LOCAL_HMAC_SECRET", SECRET)
                .env_remove("WORKSTREAM_FLOW_AUTH_ISSUER")
                .env_remove("WORKSTREAM_FLOW_AUTH_AUDIENCE")
                .env("WORKSTREAM_LOG", "warn")
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert!(
        run.status.success(),
        "walkthrough.py failed:\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let outcome: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(outcome["status"], "accepted", "{outcome}");
    assert_eq!(outcome["payment"], "fulfilled", "{outcome}");
    assert_eq!(
        outcome["decisions"],
        serde_json::json!(["needs_revision", "accept"])
    );
    assert_eq!(outcome["amount"], "12.5 USD", "{outcome}");

    // What the client reported is what the server holds.
    let task = outcome["task"].as_str().unwrap();
    let project = outcome["project"].as_str().unwrap();
    let view = get(
        &base,
        &token("manager"),
        &format!("/projects/{project}/tasks/{task}"),
    )
    .await;
    assert_eq!(view["task"]["status"], "accepted", "{view}");
    drop(server);
}
