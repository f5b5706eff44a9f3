//! `workstream policy preview` against a real `workstream up`: a project imported from
//! its directory holds two evaluated submissions (one answer short, one long); the
//! directory's policy then gains its own component (`checkers/trivial.wasm`, pinned by
//! digest) and a stricter built-in (`size-limits` under the long answer), and the
//! command publishes the component, makes the bundle a draft guide, previews it on the
//! server and prints that exactly the long packet newly fails, with the route flip and
//! the totals. `--json` prints the whole report (the draft is updated, not made again);
//! a bundle the activation gate would refuse and an out-of-range `--submissions` end
//! with the server's code, its fix and exit status 1.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use sqlx::PgPool;
use tempfile::TempDir;
use uuid::Uuid;
use workstream_domain::Digest;
use workstream_sandbox::testing;

/// The stricter rule: no file over this many bytes (the template's answer has 109).
const MAX_FILE_BYTES: usize = 150;

fn workstream() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_workstream"));
    cmd.env_remove("WORKSTREAM_DATABASE_URL")
        .env_remove("WORKSTREAM_FLOW_AUTH_LOCAL_HMAC_SECRET")
        .env_remove("WORKSTREAM_FLOW_AUTH_ISSUER")
        .env_remove("WORKSTREAM_FLOW_AUTH_AUDIENCE")
        .env_remove("WORKSTREAM_ENVIRONMENT")
        .env_remove("WORKSTREAM_SERVER")
        .env_remove("WORKSTREAM_TOKEN")
        .env("WORKSTREAM_LOG", "warn");
    cmd
}

fn describe(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn edit_json(path: &Path, edit: impl FnOnce(&mut Value)) {
    let mut value: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    edit(&mut value);
    std::fs::write(path, serde_json::to_string_pretty(&value).unwrap()).unwrap();
}

/// `workstream up` on a fresh data directory; stopped (Ctrl-C) when dropped.
struct Up {
    child: Child,
    base: String,
    data_dir: PathBuf,
    db: PgPool,
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

async fn up(dir: &Path) -> Up {
    // PostgreSQL runs as `nobody` when the tests run as root; it must reach the dir.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let data_dir = dir.join("state");
    let mut child = workstream()
        .args(["up", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(&data_dir)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let between = |before: &str, after: &str| {
        let start = line.find(before).unwrap() + before.len();
        let end = line[start..].find(after).unwrap();
        line[start..start + end].to_owned()
    };
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_owned();
    let root = between("embedded PostgreSQL under ", " (port ");
    let port = between(" (port ", ")");
    let password = std::fs::read_to_string(Path::new(&root).join("superuser-password")).unwrap();
    let db = PgPool::connect(&format!(
        "postgres://workstream:{}@127.0.0.1:{port}/workstream",
        password.trim()
    ))
    .await
    .unwrap();
    Up {
        child,
        base,
        data_dir,
        db,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn policy_preview_prints_exactly_the_packets_a_stricter_policy_flips() {
    let tmp = TempDir::new().unwrap();
    let server = up(tmp.path()).await;
    let base = server.base.clone();
    let project = tmp.path().join("preview-notes");
    let out = workstream().arg("init").arg(&project).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let import = tokio::task::block_in_place(|| {
        workstream()
            .args(["project", "import", "--release", "--server", &base])
            .arg("--data-dir")
            .arg(&server.data_dir)
            .arg(&project)
            .output()
            .unwrap()
    });
    assert!(import.status.success(), "{}", describe(&import));
    let project_id: Uuid =
        sqlx::query_scalar("SELECT id FROM projects WHERE slug = 'preview-notes'")
            .fetch_one(&server.db)
            .await
            .unwrap();

    // A contributor submits two packets from the template's layout: the template's
    // answer, and one past the stricter rule.
    let mint = |subject: &str| {
        let out = workstream()
            .args(["token", "--subject", subject, "--data-dir"])
            .arg(&server.data_dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", describe(&out));
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let (manager, contributor) =
        tokio::task::block_in_place(|| (mint("local-manager"), mint("contributor")));
    let http = reqwest::Client::new();
    let call = async |method: reqwest::Method, path: String, token: &str, body: Value| {
        let response = http
            .request(method, format!("{base}/api/v1{path}"))
            .bearer_auth(token)
            .header("idempotency-key", Uuid::now_v7().to_string())
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (
            status,
            response.json::<Value>().await.unwrap_or(Value::Null),
        )
    };
    let (status, me) = call(
        reqwest::Method::GET,
        "/actors/me".into(),
        &contributor,
        Value::Null,
    )
    .await;
    assert_eq!(status, 200, "{me}");
    let (status, body) = call(
        reqwest::Method::POST,
        format!("/projects/{project_id}/role-grants"),
        &manager,
        json!({"target_actor_profile_id": me["actor_profile_id"], "role": "submitter",
               "qualification": {}, "reason": "preview test"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let tasks: Vec<Uuid> =
        sqlx::query_scalar("SELECT id FROM tasks WHERE project_id = $1 ORDER BY id LIMIT 2")
            .bind(project_id)
            .fetch_all(&server.db)
            .await
            .unwrap();
    let long = tmp.path().join("long");
    std::fs::create_dir_all(long.join("outputs")).unwrap();
    std::fs::create_dir_all(long.join("evidence")).unwrap();
    let answer = "# Answer\n\nEvery point of the description, each with an example: the first \
        point with its example, the second point with its example, and the third with a source.\n";
    assert!(answer.len() > MAX_FILE_BYTES);
    std::fs::write(long.join("outputs/final-answer.md"), answer).unwrap();
    std::fs::copy(
        project.join("packet/evidence/tests.log"),
        long.join("evidence/tests.log"),
    )
    .unwrap();
    let mut submissions = Vec::new();
    for (task, packet) in [(tasks[0], project.join("packet")), (tasks[1], long)] {
        for action in ["claim", "start"] {
            let (status, body) = call(
                reqwest::Method::POST,
                format!("/tasks/{task}/{action}"),
                &contributor,
                json!({}),
            )
            .await;
            assert_eq!(status, 200, "{action}: {body}");
        }
        let out = tokio::task::block_in_place(|| {
            workstream()
                .args(["packet", "upload", "--submit", "--as", "contributor"])
                .args(["--server", &base, "--task", &task.to_string()])
                .args(["--summary", "The task, answered with an example per point."])
                .args([
                    "--attestation",
                    "The packet holds no client data, nothing confidential or private, no \
                     credentials or secret tokens, and no copied source material.",
                ])
                .arg("--data-dir")
                .arg(&server.data_dir)
                .arg(&packet)
                .output()
                .unwrap()
        });
        assert!(out.status.success(), "{}", describe(&out));
        let submission: Uuid = sqlx::query_scalar("SELECT id FROM submissions WHERE task_id = $1")
            .bind(task)
            .fetch_one(&server.db)
            .await
            .unwrap();
        submissions.push(submission);
    }
    for task in &tasks {
        let mut status = String::new();
        for _ in 0..600 {
            status = sqlx::query_scalar("SELECT status FROM tasks WHERE id = $1")
                .bind(task)
                .fetch_one(&server.db)
                .await
                .unwrap();
            if status != "evaluation_pending" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(status, "review_pending");
    }

    // The directory's policy gains its own component and the stricter built-in.
    let bytes = testing::component_bytes("trivial");
    let digest = Digest::of_bytes(&bytes).to_string();
    std::fs::write(project.join("checkers/trivial.wasm"), &bytes).unwrap();
    edit_json(&project.join("policies/checker-policy.json"), |policy| {
        let checkers = policy["checkers"].as_array_mut().unwrap();
        checkers.push(
            json!({"name": "trivial", "digest": digest, "phase": "post_submit",
                             "configuration": {}, "blocking": false, "severity": "info"}),
        );
        checkers.push(json!({"name": "size-limits", "phase": "both",
                             "configuration": {"max_file_bytes": MAX_FILE_BYTES},
                             "blocking": true, "severity": "high"}));
    });
    let preview = |extra: &[&str]| {
        tokio::task::block_in_place(|| {
            workstream()
                .args(["policy", "preview", "--server", &base])
                .args(extra)
                .arg("--data-dir")
                .arg(&server.data_dir)
                .arg(&project)
                .output()
                .unwrap()
        })
    };
    let out = preview(&[]);
    assert!(out.status.success(), "{}", describe(&out));
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    let progress = String::from_utf8_lossy(&out.stderr).into_owned();
    println!("{printed}");
    assert!(
        progress.contains("2/2 submissions checked (completed)"),
        "{}",
        describe(&out)
    );
    // The component is published, the draft made beside the active v1.
    assert!(
        printed.contains("checker   trivial") && printed.contains(&digest),
        "{printed}"
    );
    let registered: i64 =
        sqlx::query_scalar("SELECT count(*) FROM checker_components WHERE digest = $1")
            .bind(&digest)
            .fetch_one(&server.db)
            .await
            .unwrap();
    assert_eq!(registered, 1);
    let guides: Vec<(Uuid, String, String)> = sqlx::query_as(
        "SELECT id, version, status FROM project_guides WHERE project_id = $1 ORDER BY id",
    )
    .bind(project_id)
    .fetch_all(&server.db)
    .await
    .unwrap();
    assert_eq!(
        guides
            .iter()
            .map(|(_, v, s)| (v.as_str(), s.as_str()))
            .collect::<Vec<_>>(),
        [("v1", "active"), ("v1-preview", "draft")]
    );
    let draft = guides[1].0;
    assert!(
        printed.contains(&format!("guide     v1-preview draft created  {draft}")),
        "{printed}"
    );
    // Exactly the long packet newly fails the stricter rule; its route flips.
    let (short, long) = (submissions[0], submissions[1]);
    let size_line = printed
        .lines()
        .find(|l| l.trim_start().starts_with("size-limits"))
        .unwrap_or_else(|| panic!("{printed}"));
    assert!(size_line.ends_with("1 / 0"), "{size_line}");
    assert!(
        printed.contains(&format!("    newly failing: {long}\n")),
        "{printed}"
    );
    assert!(!printed.contains(&short.to_string()), "{printed}");
    for line in printed
        .lines()
        .filter(|l| l.starts_with("  ") && l.contains(" / "))
    {
        if !line.trim_start().starts_with("size-limits") {
            assert!(line.ends_with("0 / 0"), "{line}");
        }
    }
    assert!(
        printed.contains(&format!("  allow_review -> needs_revision: 1  {long}\n")),
        "{printed}"
    );
    assert!(
        printed.contains("totals: 2 submissions, 2 checked, 0 refused at intake, 0 unreadable; 1 routes change; findings 1 appear, 0 disappear"),
        "{printed}"
    );

    // --json: the whole report; the same draft, updated from the directory.
    let out = preview(&[
        "--json",
        "--submissions",
        "1",
        "--project",
        &project_id.to_string(),
    ]);
    assert!(out.status.success(), "{}", describe(&out));
    let report: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(&out)));
    assert_eq!(report["preview"]["status"], "completed");
    assert_eq!(report["preview"]["guide_id"], json!(draft));
    assert_eq!(report["preview"]["submission_count"], 1);
    assert_eq!(report["results"][0]["submission_id"], json!(long));
    assert_eq!(report["results"][0]["route_changed"], true);
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("v1-preview draft updated from the directory"),
        "{}",
        describe(&out)
    );
    let count: i64 =
        sqlx::query_scalar("SELECT count(*) FROM project_guides WHERE project_id = $1")
            .bind(project_id)
            .fetch_one(&server.db)
            .await
            .unwrap();
    assert_eq!(count, 2);

    // Refusals: the server's code, its fix, exit status 1.
    let out = preview(&["--submissions", "0"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error[policy_preview_limit_invalid]") && stderr.contains("\nfix: "),
        "{stderr}"
    );
    edit_json(&project.join("policies/checker-policy.json"), |policy| {
        policy["checkers"].as_array_mut().unwrap().push(
            json!({"name": "no-such-checker", "phase": "both", "configuration": {},
                   "blocking": true, "severity": "high"}),
        );
    });
    let out = preview(&[]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error[checker_not_registered]") && stderr.contains("\nfix: "),
        "{stderr}"
    );
    let previews: i64 =
        sqlx::query_scalar("SELECT count(*) FROM policy_previews WHERE project_id = $1")
            .bind(project_id)
            .fetch_one(&server.db)
            .await
            .unwrap();
    assert_eq!(previews, 2, "a refused preview starts nothing");

    server.db.close().await;
    drop(server);
}
