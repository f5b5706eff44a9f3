//! `workstream checker ...` for real: the binary on real components (the test-only
//! `trivial` and hostile guests, and the built-ins written to files) and real packets
//! in temp dirs, plus `register` and `list` against the embedded database.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;
use workstream_sandbox::{builtin, testing};

fn workstream() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_workstream"));
    cmd.env_remove("WORKSTREAM_DATABASE_URL")
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
fn a_zipped_packet_is_extracted_with_its_execute_bits_and_unsafe_zips_are_refused() {
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
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("unsafe path"),
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

#[test]
fn register_and_list_against_the_embedded_database() {
    let dir = TempDir::new().unwrap();
    // PostgreSQL runs as `nobody` when the tests run as root; it must reach the dir.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let data_dir = dir.path().join("state");
    let trivial = testing::component_path("trivial");
    let digest = workstream_domain::Digest::of_bytes(&testing::component_bytes("trivial"));

    let register = || {
        run(&[
            "register".as_ref(),
            trivial.as_os_str(),
            "--data-dir".as_ref(),
            data_dir.as_os_str(),
        ])
    };
    let out = register();
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(
        stdout(&out).contains("registered: trivial"),
        "{}",
        describe(&out)
    );
    assert!(stdout(&out).contains(&digest.to_string()));

    // Idempotent by digest.
    let out = register();
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(
        stdout(&out).contains("already registered: trivial"),
        "{}",
        describe(&out)
    );

    let out = run(&[
        "list".as_ref(),
        "--json".as_ref(),
        "--data-dir".as_ref(),
        data_dir.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["name"], "trivial");
    assert_eq!(rows[0]["digest"], digest.to_string());
    assert_eq!(rows[0]["builtin"], false);
    assert_eq!(rows[0]["config_schema"]["type"], "object");

    let out = run(&["list".as_ref(), "--data-dir".as_ref(), data_dir.as_os_str()]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(stdout(&out).contains("1 components"), "{}", describe(&out));

    // The registration is on the audit chain, which still verifies.
    let verify = workstream()
        .args(["audit", "verify", "--data-dir"])
        .arg(&data_dir)
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", describe(&verify));
}
