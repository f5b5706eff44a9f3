//! `workstream checker ...` for real: the binary on real components (the test-only
//! `trivial` and hostile guests, and the built-ins written to files) and real packets
//! in temp dirs, the per-user compiled-code cache, and `register` and `list` over HTTP
//! against a running `workstream up` (whose embedded cluster they never touch).

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;
use workstream_sandbox::{builtin, testing};

/// The compiled-code cache of this test binary's `checker` commands (one per process,
/// as a user's would be).
fn cache_dir() -> &'static Path {
    static DIR: std::sync::OnceLock<TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| TempDir::new().unwrap()).path()
}

fn workstream() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_workstream"));
    cmd.env_remove("WORKSTREAM_DATABASE_URL")
        .env_remove("WORKSTREAM_SERVER")
        .env_remove("WORKSTREAM_TOKEN")
        .env(
            "WORKSTREAM_CHECKER_CACHE_DIR",
            cache_dir().join("checker-cache"),
        )
        .env("WORKSTREAM_LOG", "warn");
    cmd
}

fn run(args: &[&std::ffi::OsStr]) -> Output {
    workstream().arg("checker").args(args).output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn describe(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A built-in component written to a file, as an author would have it.
fn builtin_file(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(format!("{name}.wasm"));
    std::fs::write(&path, builtin::by_name(name).unwrap().bytes).unwrap();
    path
}

/// A small packet: an answer and an evidence file.
fn packet(dir: &Path) -> PathBuf {
    let root = dir.join("packet");
    std::fs::create_dir_all(root.join("evidence")).unwrap();
    std::fs::write(root.join("answer.md"), "The answer, with reasons.\n").unwrap();
    std::fs::write(root.join("evidence/test.log"), "12 passed\n").unwrap();
    root
}

fn config(dir: &Path, json: &str) -> PathBuf {
    let path = dir.join("config.json");
    std::fs::write(&path, json).unwrap();
    path
}

#[test]
fn a_passing_check_exits_0_and_prints_the_verdict() {
    let dir = TempDir::new().unwrap();
    let out = run(&[
        "test".as_ref(),
        testing::component_path("trivial").as_os_str(),
        packet(dir.path()).as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let text = stdout(&out);
    assert!(text.contains("checker  trivial"), "{text}");
    assert!(text.contains("2 files"), "{text}");
    assert!(text.contains("verdict: passed"), "{text}");
    assert!(text.contains("result digest: sha256:"), "{text}");
}

#[test]
fn a_failing_check_exits_1_and_names_the_finding() {
    let dir = TempDir::new().unwrap();
    let component = builtin_file(dir.path(), "required-files");
    let packet = packet(dir.path());
    let config = config(dir.path(), r#"{"paths": ["answer.md", "report.pdf"]}"#);
    let out = run(&[
        "test".as_ref(),
        component.as_os_str(),
        packet.as_os_str(),
        "--config".as_ref(),
        config.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let text = stdout(&out);
    assert!(text.contains("required_file_missing"), "{text}");
    assert!(text.contains("error"), "{text}");
    assert!(text.contains("verdict: failed"), "{text}");

    // The same packet with requirements it meets passes.
    let config = self::config(dir.path(), r#"{"paths": ["answer.md", "evidence/"]}"#);
    let out = run(&[
        "test".as_ref(),
        component.as_os_str(),
        packet.as_os_str(),
        "--config".as_ref(),
        config.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
}

#[test]
fn json_output_parses_and_carries_the_result_digest() {
    let dir = TempDir::new().unwrap();
    let component = builtin_file(dir.path(), "packet-fields");
    let packet = packet(dir.path());
    let args = |json: bool| {
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "test".as_ref(),
            component.as_os_str(),
            packet.as_os_str(),
            "--summary".as_ref(),
            "A summary of the work.".as_ref(),
            "--attestation".as_ref(),
            "I confirm it.".as_ref(),
        ];
        if json {
            args.push("--json".as_ref());
        }
        args
    };
    let out = run(&args(true));
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let outcome: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let digest = outcome["result_digest"].as_str().unwrap().to_owned();
    assert!(digest.starts_with("sha256:"), "{outcome}");
    assert_eq!(outcome["result"]["status"], "completed");
    assert_eq!(outcome["result"]["verdict"], "passed");
    assert_eq!(
        outcome["checker_digest"],
        builtin::by_name("packet-fields")
            .unwrap()
            .digest
            .to_string()
    );

    // Same input, another process: the same result digest.
    let again: serde_json::Value = serde_json::from_slice(&run(&args(true)).stdout).unwrap();
    assert_eq!(again["result_digest"], digest.as_str());
    // And the table prints it too.
    assert!(stdout(&run(&args(false))).contains(&digest));
}

#[test]
fn an_infinite_loop_exits_3_with_deadline_exceeded() {
    let dir = TempDir::new().unwrap();
    let out = run(&[
        "test".as_ref(),
        testing::component_path("hostile_infinite_loop").as_os_str(),
        packet(dir.path()).as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let text = stdout(&out);
    assert!(text.contains("deadline_exceeded"), "{text}");
    assert!(!text.contains("verdict: passed"), "{text}");
}

#[test]
fn a_configuration_that_breaks_the_schema_is_a_usage_error() {
    let dir = TempDir::new().unwrap();
    let component = builtin_file(dir.path(), "required-files");
    let config = config(dir.path(), r#"{"paths": "answer.md"}"#);
    let out = run(&[
        "test".as_ref(),
        component.as_os_str(),
        packet(dir.path()).as_os_str(),
        "--config".as_ref(),
        config.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("checker_configuration_invalid"),
        "{}",
        describe(&out)
    );
}

#[test]
fn a_zipped_packet_goes_through_production_intake_and_unsafe_zips_are_refused_as_uploads_are() {
    let dir = TempDir::new().unwrap();
    let zip_path = dir.path().join("packet.zip");
    {
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
        let plain = zip::write::SimpleFileOptions::default();
        zip.start_file("answer.md", plain).unwrap();
        zip.write_all(b"The answer.\n").unwrap();
        zip.start_file("bin/run.sh", plain.unix_permissions(0o755))
            .unwrap();
        zip.write_all(b"#!/bin/sh\n").unwrap();
        zip.finish().unwrap();
    }
    let component = builtin_file(dir.path(), "required-files");
    let config = config(dir.path(), r#"{"paths": ["answer.md", "bin/run.sh"]}"#);
    let out = run(&[
        "test".as_ref(),
        component.as_os_str(),
        zip_path.as_os_str(),
        "--config".as_ref(),
        config.as_os_str(),
        "--json".as_ref(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));

    let evil = dir.path().join("evil.zip");
    {
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&evil).unwrap());
        zip.start_file("../escape.txt", zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(b"x").unwrap();
        zip.finish().unwrap();
    }
    let out = run(&["test".as_ref(), component.as_os_str(), evil.as_os_str()]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    // Refused by production intake, with the code and the fix an upload would get.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error[submission_archive_unsafe_entry]") && stderr.contains("fix: "),
        "{}",
        describe(&out)
    );
    assert!(!dir.path().join("escape.txt").exists());
}

#[test]
fn inspect_prints_the_digest_imports_and_info() {
    let dir = TempDir::new().unwrap();
    let component = builtin_file(dir.path(), "required-files");
    let out = run(&["inspect".as_ref(), component.as_os_str()]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let text = stdout(&out);
    let digest = builtin::by_name("required-files")
        .unwrap()
        .digest
        .to_string();
    assert!(text.contains(&digest), "{text}");
    assert!(text.contains("imports    allowed"), "{text}");
    assert!(text.contains("name       required-files"), "{text}");
    assert!(text.contains("\"paths\""), "{text}");

    // Something that is not a component is refused with the registry's code.
    let junk = dir.path().join("junk.wasm");
    std::fs::write(&junk, b"\0asm\x01\0\0\0").unwrap();
    let out = run(&["inspect".as_ref(), junk.as_os_str()]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("checker_component_invalid"),
        "{}",
        describe(&out)
    );
}

/// `workstream up` on a fresh data directory, until dropped.
struct Up {
    child: std::process::Child,
    base: String,
    data_dir: PathBuf,
    _dir: TempDir,
}

impl Up {
    fn start() -> Up {
        use std::io::{BufRead, BufReader};
        let dir = TempDir::new().unwrap();
        // PostgreSQL runs as `nobody` when the tests run as root; it must reach the dir.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let data_dir = dir.path().join("state");
        let mut child = workstream()
            .args(["up", "--bind", "127.0.0.1:0", "--data-dir"])
            .arg(&data_dir)
            .stdout(std::process::Stdio::piped())
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
        // Keep reading so that `up` never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        Up {
            child,
            base,
            data_dir,
            _dir: dir,
        }
    }

    /// `workstream checker <args> --server <up> --data-dir <up's>`.
    fn checker(&self, args: &[&std::ffi::OsStr]) -> Output {
        workstream()
            .arg("checker")
            .args(args)
            .arg("--server")
            .arg(&self.base)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .output()
            .unwrap()
    }

    /// Stops `up` with Ctrl-C and waits for it; returns the directory holding its data
    /// (the caller keeps it for as long as it reads it).
    fn stop(mut self) -> TempDir {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        assert!(self.child.wait().unwrap().success());
        self._dir
    }
}

#[test]
fn register_and_list_over_http_while_up_serves() {
    let up = Up::start();
    let trivial = testing::component_path("trivial");
    let digest = workstream_domain::Digest::of_bytes(&testing::component_bytes("trivial"));

    let out = up.checker(&["register".as_ref(), trivial.as_os_str()]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(
        stdout(&out).contains("published: trivial"),
        "{}",
        describe(&out)
    );
    assert!(stdout(&out).contains(&digest.to_string()));
    assert!(stdout(&out).contains("workstream:checker@0.2.0"));

    // Idempotent by digest.
    let out = up.checker(&["register".as_ref(), trivial.as_os_str()]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(
        stdout(&out).contains("already published: trivial"),
        "{}",
        describe(&out)
    );

    // A component that never finishes is refused when it is published, with its code.
    let out = up.checker(&[
        "register".as_ref(),
        testing::component_path("hostile_infinite_loop").as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("checker_smoke_check_failed"), "{err}");

    let out = up.checker(&["list".as_ref(), "--json".as_ref()]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let published: Vec<&serde_json::Value> =
        rows.iter().filter(|r| r["builtin"] == false).collect();
    assert_eq!(published.len(), 1, "{rows:?}");
    assert_eq!(published[0]["name"], "trivial");
    assert_eq!(published[0]["digest"], digest.to_string());
    assert_eq!(published[0]["contract"], "workstream:checker@0.2.0");
    assert_eq!(published[0]["config_schema"]["type"], "object");
    assert!(published[0]["registered_by"].is_string());
    assert!(
        rows.iter()
            .any(|r| r["name"] == "evidence-integrity" && r["builtin"] == true)
    );

    let out = up.checker(&["list".as_ref()]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(
        stdout(&out).contains(&format!("{} components", rows.len())),
        "{}",
        describe(&out)
    );

    // The publication is in the audit ledger, which still verifies (on `up`'s own
    // cluster: the directory outlives the server).
    let data_dir = up.data_dir.clone();
    let _kept = up.stop();
    let verify = workstream()
        .args(["audit", "verify", "--data-dir"])
        .arg(&data_dir)
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", describe(&verify));
    assert!(
        stdout(&verify).contains("ledger: ok"),
        "{}",
        describe(&verify)
    );
}

#[test]
fn compiled_code_is_kept_in_a_private_per_user_cache() {
    let dir = TempDir::new().unwrap();
    let cache = dir.path().join("cache");
    let test = |cache: &Path| {
        workstream()
            .env("WORKSTREAM_CHECKER_CACHE_DIR", cache)
            .args(["checker", "test"])
            .arg(testing::component_path("trivial"))
            .arg(packet(dir.path()))
            .output()
            .unwrap()
    };
    let out = test(&cache);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let meta = std::fs::metadata(&cache).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o700);
    let compiled: Vec<_> = walk(&cache)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect();
    assert_eq!(compiled.len(), 1, "{compiled:?}");

    // A cache others could write is not trusted: a temporary one is used instead.
    let open = dir.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = test(&open);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert_eq!(walk(&open).len(), 0);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}
