//! `workstream checker new` for real: the binary writes a project per language, the
//! project's own `build.sh test` runs its unit tests and builds the component with the
//! language's pinned toolchain, and `workstream checker test` runs the component on the
//! project's two sample packets. Then the sample rule's marker is changed in the source
//! (`TODO` -> `FIXME`), the project rebuilt, and the failing packet passes.
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
            let stderr = String::from_utf8_lossy(&out.stderr);
            let reason = stderr.lines().last().unwrap_or("toolchain unavailable");
            let required = std::env::var("WORKSTREAM_REQUIRE_TOOLCHAINS").as_deref() == Ok("1");
            assert!(
                !required,
                "WORKSTREAM_REQUIRE_TOOLCHAINS=1 but the {lang} toolchain is unavailable: {reason}\n{}",
                describe(&out)
            );
            eprintln!("\n**********\nskipped: {lang}: {reason}\n**********\n");
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
