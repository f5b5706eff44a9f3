//! A PostgreSQL cluster the test controls with `pg_ctl`, so that it can be restarted
//! mid-run the way an operator (or a failover) restarts one.
//!
//! The embedded launcher of `workstream_store` runs `postgres` as its own child and
//! would not survive a `pg_ctl restart` (the new postmaster is pg_ctl's). This one is
//! `initdb` + `pg_ctl start/restart/stop` on a directory of the test's temporary
//! directory, with `trust` authentication on loopback only, `fsync=off` (no machine
//! crash is simulated, only process deaths, so the page cache keeps every write) and
//! synchronous commit left on, so a commit that was acknowledged survives an
//! immediate-mode restart. As root the server runs as `nobody`, as the launcher does.
//! Dropping the value stops the cluster (immediate mode), a failing test included.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// How a restart stops the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopMode {
    /// `-m fast`: sessions are ended, a checkpoint is written.
    Fast,
    /// `-m immediate`: the server quits at once and recovers from the WAL at start,
    /// as after a crash.
    Immediate,
}

impl StopMode {
    fn as_str(self) -> &'static str {
        match self {
            StopMode::Fast => "fast",
            StopMode::Immediate => "immediate",
        }
    }
}

pub struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    log: PathBuf,
    port: u16,
    run_as: Option<(u32, u32)>,
    running: bool,
}

/// The uid and gid of `nobody` when this process runs as root (PostgreSQL refuses root).
fn unprivileged() -> Option<(u32, u32)> {
    let euid = std::fs::metadata("/proc/self").ok()?.uid();
    if euid != 0 {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").expect("/etc/passwd");
    let line = passwd
        .lines()
        .find(|l| l.starts_with("nobody:"))
        .expect("running as root needs a `nobody` user for PostgreSQL");
    let fields: Vec<&str> = line.split(':').collect();
    Some((fields[2].parse().unwrap(), fields[3].parse().unwrap()))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Cluster {
    /// Creates and starts a cluster under `root` (which must be empty or absent).
    pub fn start(root: &Path) -> Cluster {
        let bin = workstream_store::embedded::find_server_binaries().expect("PostgreSQL binaries");
        let run_as = unprivileged();
        std::fs::create_dir_all(root).unwrap();
        // The server user must be able to walk down to its directory: the test's own
        // temporary directory is opened up, nothing above it is touched.
        if run_as.is_some() {
            std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
            for dir in root.ancestors().skip(1) {
                let mode = std::fs::metadata(dir).unwrap().permissions().mode();
                assert!(
                    mode & 0o001 != 0,
                    "PostgreSQL runs as nobody and cannot enter {} (mode {:o}); set TMPDIR",
                    dir.display(),
                    mode & 0o777
                );
            }
        }
        let run = root.join("run");
        std::fs::create_dir_all(&run).unwrap();
        if let Some((uid, gid)) = run_as {
            for dir in [root, run.as_path()] {
                std::os::unix::fs::chown(dir, Some(uid), Some(gid)).unwrap();
            }
        }
        let mut cluster = Cluster {
            bin,
            data: root.join("data"),
            log: root.join("postgres.log"),
            port: free_port(),
            run_as,
            running: false,
        };
        let out = cluster.run(
            "initdb",
            &[
                "--pgdata",
                cluster.data.to_str().unwrap(),
                "--username",
                "workstream",
                "--auth",
                "trust",
                "--no-sync",
                "--encoding",
                "UTF8",
                "--locale",
                "C",
            ],
        );
        assert!(out.status.success(), "initdb: {out:?}");
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off",
            cluster.port,
            run.display()
        );
        let out = cluster.pg_ctl(&["start", "-w", "-t", "60", "-o", &options]);
        assert!(
            out.status.success(),
            "pg_ctl start: {out:?}\n{}",
            cluster.log_tail()
        );
        cluster.running = true;
        cluster
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin.join(program));
        if let Some((uid, gid)) = self.run_as {
            command.uid(uid).gid(gid);
        }
        command.stdin(Stdio::null());
        command
    }

    fn run(&self, program: &str, args: &[&str]) -> Output {
        self.command(program).args(args).output().unwrap()
    }

    fn pg_ctl(&self, args: &[&str]) -> Output {
        let mut command = self.command("pg_ctl");
        command
            .arg("--pgdata")
            .arg(&self.data)
            .arg("--log")
            .arg(&self.log)
            .args(args);
        command.output().unwrap()
    }

    /// `pg_ctl restart` in `mode`, waiting until the server accepts connections again
    /// (it keeps the options it was started with).
    pub fn restart(&self, mode: StopMode) -> Output {
        let out = self.pg_ctl(&["restart", "-w", "-t", "60", "-m", mode.as_str()]);
        assert!(
            out.status.success(),
            "pg_ctl restart: {out:?}\n{}",
            self.log_tail()
        );
        out
    }

    /// A connection URL for `database`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://workstream@127.0.0.1:{}/{database}", self.port)
    }

    /// The last lines of the server log.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.running {
            self.running = false;
            let _ = self.pg_ctl(&["stop", "-w", "-t", "30", "-m", "immediate"]);
        }
    }
}
