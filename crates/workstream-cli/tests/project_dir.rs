//! The project directory, for real: `workstream init` writes a project that validates
//! as it is (and so does the example in `examples/project/`); `policy validate` reports
//! each kind of defect in a copy with its file, JSON path and code, and exits 1;
//! `project import` of the template against a real `up` creates exactly the records,
//! replays its own run, and stops at the first refusal with the API's code; `packet
//! build` and `packet upload` take the template's packet layout to a submission.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::{Value, json};
use sqlx::{PgPool, Row};
use tempfile::TempDir;
use workstream_domain::Digest;
use workstream_sandbox::testing;

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

/// `init` into a fresh directory; returns (its parent, the project).
fn initialized() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("Field Notes");
    let out = workstream().arg("init").arg(&project).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    (dir, project)
}

/// `policy validate --json`: (exit code, problems as (location, code)).
fn validate(dir: &Path) -> (i32, Vec<(String, String)>) {
    let out = workstream()
        .args(["policy", "validate", "--json"])
        .arg(dir)
        .output()
        .unwrap();
    let report: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(&out)));
    let problems = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["location"].as_str().unwrap().to_owned(),
                p["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(report["valid"], out.status.success(), "{}", describe(&out));
    (out.status.code().unwrap(), problems)
}

fn edit_json(path: &Path, edit: impl FnOnce(&mut Value)) {
    let mut value: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    edit(&mut value);
    std::fs::write(path, serde_json::to_string_pretty(&value).unwrap()).unwrap();
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

fn pair(location: &str, code: &str) -> (String, String) {
    (location.to_owned(), code.to_owned())
}

#[test]
fn init_writes_a_project_that_validates_and_so_does_the_example() {
    let (_dir, project) = initialized();
    let text = std::fs::read_to_string(project.join("project.json")).unwrap();
    let file: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(file["name"], "Field Notes");
    assert_eq!(file["slug"], "field-notes");
    for path in [
        "guide.md",
        "policies/artifact-policy.json",
        "policies/checker-policy.json",
        "policies/review-policy.json",
        "policies/revision-policy.json",
        "policies/contribution-policy.json",
        "tasks/task.json",
        "tasks/tasks.csv",
        "packet/outputs/final-answer.md",
        "packet/evidence/tests.log",
        "review/review-packet.md",
        "review/prior-feedback-checklist.md",
        "templates/preflight-evidence.md",
        "templates/task-status.md",
        "README.md",
    ] {
        assert!(project.join(path).is_file(), "{path}");
    }
    assert_eq!(validate(&project), (0, vec![]));

    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/project");
    assert_eq!(validate(&example), (0, vec![]));

    // A second init into the same (now non-empty) directory is refused.
    let out = workstream().arg("init").arg(&project).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not empty"));
}

#[test]
fn each_kind_of_defect_is_reported_with_its_path_and_code() {
    let (dir, template) = initialized();
    let mut copies = 0;
    let mut copy = |edit: &dyn Fn(&Path)| {
        copies += 1;
        let target = dir.path().join(format!("copy-{copies}"));
        copy_dir(&template, &target);
        edit(&target);
        target
    };

    // Files that cannot be read as the format says.
    let missing = copy(&|d| std::fs::remove_file(d.join("policies/revision-policy.json")).unwrap());
    assert_eq!(
        validate(&missing),
        (
            1,
            vec![pair(
                "policies/revision-policy.json",
                "project_file_missing"
            )]
        )
    );
    let broken =
        copy(&|d| std::fs::write(d.join("policies/checker-policy.json"), "{ not json").unwrap());
    assert_eq!(
        validate(&broken),
        (
            1,
            vec![pair("policies/checker-policy.json", "project_file_invalid")]
        )
    );

    // The activation gate's classes, in its order (one class at a time).
    let schema = copy(&|d| {
        edit_json(&d.join("policies/artifact-policy.json"), |v| {
            v["maximum_file_size_bytes"] = json!(0)
        })
    });
    assert_eq!(
        validate(&schema),
        (
            1,
            vec![pair(
                "policies/artifact-policy.json#/maximum_file_size_bytes",
                "policy_bundle_invalid"
            )]
        )
    );
    // The review texts are part of the guide, validated with it.
    let empty_text = copy(&|d| std::fs::write(d.join("review/review-packet.md"), "").unwrap());
    assert_eq!(
        validate(&empty_text),
        (
            1,
            vec![pair("review/review-packet.md", "policy_bundle_invalid")]
        )
    );
    let review = copy(&|d| {
        edit_json(&d.join("policies/review-policy.json"), |v| {
            v.as_object_mut().unwrap().remove("reject_policy");
        })
    });
    assert_eq!(
        validate(&review),
        (
            1,
            vec![pair(
                "policies/review-policy.json",
                "review_policy_incomplete"
            )]
        )
    );
    let revision = copy(&|d| {
        edit_json(&d.join("policies/revision-policy.json"), |v| {
            v["max_revision_rounds"] = json!(0)
        })
    });
    assert_eq!(
        validate(&revision),
        (
            1,
            vec![pair(
                "policies/revision-policy.json#/max_revision_rounds",
                "revision_policy_incomplete"
            )]
        )
    );
    let weakened = copy(&|d| {
        edit_json(&d.join("policies/artifact-policy.json"), |v| {
            v["artifact_hash_required"] = json!(false)
        })
    });
    let (code, problems) = validate(&weakened);
    assert_eq!(code, 1);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(
        problems[0].0,
        "policies/artifact-policy.json#/artifact_hash_required"
    );
    let out = workstream()
        .args(["policy", "validate"])
        .arg(&weakened)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("fix: keep the platform defaults"),
        "a weakening reads with its class's fix:\n{text}"
    );
    let unknown = copy(&|d| {
        edit_json(&d.join("policies/checker-policy.json"), |v| {
            v["checkers"].as_array_mut().unwrap().push(json!({
                "name": "no-such-checker", "phase": "both", "configuration": {},
                "blocking": true, "severity": "high"}))
        })
    });
    assert_eq!(
        validate(&unknown),
        (
            1,
            vec![pair(
                "policies/checker-policy.json#/checkers/2",
                "checker_not_registered"
            )]
        )
    );
    let configured = copy(&|d| {
        edit_json(&d.join("policies/checker-policy.json"), |v| {
            v["checkers"][1]["configuration"]["min_chars"] = json!("twenty")
        })
    });
    assert_eq!(
        validate(&configured),
        (
            1,
            vec![pair(
                "policies/checker-policy.json#/checkers/1/configuration/min_chars",
                "checker_configuration_invalid"
            )]
        )
    );

    // A component of the directory resolves by its digest; by name alone it does not
    // (only built-ins do), and the message names the file's digest.
    let bytes = testing::component_bytes("trivial");
    let digest = Digest::of_bytes(&bytes).to_string();
    let pinned = copy(&|d| {
        std::fs::write(d.join("checkers/trivial.wasm"), &bytes).unwrap();
        edit_json(&d.join("policies/checker-policy.json"), |v| {
            v["checkers"].as_array_mut().unwrap().push(json!({
                "name": "trivial", "digest": digest, "phase": "post_submit",
                "configuration": {}, "blocking": false, "severity": "info"}))
        })
    });
    assert_eq!(validate(&pinned), (0, vec![]));
    let unpinned = copy(&|d| {
        std::fs::write(d.join("checkers/trivial.wasm"), &bytes).unwrap();
        edit_json(&d.join("policies/checker-policy.json"), |v| {
            v["checkers"].as_array_mut().unwrap().push(json!({
                "name": "trivial", "phase": "post_submit",
                "configuration": {}, "blocking": false, "severity": "info"}))
        })
    });
    assert_eq!(
        validate(&unpinned),
        (
            1,
            vec![pair(
                "policies/checker-policy.json#/checkers/2",
                "checker_not_registered"
            )]
        )
    );
    let out = workstream()
        .args(["policy", "validate"])
        .arg(&unpinned)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!(
            "checkers/trivial.wasm is `trivial` with digest {digest}"
        )),
        "{}",
        describe(&out)
    );

    // Everything outside the bundle, each reported on its own.
    let rest = copy(&|d| {
        edit_json(&d.join("project.json"), |v| v["slug"] = json!("Not A Slug"));
        let guide = std::fs::read_to_string(d.join("guide.md")).unwrap();
        std::fs::write(d.join("guide.md"), guide.replace("## Evidence", "## Proof")).unwrap();
        edit_json(&d.join("policies/contribution-policy.json"), |v| {
            v["rules"][0]["definitions"][0]["quantity"] = json!("1e3");
            v["rules"][0]["definitions"].as_array_mut().unwrap().push(
                json!({"instrument_type": "project_points", "unit_code": "pts", "quantity": "5"}),
            );
        });
        edit_json(&d.join("tasks/task.json"), |v| {
            v["difficulty"] = json!("trivial")
        });
        let csv = std::fs::read_to_string(d.join("tasks/tasks.csv")).unwrap();
        let mut lines: Vec<String> = csv.lines().map(str::to_owned).collect();
        lines[2] = "task-003,The third task,Write it.,writing,hard,,120,,Copied text.".into();
        std::fs::write(d.join("tasks/tasks.csv"), lines.join("\n") + "\n").unwrap();
        std::fs::write(d.join("tasks/more.csv"), "title,colour\nA,red\n").unwrap();
        std::fs::remove_file(d.join("packet/outputs/final-answer.md")).unwrap();
    });
    let (code, mut problems) = validate(&rest);
    problems.sort();
    let mut expected = vec![
        pair("project.json#/slug", "project_field_invalid"),
        pair("guide.md#Evidence", "guide_section_missing"),
        pair(
            "policies/contribution-policy.json#/rules/0/definitions/0/quantity",
            "quantity_exponent_not_allowed",
        ),
        pair(
            "policies/contribution-policy.json#/rules/0/definitions/1",
            "contribution_binding_missing",
        ),
        pair(
            "policies/contribution-policy.json#/rules/0/definitions/1/unit_code",
            "contribution_unit_missing",
        ),
        pair("tasks/task.json#/difficulty", "invalid_task_field"),
        pair(
            "tasks/tasks.csv#/1/acceptance_criteria",
            "task_fields_incomplete",
        ),
        pair("tasks/more.csv", "task_csv_column_unknown"),
        pair("packet/outputs/final-answer.md", "packet_layout_missing"),
    ];
    expected.sort();
    assert_eq!((code, problems), (1, expected));
}

/// (title, status, source_type, source_ref, external_task_id) of a task row.
type TaskRecord = (String, String, String, Option<String>, Option<String>);

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

fn between<'a>(line: &'a str, before: &str, after: &str) -> &'a str {
    let start = line.find(before).unwrap() + before.len();
    let end = line[start..].find(after).unwrap();
    &line[start..start + end]
}

async fn count(db: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(db).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn import_creates_exactly_the_records_of_the_template() {
    let (dir, project) = initialized();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let data_dir = dir.path().join("state");
    let mut child = workstream()
        .args(["up", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(&data_dir)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let server = Server(child);
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .to_owned();
    let root = between(&line, "embedded PostgreSQL under ", " (port ");
    let port = between(&line, " (port ", ")");
    let password = std::fs::read_to_string(Path::new(root).join("superuser-password")).unwrap();
    let db = PgPool::connect(&format!(
        "postgres://workstream:{}@127.0.0.1:{port}/workstream",
        password.trim()
    ))
    .await
    .unwrap();

    let import = |run: &str| {
        workstream()
            .args([
                "project",
                "import",
                "--release",
                "--run-id",
                run,
                "--server",
                &base,
            ])
            .arg("--data-dir")
            .arg(&data_dir)
            .arg(&project)
            .output()
            .unwrap()
    };
    let out = tokio::task::block_in_place(|| import("first"));
    assert!(out.status.success(), "{}", describe(&out));
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        printed.contains("imported project field-notes"),
        "{printed}"
    );

    let (project_id, status): (uuid::Uuid, String) =
        sqlx::query_as("SELECT id, status FROM projects WHERE slug = 'field-notes'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(status, "active");
    let guide = sqlx::query(
        "SELECT version, status, activation_sequence, content_markdown, change_summary, \
                contribution_policy_version_id FROM project_guides WHERE project_id = $1",
    )
    .bind(project_id)
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(guide.len(), 1);
    assert_eq!(guide[0].get::<String, _>("version"), "v1");
    assert_eq!(guide[0].get::<String, _>("status"), "active");
    assert_eq!(
        guide[0].get::<Option<i32>, _>("activation_sequence"),
        Some(1)
    );
    assert_eq!(
        guide[0].get::<String, _>("content_markdown"),
        std::fs::read_to_string(project.join("guide.md")).unwrap()
    );
    assert_eq!(guide[0].get::<String, _>("change_summary"), "First guide");
    // The review texts travel with the guide, as written.
    let texts: Value = sqlx::query_scalar(
        "SELECT policy_bundle -> 'review_templates' FROM project_guides WHERE project_id = $1",
    )
    .bind(project_id)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(
        texts,
        json!({
            "review_packet": std::fs::read_to_string(project.join("review/review-packet.md")).unwrap(),
            "prior_feedback_checklist":
                std::fs::read_to_string(project.join("review/prior-feedback-checklist.md")).unwrap(),
        })
    );
    let units: Vec<(String, String)> = sqlx::query_as(
        "SELECT instrument_type, unit_code FROM project_compensation_units WHERE project_id = $1",
    )
    .bind(project_id)
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(units, [("money".to_owned(), "USD".to_owned())]);
    let bindings: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT b.instrument_type, b.route_key, p.service_identity \
         FROM project_compensation_adapter_bindings b JOIN actor_profiles p ON p.id = b.adapter_actor_id \
         WHERE b.project_id = $1",
    )
    .bind(project_id)
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(
        bindings,
        [(
            "money".to_owned(),
            "local:money".to_owned(),
            "workstream.payment.local_adapter".to_owned()
        )]
    );
    let versions: Vec<(uuid::Uuid, String)> =
        sqlx::query_as("SELECT id, status FROM contribution_policy_versions WHERE project_id = $1")
            .bind(project_id)
            .fetch_all(&db)
            .await
            .unwrap();
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0].1, "published");
    assert_eq!(
        guide[0].get::<Option<uuid::Uuid>, _>("contribution_policy_version_id"),
        Some(versions[0].0)
    );
    let definitions: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT contribution_type, unit_code, trim_scale(quantity)::text FROM contribution_award_definitions \
         WHERE version_id = $1",
    )
    .bind(versions[0].0)
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(
        definitions,
        [(
            "accepted_submission".to_owned(),
            "USD".to_owned(),
            "25".to_owned()
        )]
    );
    let tasks: Vec<TaskRecord> = sqlx::query_as(
        "SELECT title, status, source_type, source_ref, external_task_id FROM tasks \
         WHERE project_id = $1 ORDER BY id",
    )
    .bind(project_id)
    .fetch_all(&db)
    .await
    .unwrap();
    let task = |title: &str, source: &str, reference: Option<&str>, external: &str| {
        (
            title.to_owned(),
            "ready".to_owned(),
            source.to_owned(),
            reference.map(str::to_owned),
            Some(external.to_owned()),
        )
    };
    assert_eq!(
        tasks,
        [
            task("The first task", "manual", None, "task-001"),
            task(
                "The second task",
                "csv_import",
                Some("tasks/tasks.csv:2"),
                "task-002"
            ),
            task(
                "The third task",
                "csv_import",
                Some("tasks/tasks.csv:3"),
                "task-003"
            ),
        ]
    );

    // The same run again replays every answer: nothing new is made.
    let records = "SELECT (SELECT count(*) FROM projects) + (SELECT count(*) FROM project_guides) \
        + (SELECT count(*) FROM tasks) + (SELECT count(*) FROM contribution_policy_versions) \
        + (SELECT count(*) FROM project_compensation_adapter_bindings) \
        + (SELECT count(*) FROM project_compensation_units) + (SELECT count(*) FROM actor_profiles)";
    let before = count(&db, records).await;
    let again = tokio::task::block_in_place(|| import("first"));
    assert!(again.status.success(), "{}", describe(&again));
    assert_eq!(count(&db, records).await, before);

    // A new run stops at the first refusal, with the API's code and its fix.
    let refused = tokio::task::block_in_place(|| import("second"));
    assert_eq!(refused.status.code(), Some(1), "{}", describe(&refused));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("error[project_slug_conflict]: POST /projects answered 409"),
        "{stderr}"
    );
    assert!(stderr.contains("\nfix: choose another slug"), "{stderr}");
    assert_eq!(count(&db, records).await, before);

    // A contributor's packet from the template's layout: `packet build` is
    // deterministic, `packet upload` prints the pre-submit checks and submits, and a
    // packet missing the required file is refused with the checker's finding and fix.
    let mint = |subject: &str| {
        let out = workstream()
            .args(["token", "--subject", subject, "--data-dir"])
            .arg(&data_dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", describe(&out));
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let (manager, contributor) =
        tokio::task::block_in_place(|| (mint("local-manager"), mint("contributor")));
    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: String, token: &str, body: Value| {
        let request = http
            .request(method, format!("{base}/api/v1{path}"))
            .bearer_auth(token)
            .header("idempotency-key", uuid::Uuid::now_v7().to_string())
            .json(&body);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
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
               "qualification": {}, "reason": "packet test"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let task_ids: Vec<uuid::Uuid> =
        sqlx::query_scalar("SELECT id FROM tasks WHERE project_id = $1 ORDER BY id")
            .bind(project_id)
            .fetch_all(&db)
            .await
            .unwrap();
    for task in &task_ids[..2] {
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
    }
    let zips = dir.path().join("zips");
    std::fs::create_dir(&zips).unwrap();
    let build = |name: &str| {
        let out = workstream()
            .args(["packet", "build"])
            .arg(project.join("packet"))
            .arg("-o")
            .arg(zips.join(name))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", describe(&out));
        std::fs::read(zips.join(name)).unwrap()
    };
    assert_eq!(
        build("a.zip"),
        build("b.zip"),
        "the same files make the same archive"
    );
    let upload =
        |task: uuid::Uuid, packet: &Path| {
            workstream()
            .args(["packet", "upload", "--submit", "--as", "contributor", "--server", &base])
            .args(["--task", &task.to_string()])
            .args(["--summary", "The first task, answered with an example per point."])
            .args([
                "--attestation",
                "The packet holds no client data, nothing confidential or private, no credentials \
                 or secret tokens, and no copied source material.",
            ])
            .arg("--data-dir")
            .arg(&data_dir)
            .arg(packet)
            .output()
            .unwrap()
        };
    let out = tokio::task::block_in_place(|| upload(task_ids[0], &zips.join("a.zip")));
    assert!(out.status.success(), "{}", describe(&out));
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        printed.contains("pre-submit checks: allow_review"),
        "{printed}"
    );
    assert!(
        printed.contains("submitted: version 1, task evaluation_pending"),
        "{printed}"
    );
    let submitted: i64 = sqlx::query_scalar("SELECT count(*) FROM submissions WHERE task_id = $1")
        .bind(task_ids[0])
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(submitted, 1);

    let misnamed = dir.path().join("misnamed");
    std::fs::create_dir_all(misnamed.join("outputs")).unwrap();
    std::fs::create_dir_all(misnamed.join("evidence")).unwrap();
    std::fs::write(
        misnamed.join("outputs/answer.md"),
        "# Answer\n\nEvery point, with an example.\n",
    )
    .unwrap();
    std::fs::write(misnamed.join("evidence/tests.log"), "checks ... ok\n").unwrap();
    let out = tokio::task::block_in_place(|| upload(task_ids[1], &misnamed));
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains("pre-submit checks: refused"), "{printed}");
    assert!(
        printed.contains("error required_file_missing at outputs/final-answer.md"),
        "{printed}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error[pre_submission_checker_failed]"),
        "{stderr}"
    );
    assert!(
        stderr.contains("\nfix: change the files the checker names"),
        "{stderr}"
    );
    let submitted: i64 = sqlx::query_scalar("SELECT count(*) FROM submissions WHERE task_id = $1")
        .bind(task_ids[1])
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(submitted, 0);

    db.close().await;
    drop(server);
}
