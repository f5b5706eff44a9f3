//! A checker from the author's editor to a verdict in production, in each language:
//! `workstream checker new` writes a project, the project's own `build.sh test` runs its
//! unit tests and builds the component with the language's pinned toolchain, and
//! `workstream checker test` runs the component on the project's two sample packets.
//! Then the sample rule's marker is changed in the source (`TODO` -> `FIXME`), the
//! project rebuilt, and the failing packet passes. Then the component goes to a running
//! `workstream up`: a project directory pins it in its checker policy, `project import`
//! publishes it over HTTP and activates the guide, a contributor's packet with the new
//! marker is refused at upload with the finding at its path and line (422), a clean
//! packet is submitted, and the reviewer's packet shows the component's post-submit
//! verdict.
//!
//! A `build.sh` that exits 3 means its toolchain is unavailable (no cargo/rustup, no
//! python3 with venv and PyPI, no node/npm and registry): the language is skipped with
//! a loud `skipped: <reason>` on stderr, unless `WORKSTREAM_REQUIRE_TOOLCHAINS=1`, which
//! makes it a failure. The first run downloads the toolchains (componentize-py wheel,
//! `npm ci`, crates); `cargo test -p workstream-cli --test checker_new -- --nocapture`
//! shows the build times. Builds run one at a time: they are CPU-heavy.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::Instant;

use tempfile::TempDir;

/// One toolchain build at a time.
static BUILDS: Mutex<()> = Mutex::new(());

fn workstream() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_workstream"));
    cmd.env_remove("WORKSTREAM_DATABASE_URL")
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

fn checker_new(name: &str, lang: &str, dir: &Path) -> Output {
    workstream()
        // `--` so that a name starting with `-` reaches the name check.
        .args(["checker", "new", "--lang", lang, "--", name])
        .arg(dir)
        .output()
        .unwrap()
}

fn checker_test(project: &Path, component: &str, packet: &str) -> Output {
    workstream()
        .args(["checker", "test", component, packet])
        .current_dir(project)
        .output()
        .unwrap()
}

/// Runs `bash build.sh test` in `project`: `true` when it built, `false` when the
/// toolchain is unavailable (exit 3) and that is allowed.
fn build(project: &Path, lang: &str) -> bool {
    let _one_at_a_time = BUILDS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut cmd = Command::new("bash");
    cmd.args(["build.sh", "test"]).current_dir(project);
    if lang == "rust" {
        // Reuse compiled dependencies across runs of this test.
        cmd.env(
            "CARGO_TARGET_DIR",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("checker-new-rust-target"),
        );
    }
    let started = Instant::now();
    let out = cmd.output().unwrap();
    let took = started.elapsed();
    match out.status.code() {
        Some(0) => {
            eprintln!("{lang}: build.sh test took {:.1} s", took.as_secs_f64());
            true
        }
        Some(3) => {
            // The one rule of the test suite: skip loudly, or fail under
            // WORKSTREAM_REQUIRE_TOOLCHAINS=1 (which .ci/run sets).
            let stderr = String::from_utf8_lossy(&out.stderr);
            let reason = stderr.lines().last().unwrap_or("toolchain unavailable");
            workstream_e2e::toolchains::require_or_skip(
                &format!("checker_new ({lang})"),
                &workstream_e2e::toolchains::Unavailable(reason.to_owned()),
            );
            false
        }
        _ => panic!("{lang}: build.sh test failed\n{}", describe(&out)),
    }
}

/// The 1-based line of `path` that contains `marker`.
fn line_of(path: &Path, marker: &str) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .position(|line| line.contains(marker))
        .unwrap_or_else(|| panic!("{} has no {marker}", path.display()))
        + 1
}

/// The whole cycle for one language; `source` is the file with the marker and `marker`
/// its exact line in that file.
fn new_build_test_change(lang: &str, source: &str, marker: &str) {
    let tmp = TempDir::new().unwrap();
    let project: PathBuf = tmp.path().join("demo");
    let name = format!("demo-{lang}");
    let out = checker_new(&name, lang, &project);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains("build.sh"), "{printed}");
    assert!(
        printed.contains(&format!("workstream checker test {name}.wasm tests/pass")),
        "{printed}"
    );

    if !build(&project, lang) {
        return;
    }
    let component = format!("{name}.wasm");
    assert!(project.join(&component).is_file(), "no {component}");

    let pass = checker_test(&project, &component, "tests/pass");
    assert_eq!(pass.status.code(), Some(0), "{}", describe(&pass));
    assert!(
        String::from_utf8_lossy(&pass.stdout).contains("verdict: passed (0 errors"),
        "{}",
        describe(&pass)
    );

    let answer = project.join("tests/fail/outputs/answer.md");
    let location = format!("outputs/answer.md:{}", line_of(&answer, "TODO"));
    let fail = checker_test(&project, &component, "tests/fail");
    assert_eq!(fail.status.code(), Some(1), "{}", describe(&fail));
    let stdout = String::from_utf8_lossy(&fail.stdout);
    assert!(stdout.contains("marker_found"), "{}", describe(&fail));
    assert!(
        stdout.contains(&location),
        "{location}\n{}",
        describe(&fail)
    );

    // Change the marker the way an author (or sed) would, rebuild, re-check.
    let source = project.join(source);
    let text = std::fs::read_to_string(&source).unwrap();
    assert_eq!(
        text.matches(marker).count(),
        1,
        "{} must hold `{marker}` exactly once",
        source.display()
    );
    std::fs::write(
        &source,
        text.replace(marker, &marker.replace("TODO", "FIXME")),
    )
    .unwrap();
    assert!(
        build(&project, lang),
        "{lang}: the rebuild found no toolchain"
    );
    let expected = if std::fs::read_to_string(&answer).unwrap().contains("FIXME") {
        1
    } else {
        0
    };
    let after = checker_test(&project, &component, "tests/fail");
    assert_eq!(after.status.code(), Some(expected), "{}", describe(&after));

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(on_a_server(&name, &project.join(&component)));
}

/// `workstream up` on a fresh data directory; stopped (Ctrl-C) when dropped.
struct Up {
    child: std::process::Child,
    base: String,
    data_dir: PathBuf,
    db: sqlx::PgPool,
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
    use std::io::{BufRead, BufReader};
    use std::os::unix::fs::PermissionsExt;
    // PostgreSQL runs as `nobody` when the tests run as root; it must reach the dir.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let data_dir = dir.join("state");
    let mut child = workstream()
        .args(["up", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(&data_dir)
        .stdout(std::process::Stdio::piped())
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
    let db = sqlx::PgPool::connect(&format!(
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

/// The component `wasm` (checker `name`, its rule's marker now `FIXME`) published to a
/// running server through a project directory, and judging real packets there.
async fn on_a_server(name: &str, wasm: &Path) {
    use serde_json::{Value, json};

    let tmp = TempDir::new().unwrap();
    let server = up(tmp.path()).await;
    let base = server.base.clone();

    // The project directory pins the component by digest in its checker policy.
    let project = tmp.path().join("project");
    let out = workstream().arg("init").arg(&project).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let bytes = std::fs::read(wasm).unwrap();
    let digest = workstream_domain::Digest::of_bytes(&bytes).to_string();
    std::fs::write(project.join(format!("checkers/{name}.wasm")), &bytes).unwrap();
    let policy_file = project.join("policies/checker-policy.json");
    let mut policy: Value =
        serde_json::from_str(&std::fs::read_to_string(&policy_file).unwrap()).unwrap();
    policy["checkers"].as_array_mut().unwrap().push(json!({
        "name": name, "digest": digest, "phase": "both", "configuration": {},
        "blocking": true, "severity": "high"
    }));
    std::fs::write(&policy_file, serde_json::to_string_pretty(&policy).unwrap()).unwrap();

    // `project import` publishes it over HTTP and activates the guide that pins it.
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
    let printed = String::from_utf8_lossy(&import.stdout);
    assert!(
        printed.contains(&format!("checker   {name} ")) && printed.contains("published"),
        "{printed}"
    );
    let (contract, published_by): (String, Option<uuid::Uuid>) =
        sqlx::query_as("SELECT contract, registered_by FROM checker_components WHERE digest = $1")
            .bind(&digest)
            .fetch_one(&server.db)
            .await
            .unwrap();
    assert_eq!(contract, "workstream:checker@0.2.0");
    assert!(published_by.is_some());

    // A contributor and a reviewer.
    let mint = |subject: &str| {
        let out = workstream()
            .args(["token", "--subject", subject, "--data-dir"])
            .arg(&server.data_dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", describe(&out));
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let (manager, contributor, reviewer) = tokio::task::block_in_place(|| {
        (mint("local-manager"), mint("contributor"), mint("reviewer"))
    });
    let http = reqwest::Client::new();
    let call = async |method: reqwest::Method, path: String, token: &str, body: Option<Value>| {
        let mut request = http
            .request(method, format!("{base}/api/v1{path}"))
            .bearer_auth(token)
            .header("idempotency-key", uuid::Uuid::now_v7().to_string());
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (
            status,
            response.json::<Value>().await.unwrap_or(Value::Null),
        )
    };
    let project_id: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM projects WHERE slug = 'project'")
            .fetch_one(&server.db)
            .await
            .unwrap();
    for (token, role) in [(&contributor, "submitter"), (&reviewer, "reviewer")] {
        let (status, me) = call(reqwest::Method::GET, "/actors/me".into(), token, None).await;
        assert_eq!(status, 200, "{me}");
        let (status, body) = call(
            reqwest::Method::POST,
            format!("/projects/{project_id}/role-grants"),
            &manager,
            Some(
                json!({"target_actor_profile_id": me["actor_profile_id"], "role": role,
                        "qualification": {}, "reason": "language proof"}),
            ),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }
    let task: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM tasks WHERE project_id = $1 ORDER BY id LIMIT 1")
            .bind(project_id)
            .fetch_one(&server.db)
            .await
            .unwrap();
    for action in ["claim", "start"] {
        let (status, body) = call(
            reqwest::Method::POST,
            format!("/tasks/{task}/{action}"),
            &contributor,
            Some(json!({})),
        )
        .await;
        assert_eq!(status, 200, "{action}: {body}");
    }

    // A packet with the new marker: refused at upload with the finding at its line.
    let marked = tmp.path().join("marked");
    copy_dir(&project.join("packet"), &marked);
    std::fs::write(
        marked.join("outputs/final-answer.md"),
        "# Answer\n\nEvery point, with an example.\nFIXME: the second example.\n",
    )
    .unwrap();
    let zip = tmp.path().join("marked.zip");
    let out = workstream()
        .args(["packet", "build"])
        .arg(&marked)
        .arg("-o")
        .arg(&zip)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let attestation = "The packet holds no client data, nothing confidential or private, no \
        credentials or secret tokens, and no copied source material.";
    let form = reqwest::multipart::Form::new()
        .text("summary", "The answer, with an example per point.")
        .text("attestation", attestation)
        .part(
            "packet",
            reqwest::multipart::Part::bytes(std::fs::read(&zip).unwrap()).file_name("p.zip"),
        );
    let response = http
        .post(format!("{base}/api/v1/tasks/{task}/packets"))
        .bearer_auth(&contributor)
        .header("idempotency-key", uuid::Uuid::now_v7().to_string())
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 422);
    let refused: Value = response.json().await.unwrap();
    assert_eq!(
        refused["error"]["code"], "pre_submission_checker_failed",
        "{refused}"
    );
    let result = refused["error"]["details"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["checker"] == name)
        .unwrap_or_else(|| panic!("no {name} in {refused}"))
        .clone();
    assert_eq!(result["status"], "failed", "{result}");
    assert_eq!(result["findings"][0]["code"], "marker_found", "{result}");
    assert_eq!(
        result["findings"][0]["path"], "outputs/final-answer.md",
        "{result}"
    );
    assert_eq!(result["findings"][0]["line"], 4, "{result}");

    // The clean packet goes through, and its post-submit verdict reaches the reviewer.
    let out = tokio::task::block_in_place(|| {
        workstream()
            .args([
                "packet",
                "upload",
                "--submit",
                "--as",
                "contributor",
                "--server",
                &base,
            ])
            .args(["--task", &task.to_string()])
            .args(["--summary", "The answer, with an example per point."])
            .args(["--attestation", attestation])
            .arg("--data-dir")
            .arg(&server.data_dir)
            .arg(project.join("packet"))
            .output()
            .unwrap()
    });
    assert!(out.status.success(), "{}", describe(&out));
    let mut status = String::new();
    for _ in 0..600 {
        status = sqlx::query_scalar("SELECT status FROM tasks WHERE id = $1")
            .bind(task)
            .fetch_one(&server.db)
            .await
            .unwrap();
        if status != "evaluation_pending" && status != "submitted" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(status, "review_pending");
    let (status, claimed) = call(
        reqwest::Method::POST,
        "/reviews/claim".into(),
        &reviewer,
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 201, "{claimed}");
    let lease = claimed["lease"]["id"].as_str().unwrap().to_owned();
    let (status, packet) = call(
        reqwest::Method::GET,
        format!("/reviews/leases/{lease}"),
        &reviewer,
        None,
    )
    .await;
    assert_eq!(status, 200, "{packet}");
    let verdicts = packet.to_string();
    assert_eq!(
        packet["checker_run"]["routing_recommendation"],
        "allow_review"
    );
    let run = packet["checker_run"]["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no checker run in {verdicts}"));
    let verdict = run
        .iter()
        .find(|r| r["checker"] == name)
        .unwrap_or_else(|| panic!("no {name} in {verdicts}"));
    assert_eq!(verdict["checker_digest"], digest.as_str());
    assert_eq!(verdict["status"], "passed");
    assert_eq!(verdict["verdict"], "passed");
    server.db.close().await;
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn a_rust_project_builds_and_checks() {
    new_build_test_change("rust", "src/lib.rs", "const MARKER: &str = \"TODO\";");
}

#[test]
fn a_python_project_builds_and_checks() {
    new_build_test_change("python", "src/app.py", "MARKER = \"TODO\"");
}

#[test]
fn a_js_project_builds_and_checks() {
    new_build_test_change("js", "src/checker.js", "const MARKER = 'TODO';");
}

#[test]
fn a_non_empty_directory_is_refused() {
    let tmp = TempDir::new().unwrap();
    std::fs::write(tmp.path().join("notes.txt"), "mine").unwrap();
    let out = checker_new("demo", "python", tmp.path());
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("exists and is not empty"),
        "{}",
        describe(&out)
    );
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "nothing was written");

    // An empty directory is fine.
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = checker_new("demo", "js", &empty);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(empty.join("build.sh").is_file());
}

#[test]
fn a_bad_name_is_refused() {
    let tmp = TempDir::new().unwrap();
    for name in [
        "Demo",
        "1demo",
        "-demo",
        "demo checker",
        "démo",
        &"d".repeat(101),
    ] {
        let dir = tmp.path().join("project");
        let out = checker_new(name, "js", &dir);
        assert_eq!(out.status.code(), Some(2), "{name:?}: {}", describe(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("invalid checker name"),
            "{}",
            describe(&out)
        );
        assert!(!dir.exists(), "{name:?}: nothing was written");
    }
    // The name defaults the directory: ./NAME.
    let out = workstream()
        .args(["checker", "new", "demo.v2", "--lang", "python"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(tmp.path().join("demo.v2/src/app.py").is_file());
}
