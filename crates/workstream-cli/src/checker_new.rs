//! `workstream checker new NAME --lang rust|python|js [DIR]`: a ready checker project.
//!
//! A new checker author should start from something that builds, passes `workstream
//! checker test` and shows every part of the contract a real checker uses, rather than
//! from an empty directory and the WIT file. So the project has one sample rule whose
//! finding carries a path and a line (every line of `outputs/**/*.md` containing a
//! marker is an `error` finding `marker_found`), a configuration schema validated on
//! input, a `build.sh` that installs and runs the language's pinned component toolchain
//! inside the project (exit status 3 when it is unavailable, as the examples do), two
//! sample packets under `tests/pass/` and `tests/fail/`, unit tests in the language's
//! own runner, a README and a `.gitignore`.
//!
//! Everything is compiled into the binary (`include_str!`), so the command works on a
//! machine with only the binary, and the project is self-contained: it gets a vendored
//! copy of its language's guest SDK (`workstream-checker-sdk/`: the Rust crate of
//! `checkers/sdk`, the Python package of `checkers/sdk-python`, the ES modules of
//! `checkers/sdk-js`) and a copy of the contract where its toolchain looks for it. The
//! contract comes from the repository's one copy, `wit/checker.wit`.
//!
//! Template files (`templates/checker/<lang>/`, plus `templates/checker/common/` for
//! the packets) get `{{name}}`, `{{crate_name}}` (the name with `-` and `.` as `_`) and
//! `{{contract}}` (`workstream:checker@x.y.z`) filled in by plain string replacement;
//! SDK files and the contract are copied verbatim. `Cargo.toml` is stored as
//! `Cargo.toml.template` so that cargo never mistakes the template directory for a
//! package. Shell scripts are written executable.
//!
//! Exit status: 0 written; 2 a bad name or a directory that exists and is not empty
//! (nothing written); 1 the files could not be written.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};

/// Arguments of `checker new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The checker's name, as policies and the registry will know it:
    /// `^[a-z][a-z0-9_.-]{0,99}$`, usually kebab-case (`no-todo`).
    name: String,
    /// The language of the project.
    #[arg(long, value_enum)]
    lang: Lang,
    /// Where to write the project (default: ./NAME). Refused if it exists and is not
    /// empty.
    dir: Option<PathBuf>,
}

/// The languages a project can be written in, each with its component toolchain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    /// Rust, cargo with the wasm32-wasip2 target.
    Rust,
    /// Python, componentize-py (PyPI).
    Python,
    /// JavaScript, componentize-js (npm).
    Js,
}

/// Files as (path in the project, contents).
type Files = &'static [(&'static str, &'static str)];

/// The contract, from the repository's one copy.
const CONTRACT: &str = include_str!("../../../wit/checker.wit");

/// The two sample packets, the same for every language.
const PACKETS: Files = &[
    (
        "tests/pass/outputs/answer.md",
        include_str!("../templates/checker/common/tests/pass/outputs/answer.md"),
    ),
    (
        "tests/pass/evidence/notes.txt",
        include_str!("../templates/checker/common/tests/pass/evidence/notes.txt"),
    ),
    (
        "tests/fail/outputs/answer.md",
        include_str!("../templates/checker/common/tests/fail/outputs/answer.md"),
    ),
    (
        "tests/fail/evidence/notes.txt",
        include_str!("../templates/checker/common/tests/fail/evidence/notes.txt"),
    ),
];

/// What `new` writes for one language.
struct Template {
    /// Files with placeholders (`templates/checker/<lang>/`).
    files: Files,
    /// The vendored SDK, copied verbatim.
    sdk: Files,
    /// Where the project keeps its copy of the contract.
    contract_at: &'static str,
    /// The command that runs the unit tests, for the printed next steps.
    unit_tests: &'static str,
}

const RUST: Template = Template {
    files: &[
        (
            ".gitignore",
            include_str!("../templates/checker/rust/.gitignore"),
        ),
        (
            "Cargo.toml",
            include_str!("../templates/checker/rust/Cargo.toml.template"),
        ),
        (
            "README.md",
            include_str!("../templates/checker/rust/README.md"),
        ),
        (
            "build.sh",
            include_str!("../templates/checker/rust/build.sh"),
        ),
        (
            "config.schema.json",
            include_str!("../templates/checker/rust/config.schema.json"),
        ),
        (
            "src/lib.rs",
            include_str!("../templates/checker/rust/src/lib.rs"),
        ),
    ],
    sdk: &[
        (
            "workstream-checker-sdk/Cargo.toml",
            include_str!("../../../checkers/sdk/Cargo.toml"),
        ),
        (
            "workstream-checker-sdk/README.md",
            include_str!("../../../checkers/sdk/README.md"),
        ),
        (
            "workstream-checker-sdk/src/checker.rs",
            include_str!("../../../checkers/sdk/src/checker.rs"),
        ),
        (
            "workstream-checker-sdk/src/config.rs",
            include_str!("../../../checkers/sdk/src/config.rs"),
        ),
        (
            "workstream-checker-sdk/src/digest.rs",
            include_str!("../../../checkers/sdk/src/digest.rs"),
        ),
        (
            "workstream-checker-sdk/src/findings.rs",
            include_str!("../../../checkers/sdk/src/findings.rs"),
        ),
        (
            "workstream-checker-sdk/src/glob.rs",
            include_str!("../../../checkers/sdk/src/glob.rs"),
        ),
        (
            "workstream-checker-sdk/src/lib.rs",
            include_str!("../../../checkers/sdk/src/lib.rs"),
        ),
        (
            "workstream-checker-sdk/src/manifest.rs",
            include_str!("../../../checkers/sdk/src/manifest.rs"),
        ),
        (
            "workstream-checker-sdk/src/packet.rs",
            include_str!("../../../checkers/sdk/src/packet.rs"),
        ),
        (
            "workstream-checker-sdk/src/testing.rs",
            include_str!("../../../checkers/sdk/src/testing.rs"),
        ),
        (
            "workstream-checker-sdk/src/text.rs",
            include_str!("../../../checkers/sdk/src/text.rs"),
        ),
    ],
    contract_at: "workstream-checker-sdk/wit/checker.wit",
    unit_tests: "cargo test",
};

const PYTHON: Template = Template {
    files: &[
        (
            ".gitignore",
            include_str!("../templates/checker/python/.gitignore"),
        ),
        (
            "README.md",
            include_str!("../templates/checker/python/README.md"),
        ),
        (
            "build.sh",
            include_str!("../templates/checker/python/build.sh"),
        ),
        (
            "requirements.txt",
            include_str!("../templates/checker/python/requirements.txt"),
        ),
        (
            "src/app.py",
            include_str!("../templates/checker/python/src/app.py"),
        ),
        (
            "tests/test_app.py",
            include_str!("../templates/checker/python/tests/test_app.py"),
        ),
    ],
    sdk: &[
        (
            "workstream-checker-sdk/README.md",
            include_str!("../../../checkers/sdk-python/README.md"),
        ),
        (
            "workstream-checker-sdk/workstream_checker/__init__.py",
            include_str!("../../../checkers/sdk-python/workstream_checker/__init__.py"),
        ),
        (
            "workstream-checker-sdk/workstream_checker/component.py",
            include_str!("../../../checkers/sdk-python/workstream_checker/component.py"),
        ),
        (
            "workstream-checker-sdk/workstream_checker/config.py",
            include_str!("../../../checkers/sdk-python/workstream_checker/config.py"),
        ),
        (
            "workstream-checker-sdk/workstream_checker/findings.py",
            include_str!("../../../checkers/sdk-python/workstream_checker/findings.py"),
        ),
        (
            "workstream-checker-sdk/workstream_checker/globs.py",
            include_str!("../../../checkers/sdk-python/workstream_checker/globs.py"),
        ),
        (
            "workstream-checker-sdk/workstream_checker/packet.py",
            include_str!("../../../checkers/sdk-python/workstream_checker/packet.py"),
        ),
        (
            "workstream-checker-sdk/workstream_checker/request.py",
            include_str!("../../../checkers/sdk-python/workstream_checker/request.py"),
        ),
        (
            "workstream-checker-sdk/workstream_checker/testing.py",
            include_str!("../../../checkers/sdk-python/workstream_checker/testing.py"),
        ),
    ],
    contract_at: "wit/checker.wit",
    unit_tests: "PYTHONPATH=src:workstream-checker-sdk python3 -m unittest discover -s tests",
};

const JS: Template = Template {
    files: &[
        (
            ".gitignore",
            include_str!("../templates/checker/js/.gitignore"),
        ),
        (
            "README.md",
            include_str!("../templates/checker/js/README.md"),
        ),
        ("build.sh", include_str!("../templates/checker/js/build.sh")),
        (
            "package-lock.json",
            include_str!("../templates/checker/js/package-lock.json"),
        ),
        (
            "package.json",
            include_str!("../templates/checker/js/package.json"),
        ),
        (
            "src/checker.js",
            include_str!("../templates/checker/js/src/checker.js"),
        ),
        (
            "src/component.js",
            include_str!("../templates/checker/js/src/component.js"),
        ),
        (
            "tests/checker.test.js",
            include_str!("../templates/checker/js/tests/checker.test.js"),
        ),
        (
            "wit/world.wit",
            include_str!("../templates/checker/js/wit/world.wit"),
        ),
    ],
    sdk: &[
        (
            "workstream-checker-sdk/README.md",
            include_str!("../../../checkers/sdk-js/README.md"),
        ),
        (
            "workstream-checker-sdk/package.json",
            include_str!("../../../checkers/sdk-js/package.json"),
        ),
        (
            "workstream-checker-sdk/testing.js",
            include_str!("../../../checkers/sdk-js/testing.js"),
        ),
        (
            "workstream-checker-sdk/workstream-checker.js",
            include_str!("../../../checkers/sdk-js/workstream-checker.js"),
        ),
    ],
    contract_at: "wit/deps/checker/checker.wit",
    unit_tests: "node --test tests/*.test.js",
};

impl Lang {
    fn template(self) -> &'static Template {
        match self {
            Lang::Rust => &RUST,
            Lang::Python => &PYTHON,
            Lang::Js => &JS,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Lang::Rust => "Rust",
            Lang::Python => "Python",
            Lang::Js => "JavaScript",
        }
    }
}

/// Why the project was not written, before anything was.
#[derive(Debug)]
struct Refusal(String);

/// Runs `checker new`: checks the name and the directory, writes the project, prints
/// what was written and the next commands.
pub fn new_project(args: NewArgs) -> ExitCode {
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(&args.name));
    if let Err(Refusal(reason)) = check_name(&args.name, args.lang).and_then(|()| check_dir(&dir)) {
        eprintln!("error: {reason}");
        return ExitCode::from(2);
    }
    let written = match write_project(&dir, &args.name, args.lang) {
        Ok(written) => written,
        Err(err) => {
            eprintln!("error: {err:#}");
            return ExitCode::FAILURE;
        }
    };
    print_next_steps(&dir, &args.name, args.lang, &written);
    ExitCode::SUCCESS
}

/// The registry's rule for checker names (what `info().name` must satisfy), plus, for
/// Rust, a crate name that can build.
fn check_name(name: &str, lang: Lang) -> Result<(), Refusal> {
    let mut chars = name.chars();
    let well_formed = name.len() <= 100
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c));
    if !well_formed {
        return Err(Refusal(format!(
            "invalid checker name {name:?}: use 1-100 characters of a-z, 0-9, `_`, `.` and `-`, \
             starting with a letter (the registry's rule ^[a-z][a-z0-9_.-]{{0,99}}$), for \
             example `no-todo`"
        )));
    }
    let crate_name = crate_name(name);
    if lang == Lang::Rust && RESERVED_CRATE_NAMES.contains(&crate_name.as_str()) {
        return Err(Refusal(format!(
            "the checker name {name:?} would make the Rust crate `{crate_name}`, which cannot \
             be a crate's name (a Rust keyword or a standard crate): choose another name"
        )));
    }
    Ok(())
}

/// Rust keywords and standard crates: not usable as the project's crate name.
const RESERVED_CRATE_NAMES: &[&str] = &[
    "abstract",
    "alloc",
    "as",
    "async",
    "await",
    "become",
    "box",
    "break",
    "const",
    "continue",
    "core",
    "crate",
    "do",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "final",
    "fn",
    "for",
    "gen",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "macro",
    "match",
    "mod",
    "move",
    "mut",
    "override",
    "priv",
    "proc_macro",
    "pub",
    "ref",
    "return",
    "self",
    "static",
    "std",
    "struct",
    "super",
    "test",
    "trait",
    "true",
    "try",
    "type",
    "typeof",
    "unsafe",
    "unsized",
    "use",
    "virtual",
    "where",
    "while",
    "yield",
];

/// The name as a Rust crate (and Cargo package) name: `-` and `.` become `_`.
fn crate_name(name: &str) -> String {
    name.replace(['-', '.'], "_")
}

/// A directory that exists must be an empty directory: a project is never written over
/// anything.
fn check_dir(dir: &Path) -> Result<(), Refusal> {
    match fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                Err(Refusal(format!(
                    "{} exists and is not empty: choose a new directory (or remove it)",
                    dir.display()
                )))
            } else {
                Ok(())
            }
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(Refusal(format!(
            "{} exists and cannot be used as the project directory: {err}",
            dir.display()
        ))),
    }
}

/// The contract's package id as written in the WIT file (`workstream:checker@0.2.0`).
fn contract_id() -> &'static str {
    CONTRACT
        .lines()
        .find_map(|line| line.trim().strip_prefix("package "))
        .map(|rest| rest.trim_end_matches(';').trim())
        .unwrap_or("workstream:checker")
}

/// Writes the project into `dir` (created if needed) and returns the paths written, in
/// order. Files are created new: nothing existing is overwritten.
fn write_project(dir: &Path, name: &str, lang: Lang) -> anyhow::Result<Vec<&'static str>> {
    let template = lang.template();
    let crate_name = crate_name(name);
    let fill = |text: &str| {
        text.replace("{{name}}", name)
            .replace("{{crate_name}}", &crate_name)
            .replace("{{contract}}", contract_id())
    };
    let mut written = Vec::new();
    let filled = template
        .files
        .iter()
        .map(|(path, text)| (*path, fill(text)));
    let verbatim = PACKETS
        .iter()
        .chain(template.sdk)
        .map(|(path, text)| (*path, (*text).to_owned()))
        .chain(std::iter::once((template.contract_at, CONTRACT.to_owned())));
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (path, text) in filled.chain(verbatim) {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        let mode = if path.ends_with(".sh") { 0o755 } else { 0o644 };
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&target)
            .with_context(|| format!("creating {}", target.display()))?;
        file.write_all(text.as_bytes())
            .with_context(|| format!("writing {}", target.display()))?;
        // The mode given at creation is filtered by the umask; a script must run.
        if mode == 0o755 {
            fs::set_permissions(&target, fs::Permissions::from_mode(mode))
                .with_context(|| format!("making {} executable", target.display()))?;
        }
        written.push(path);
    }
    Ok(written)
}

fn print_next_steps(dir: &Path, name: &str, lang: Lang, written: &[&str]) {
    let shown = dir.display();
    println!(
        "wrote the {} checker project {name:?} in {shown}/ ({} files, contract {}):",
        lang.label(),
        written.len(),
        contract_id()
    );
    let (vendored, own): (Vec<&str>, Vec<&str>) = written
        .iter()
        .partition(|path| path.starts_with("workstream-checker-sdk/"));
    for path in own {
        println!("  {path}");
    }
    if !vendored.is_empty() {
        println!(
            "  workstream-checker-sdk/  (the {} SDK, vendored: {} files)",
            lang.label(),
            vendored.len()
        );
    }
    println!();
    println!("next:");
    let steps = [
        (format!("cd {shown}"), String::new()),
        (
            "./build.sh test".to_owned(),
            format!("unit tests, then {name}.wasm"),
        ),
        (
            format!("workstream checker test {name}.wasm tests/pass"),
            "exit 0: no findings".to_owned(),
        ),
        (
            format!("workstream checker test {name}.wasm tests/fail"),
            "exit 1: marker_found at outputs/answer.md:5".to_owned(),
        ),
        (
            format!("workstream checker register {name}.wasm"),
            "publish it to the server's registry".to_owned(),
        ),
    ];
    let width = steps
        .iter()
        .map(|(command, _)| command.len())
        .max()
        .unwrap_or(0);
    for (command, note) in &steps {
        if note.is_empty() {
            println!("  {command}");
        } else {
            println!("  {command:<width$}  # {note}");
        }
    }
    let rule_file = match lang {
        Lang::Rust => "src/lib.rs",
        Lang::Python => "src/app.py",
        Lang::Js => "src/checker.js",
    };
    println!(
        "the rule and its MARKER are in {rule_file}; unit tests alone: {}; see README.md",
        lang.template().unit_tests
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Files under `dir`, relative, sorted; `.template` suffixes dropped.
    fn on_disk(dir: &Path) -> Vec<String> {
        fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
            for entry in fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy();
                if name == "__pycache__" || name == "node_modules" {
                    continue;
                }
                if path.is_dir() {
                    walk(base, &path, out);
                } else {
                    let relative = path.strip_prefix(base).unwrap().to_string_lossy();
                    out.push(relative.trim_end_matches(".template").to_owned());
                }
            }
        }
        let mut out = Vec::new();
        walk(dir, dir, &mut out);
        out.sort();
        out
    }

    fn listed(files: Files, prefix: &str) -> Vec<String> {
        let mut out: Vec<String> = files
            .iter()
            .map(|(path, _)| path.strip_prefix(prefix).unwrap().to_owned())
            .collect();
        out.sort();
        out
    }

    #[test]
    fn the_embedded_tables_are_exactly_the_files_on_disk() {
        let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let repo = crate_dir.join("../..");
        let templates = crate_dir.join("templates/checker");
        assert_eq!(listed(PACKETS, ""), on_disk(&templates.join("common")));
        assert_eq!(listed(RUST.files, ""), on_disk(&templates.join("rust")));
        assert_eq!(listed(PYTHON.files, ""), on_disk(&templates.join("python")));
        assert_eq!(listed(JS.files, ""), on_disk(&templates.join("js")));

        // The SDKs: everything that is part of each (not their tests or packaging).
        let mut rust_sdk = on_disk(&repo.join("checkers/sdk"));
        rust_sdk.retain(|path| path != "wit/checker.wit");
        assert_eq!(listed(RUST.sdk, "workstream-checker-sdk/"), rust_sdk);
        let mut python_sdk = on_disk(&repo.join("checkers/sdk-python"));
        python_sdk.retain(|path| path == "README.md" || path.starts_with("workstream_checker/"));
        assert_eq!(listed(PYTHON.sdk, "workstream-checker-sdk/"), python_sdk);
        let mut js_sdk = on_disk(&repo.join("checkers/sdk-js"));
        js_sdk.retain(|path| !path.starts_with("test/"));
        assert_eq!(listed(JS.sdk, "workstream-checker-sdk/"), js_sdk);
    }

    #[test]
    fn the_rust_sdk_carries_the_contract_unchanged() {
        let copy = include_str!("../../../checkers/sdk/wit/checker.wit");
        if let Some((number, (theirs, ours))) = (1..)
            .zip(copy.lines().zip(CONTRACT.lines()))
            .find(|(_, (theirs, ours))| theirs != ours)
        {
            panic!(
                "checkers/sdk/wit/checker.wit differs from wit/checker.wit at line {number} \
                 ({theirs:?} instead of {ours:?}): copy wit/checker.wit over it"
            );
        }
        assert_eq!(
            copy.len(),
            CONTRACT.len(),
            "checkers/sdk/wit/checker.wit must be a copy of wit/checker.wit"
        );
        assert_eq!(contract_id(), "workstream:checker@0.2.0");
    }

    #[test]
    fn names_follow_the_registry_rule() {
        for good in ["a", "no-todo", "marker.v2", "a_b-c.d", &"x".repeat(100)] {
            assert!(check_name(good, Lang::Python).is_ok(), "{good}");
        }
        for bad in [
            "",
            "No-todo",
            "1abc",
            "-x",
            "a b",
            "a/b",
            "é",
            &"x".repeat(101),
        ] {
            assert!(check_name(bad, Lang::Js).is_err(), "{bad}");
        }
        assert!(check_name("test", Lang::Rust).is_err());
        assert!(check_name("test", Lang::Python).is_ok());
        assert_eq!(crate_name("no-todo.v2"), "no_todo_v2");
    }

    #[test]
    fn writes_a_filled_in_project_and_refuses_to_overwrite() {
        let tmp = tempfile::tempdir().unwrap();
        for lang in [Lang::Rust, Lang::Python, Lang::Js] {
            let dir = tmp.path().join(format!("{lang:?}"));
            let written = write_project(&dir, "no-todo.v2", lang).unwrap();
            let template = lang.template();
            assert_eq!(
                written.len(),
                template.files.len() + template.sdk.len() + PACKETS.len() + 1
            );
            for (path, _) in template.files {
                let text = fs::read_to_string(dir.join(path)).unwrap();
                assert!(
                    !text.contains("{{"),
                    "{lang:?} {path} has a placeholder left"
                );
            }
            let script = fs::metadata(dir.join("build.sh")).unwrap();
            assert_eq!(script.permissions().mode() & 0o777, 0o755);
            assert_eq!(
                fs::read_to_string(dir.join(template.contract_at)).unwrap(),
                CONTRACT
            );
            assert!(check_dir(&dir).is_err(), "a written project is not empty");
        }
        let cargo = fs::read_to_string(tmp.path().join("Rust/Cargo.toml")).unwrap();
        assert!(cargo.contains("name = \"no_todo_v2\""), "{cargo}");
        let app = fs::read_to_string(tmp.path().join("Python/src/app.py")).unwrap();
        assert!(app.contains("\nMARKER = \"TODO\"\n"));
        assert!(app.contains("NAME = \"no-todo.v2\""));
        let js = fs::read_to_string(tmp.path().join("Js/src/checker.js")).unwrap();
        assert!(js.contains("\nconst MARKER = 'TODO';\n"));
        let rust = fs::read_to_string(tmp.path().join("Rust/src/lib.rs")).unwrap();
        assert!(rust.contains("\nconst MARKER: &str = \"TODO\";\n"));
        assert!(check_dir(&tmp.path().join("missing")).is_ok());
        fs::create_dir(tmp.path().join("empty")).unwrap();
        assert!(check_dir(&tmp.path().join("empty")).is_ok());
    }
}
