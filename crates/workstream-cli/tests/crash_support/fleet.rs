//! The processes of a deployment, as real `workstream` binaries: API servers (`serve`,
//! and `up` against the same external database) and `workstream worker`s, all on one
//! database and one object store (a directory, or a real S3-compatible server with
//! `WORKSTREAM_TEST_OBJECT_STORE=s3`). Each can be SIGKILLed and started again (a server on
//! the port it had, so clients find it again; a worker under a new worker id, as a new
//! process on a host would get).
//!
//! Every process still running is killed when the fleet is dropped, a panicking test
//! included; each one's stderr goes to a log file of its own, and the ends of those logs
//! are printed when the test fails.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

/// The local HMAC secret every process verifies tokens with.
pub const SECRET: &str = "workstream-crash-test-local-hmac-secret-0123456789";

/// What a member of the fleet is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// `workstream serve --workers 0`.
    Serve,
    /// `workstream up --workers 0` with `WORKSTREAM_DATABASE_URL` set (no embedded
    /// cluster): the same server through the other entry point.
    Up,
    /// `workstream worker --concurrency 2 --lease-seconds 2`.
    Worker,
}

struct Running {
    child: Child,
    /// Held open so the process can always write its stdout.
    _stdout: BufReader<ChildStdout>,
}

struct Member {
    role: Role,
    /// A server's address (`127.0.0.1:port`), fixed after its first start.
    address: Option<String>,
    /// How many times it was started (the worker id's suffix).
    starts: u32,
    running: Option<Running>,
}

pub struct Fleet {
    binary: PathBuf,
    database_url: String,
    /// `WORKSTREAM_OBJECT_STORE_URL` of every process: a directory, or with
    /// `WORKSTREAM_TEST_OBJECT_STORE=s3` a bucket prefix on the test S3 server.
    objects: String,
    /// The `AWS_*` settings that go with an S3 store.
    s3_env: Vec<(String, String)>,
    dir: PathBuf,
    members: BTreeMap<String, Member>,
    /// The lease of the worker processes, in seconds.
    pub lease_seconds: u32,
}

impl Fleet {
    pub fn new(database_url: &str, dir: &Path) -> Fleet {
        let (objects, s3_env) = if workstream_e2e::s3::requested() {
            let server = workstream_e2e::s3::TestS3::shared().unwrap_or_else(|reason| {
                panic!("WORKSTREAM_TEST_OBJECT_STORE=s3 but no S3 server: {reason}")
            });
            (server.url(), server.env())
        } else {
            let objects = dir.join("objects");
            std::fs::create_dir_all(&objects).unwrap();
            (objects.display().to_string(), Vec::new())
        };
        Fleet {
            binary: PathBuf::from(env!("CARGO_BIN_EXE_workstream")),
            database_url: database_url.to_owned(),
            objects,
            s3_env,
            dir: dir.to_owned(),
            members: BTreeMap::new(),
            lease_seconds: 2,
        }
    }

    /// A `workstream` command with the deployment's environment.
    pub fn command(&self, data_dir: &Path) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .env("WORKSTREAM_DATABASE_URL", &self.database_url)
            .env("WORKSTREAM_OBJECT_STORE_URL", &self.objects)
            .envs(self.s3_env.iter().map(|(k, v)| (k, v)))
            .env("WORKSTREAM_DATA_DIR", data_dir)
            // One audit signing key for the deployment: every process seals with it.
            .env(
                "WORKSTREAM_AUDIT_SIGNING_KEY",
                self.dir.join("audit-signing.key"),
            )
            .env("WORKSTREAM_AUDIT_SEAL_INTERVAL_MS", "200")
            .env("WORKSTREAM_ENVIRONMENT", "test")
            .env("WORKSTREAM_FLOW_AUTH_LOCAL_HMAC_SECRET", SECRET)
            // Shared by every server, so that cursors and rate-limit keys agree.
            .env(
                "WORKSTREAM_API_RATE_LIMIT_KEY_SECRET",
                "Y3Jhc2gtdGVzdC1yYXRlLWxpbWl0LWtleS0wMTIzNDU2Nzg5YWJjZGVm",
            )
            .env(
                "WORKSTREAM_PAGINATION_CURSOR_HMAC_SECRET",
                "Y3Jhc2gtdGVzdC1wYWdpbmF0aW9uLWN1cnNvci0wMTIzNDU2Nzg5",
            )
            .env("WORKSTREAM_API_FIRST_ACCESS_RATE_LIMIT", "100000")
            .env("WORKSTREAM_API_ADMIN_MUTATION_RATE_LIMIT", "100000")
            .env("WORKSTREAM_LOG", "warn")
            .env_remove("WORKSTREAM_WORKERS")
            .stdin(Stdio::null());
        command
    }

    /// Runs a one-shot `workstream` command (migrate, admin bootstrap, audit verify).
    pub fn run(&self, args: &[&str]) -> std::process::Output {
        let data = self.dir.join("cli");
        std::fs::create_dir_all(&data).unwrap();
        self.command(&data).args(args).output().unwrap()
    }

    /// Adds a member named `name` and starts it.
    pub fn add(&mut self, name: &str, role: Role) {
        self.members.insert(
            name.to_owned(),
            Member {
                role,
                address: None,
                starts: 0,
                running: None,
            },
        );
        self.start(name);
    }

    /// The members' names with `role`.
    pub fn named(&self, role: Role) -> Vec<String> {
        self.members
            .iter()
            .filter(|(_, m)| m.role == role)
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Every server's base URL (`http://127.0.0.1:port`), running or not.
    pub fn server_urls(&self) -> Vec<String> {
        self.members
            .values()
            .filter_map(|m| m.address.as_ref().map(|a| format!("http://{a}")))
            .collect()
    }

    pub fn is_running(&self, name: &str) -> bool {
        self.members[name].running.is_some()
    }

    /// Starts `name` and waits for its first line (the server is listening, the worker
    /// is claiming).
    pub fn start(&mut self, name: &str) {
        let member = self.members.get(name).expect("a member");
        assert!(member.running.is_none(), "{name} already runs");
        let data = self.dir.join(name);
        std::fs::create_dir_all(&data).unwrap();
        let starts = member.starts + 1;
        let mut command = self.command(&data);
        match member.role {
            Role::Serve | Role::Up => {
                let bind = member.address.clone().unwrap_or("127.0.0.1:0".into());
                let verb = if member.role == Role::Serve {
                    "serve"
                } else {
                    "up"
                };
                command.args([verb, "--workers", "0", "--bind", &bind]);
            }
            Role::Worker => {
                command
                    .args(["worker", "--concurrency", "2", "--lease-seconds"])
                    .arg(self.lease_seconds.to_string())
                    .args(["--worker-id", &format!("{name}-{starts}")]);
            }
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("{name}.log")))
            .unwrap();
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start workstream");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let read = stdout.read_line(&mut line);
        let member = self.members.get_mut(name).unwrap();
        member.starts = starts;
        member.running = Some(Running {
            child,
            _stdout: stdout,
        });
        read.expect("the first line");
        match member.role {
            Role::Serve | Role::Up => {
                let address = line
                    .split_whitespace()
                    .find_map(|w| w.strip_prefix("http://"))
                    .unwrap_or_else(|| panic!("{name} did not start: {line:?}"))
                    .to_owned();
                if let Some(known) = &member.address {
                    assert_eq!(known, &address, "{name} came back on another address");
                }
                member.address = Some(address);
            }
            Role::Worker => assert!(
                line.contains("is working jobs"),
                "{name} did not start: {line:?}"
            ),
        }
    }

    /// SIGKILLs `name` and reaps it.
    pub fn kill(&mut self, name: &str) {
        let mut running = self
            .members
            .get_mut(name)
            .unwrap()
            .running
            .take()
            .expect("running");
        running.child.kill().expect("SIGKILL");
        let status = running.child.wait().expect("reap");
        assert!(!status.success(), "{name} was killed: {status:?}");
    }

    /// Names of members that exited on their own (a crash the test did not cause).
    pub fn exited(&mut self) -> Vec<String> {
        self.members
            .iter_mut()
            .filter_map(|(name, m)| {
                let running = m.running.as_mut()?;
                running
                    .child
                    .try_wait()
                    .unwrap()
                    .map(|s| format!("{name}: {s}"))
            })
            .collect()
    }

    fn log_tails(&self) -> String {
        let mut out = String::new();
        for name in self.members.keys() {
            let text =
                std::fs::read_to_string(self.dir.join(format!("{name}.log"))).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            out.push_str(&format!("--- {name}.log (last lines)\n"));
            for line in &lines[lines.len().saturating_sub(15)..] {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.log_tails());
        }
        for member in self.members.values_mut() {
            if let Some(mut running) = member.running.take() {
                let _ = running.child.kill();
                let _ = running.child.wait();
            }
        }
    }
}
