//! Tools from outside Cargo that some tests drive (Node with the browser driver
//! `playwright-core` from npm and Debian's `chromium` for the browser test; componentize-py
//! from PyPI and componentize-js from npm for the checker language tests; the OpenAPI
//! validators from PyPI: [`pip_packages`]; the S3-compatible server `s3s-fs` from
//! crates.io: [`cargo_tool`]), and the one rule for a tool that is missing.
//!
//! The README's `cargo test --workspace` runs on a fresh clone with nothing installed by
//! hand, so a test installs what it needs on first use: registry packages always (`npm
//! ci` from the committed lock file: [`npm_packages`]), a Debian package only when the
//! test runs as root and `apt-get` exists ([`debian_package`]). Each install holds a lock
//! file, so of two test processes one installs and the other waits, then finds the tool
//! installed.
//!
//! **Skip loudly, unless required.** A tool that is still unavailable (no `node`, not
//! root, no registry, a failed install) skips the test: [`or_skip`] prints `skipped:
//! <test>: <reason>` straight to the process's stderr, past libtest's capture so that a
//! plain `cargo test` shows it, and the test returns without failing. A failure would be
//! worse: cargo stops at the first failing test binary, so one missing browser would
//! keep every binary after it from running. With `WORKSTREAM_REQUIRE_TOOLCHAINS=1`,
//! which `.ci/run` sets, the same situation fails the test with the reason: CI never
//! passes on a skip.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

/// The environment variable that turns a skip into a failure when set to `1`.
pub const REQUIRE_TOOLCHAINS: &str = "WORKSTREAM_REQUIRE_TOOLCHAINS";

/// Why a tool a test needs is unavailable here; [`or_skip`] applies the rule to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable(pub String);

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `WORKSTREAM_REQUIRE_TOOLCHAINS=1`: an unavailable tool fails the test.
pub fn toolchains_required() -> bool {
    std::env::var(REQUIRE_TOOLCHAINS).as_deref() == Ok("1")
}

/// The rule for a tool `test` cannot have: panics with `reason` under
/// `WORKSTREAM_REQUIRE_TOOLCHAINS=1`, otherwise prints `skipped: <test>: <reason>` to
/// stderr. The caller returns from the test after it.
#[track_caller]
pub fn require_or_skip(test: &str, reason: &Unavailable) {
    assert!(
        !toolchains_required(),
        "{REQUIRE_TOOLCHAINS}=1 but {test} cannot run: {reason}"
    );
    announce(&format!(
        "\n**********\nskipped: {test}: {reason}\n(set {REQUIRE_TOOLCHAINS}=1 to make this a failure)\n**********\n"
    ));
}

/// The tool, or `None` after [`require_or_skip`]:
/// `let Some(tool) = or_skip("my_test", find_tool()) else { return };`.
#[track_caller]
pub fn or_skip<T>(test: &str, tool: Result<T, Unavailable>) -> Option<T> {
    match tool {
        Ok(tool) => Some(tool),
        Err(reason) => {
            require_or_skip(test, &reason);
            None
        }
    }
}

/// `Ok` when `program --version` runs and succeeds.
pub fn command(program: &str) -> Result<(), Unavailable> {
    match Command::new(program).arg("--version").output() {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(Unavailable(format!(
            "`{program} --version` failed: {}",
            tail(&out)
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(Unavailable(format!("`{program}` is not on PATH")))
        }
        Err(e) => Err(Unavailable(format!("`{program}` did not start: {e}"))),
    }
}

/// Makes `dir/node_modules/<package>` what `dir/package-lock.json` pins: when it is
/// missing or older than the lock file, runs `npm ci --no-audit --no-fund` in `dir`
/// (npm's registry on first use), holding `dir/.npm-ci.lock`.
pub fn npm_packages(dir: &Path, package: &str) -> Result<(), Unavailable> {
    let installed = dir.join("node_modules").join(package);
    let lock_file = dir.join("package-lock.json");
    let current = || -> bool {
        let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        matches!((modified(&installed), modified(&lock_file)), (Some(i), Some(l)) if i >= l)
    };
    if current() {
        return Ok(());
    }
    let _one_install = exclusive(&dir.join(".npm-ci.lock"))?;
    if current() {
        return Ok(());
    }
    command("npm")?;
    let started = Instant::now();
    announce(&format!(
        "installing {package} and the rest of {} (npm ci: missing or older than the lock file)",
        lock_file.display()
    ));
    let out = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(dir)
        .output()
        .map_err(|e| Unavailable(format!("npm ci in {} did not start: {e}", dir.display())))?;
    if !out.status.success() {
        return Err(Unavailable(format!(
            "npm ci in {} failed: {}",
            dir.display(),
            tail(&out)
        )));
    }
    if !current() {
        return Err(Unavailable(format!(
            "npm ci in {} did not install {package}",
            dir.display()
        )));
    }
    announce(&format!(
        "installed {package} in {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// A Python virtual environment at `venv` with what `requirements` pins (a
/// `requirements.txt` with exact versions), made with `python3 -m venv` and `pip install
/// -r` from PyPI on first use or when the requirements changed, holding
/// `<venv>.lock`. Returns the venv's `bin` directory.
pub fn pip_packages(venv: &Path, requirements: &Path) -> Result<PathBuf, Unavailable> {
    let bin = venv.join("bin");
    let stamp = venv.join("requirements.installed");
    let wanted = std::fs::read_to_string(requirements)
        .map_err(|e| Unavailable(format!("{}: {e}", requirements.display())))?;
    let current = || std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str());
    if current() {
        return Ok(bin);
    }
    if let Some(parent) = venv.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| Unavailable(format!("{}: {e}", parent.display())))?;
    }
    let _one_install = exclusive(&venv.with_extension("lock"))?;
    if current() {
        return Ok(bin);
    }
    command("python3")?;
    let started = Instant::now();
    announce(&format!(
        "installing {} into {} (pip, from PyPI)",
        requirements.display(),
        venv.display()
    ));
    let _ = std::fs::remove_dir_all(venv);
    let run = |program: &Path, args: &[&str]| -> Result<(), Unavailable> {
        let out = Command::new(program)
            .args(args)
            .output()
            .map_err(|e| Unavailable(format!("{} did not start: {e}", program.display())))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(Unavailable(format!(
                "{} {} failed: {}",
                program.display(),
                args.join(" "),
                tail(&out)
            )))
        }
    };
    let venv_arg = venv.to_string_lossy().into_owned();
    run(Path::new("python3"), &["-m", "venv", &venv_arg])?;
    let requirements_arg = requirements.to_string_lossy().into_owned();
    run(
        &bin.join("pip"),
        &[
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
            &requirements_arg,
        ],
    )?;
    std::fs::write(&stamp, &wanted)
        .map_err(|e| Unavailable(format!("{}: {e}", stamp.display())))?;
    announce(&format!(
        "installed {} in {:.1} s",
        requirements.display(),
        started.elapsed().as_secs_f64()
    ));
    Ok(bin)
}

/// `path`, installing the Debian `package` that provides it when it is missing and the
/// process runs as root where `apt-get` exists (`apt-get update`, then `apt-get install
/// -y`), holding a lock file in the temporary directory.
pub fn debian_package(path: &Path, package: &str) -> Result<PathBuf, Unavailable> {
    if path.exists() {
        return Ok(path.to_path_buf());
    }
    let by_hand = format!("install it as root: apt-get update && apt-get install -y {package}");
    if !running_as_root() {
        return Err(Unavailable(format!(
            "{} is missing and the tests do not run as root; {by_hand}",
            path.display()
        )));
    }
    if command("apt-get").is_err() {
        return Err(Unavailable(format!(
            "{} is missing and there is no apt-get to install the Debian package {package}",
            path.display()
        )));
    }
    let _one_install = exclusive(&std::env::temp_dir().join("workstream-apt-get.lock"))?;
    if path.exists() {
        return Ok(path.to_path_buf());
    }
    let started = Instant::now();
    announce(&format!(
        "installing the Debian package {package} for {} (apt-get, first use)",
        path.display()
    ));
    for args in [
        &["update", "-qq"][..],
        &["install", "-y", "-qq", package][..],
    ] {
        let out = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
            .map_err(|e| Unavailable(format!("apt-get did not start: {e}")))?;
        if !out.status.success() {
            return Err(Unavailable(format!(
                "`apt-get {}` failed ({by_hand}): {}",
                args.join(" "),
                tail(&out)
            )));
        }
    }
    if !path.exists() {
        return Err(Unavailable(format!(
            "the Debian package {package} installed no {}",
            path.display()
        )));
    }
    announce(&format!(
        "installed {package} in {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    Ok(path.to_path_buf())
}

/// Whether the process runs as root (uid 0), asked of `id -u`.
fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// An exclusive lock on `path` (created if missing), held until the file is dropped.
/// The binary `binary` of the crates.io package `package` at exactly `version` (with
/// `features`), installed with `cargo install --locked` into cargo's own `bin` directory
/// on first use (compiled from the registry's source: minutes, once per machine),
/// holding `<cargo home>/.workstream-install-<package>.lock`. Returns its path.
pub fn cargo_tool(
    binary: &str,
    package: &str,
    version: &str,
    features: &[&str],
) -> Result<PathBuf, Unavailable> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .ok_or_else(|| Unavailable("neither CARGO_HOME nor HOME is set".into()))?;
    let path = home.join("bin").join(binary);
    // The exact version, as `cargo install` records it in `.crates.toml`.
    let installed = || {
        path.exists()
            && std::fs::read_to_string(home.join(".crates.toml"))
                .is_ok_and(|t| t.contains(&format!("\"{package} {version} ")))
    };
    if installed() {
        return Ok(path);
    }
    let _one_install = exclusive(&home.join(format!(".workstream-install-{package}.lock")))?;
    if installed() {
        return Ok(path);
    }
    let started = Instant::now();
    announce(&format!(
        "installing {package} {version} with cargo install (once per machine)"
    ));
    let mut install = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    install.args(["install", "--locked", "--version", version, package]);
    if !features.is_empty() {
        install.args(["--features", &features.join(",")]);
    }
    // A parent build's settings must not leak into this one.
    for variable in [
        "CARGO_TARGET_DIR",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
    ] {
        install.env_remove(variable);
    }
    let out = install
        .output()
        .map_err(|e| Unavailable(format!("cargo install {package} did not start: {e}")))?;
    if !out.status.success() || !installed() {
        return Err(Unavailable(format!(
            "cargo install {package} {version} failed: {}",
            tail(&out)
        )));
    }
    announce(&format!(
        "installed {package} {version} in {:.0} s",
        started.elapsed().as_secs_f64()
    ));
    Ok(path)
}

fn exclusive(path: &Path) -> Result<File, Unavailable> {
    let locked = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .and_then(|file| file.lock().map(|()| file));
    locked.map_err(|e| Unavailable(format!("cannot lock {}: {e}", path.display())))
}

/// Writes `message` to the process's stderr itself: `eprintln!` in a test is captured
/// and shown only if the test fails, and installs and skips must be seen.
fn announce(message: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{message}");
}

/// The last lines a failed command printed, for the reason.
fn tail(out: &Output) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let from = lines.len().saturating_sub(5);
    format!(
        "status {:?}: {}",
        out.status.code(),
        lines[from..].join(" | ")
    )
}
