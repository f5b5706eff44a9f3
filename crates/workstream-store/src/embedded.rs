//! The embedded PostgreSQL cluster: Workstream's default database.
//!
//! `workstream up` and the test suite both need a real PostgreSQL without asking the
//! user to install and configure one. This module runs the server binaries that are
//! already on the machine (`initdb`, `postgres`) against a private data directory:
//!
//! * the cluster listens on a free loopback port and keeps its Unix socket in a private
//!   directory, so it never collides with a system PostgreSQL;
//! * the superuser `workstream` gets a random password (SCRAM), kept next to the data
//!   directory with mode 0600;
//! * the server is a direct child of the process that started it, in its own process
//!   group (a terminal Ctrl-C reaches Workstream first, which then shuts the cluster
//!   down after the HTTP server has drained), with `PR_SET_PDEATHSIG` so that a killed
//!   Workstream never leaves an orphaned server behind;
//! * PostgreSQL refuses to run as root. When Workstream runs as root (CI machines,
//!   containers), the cluster runs as the unprivileged `nobody` user instead;
//! * a process killed outright (SIGKILL, OOM) leaves its server shutting down on the
//!   parent-death signal; a start on the same directory waits (up to 30 seconds) for
//!   the server named in `postmaster.pid` to exit instead of failing on its lock file,
//!   so a restart right after a crash works. A server that is still running after that
//!   (another `workstream up` on the same directory) is reported by pid.
//!
//! A [`Durability::Durable`] cluster keeps its data between runs (the `up` command); a
//! [`Durability::Throwaway`] one trades crash safety for speed (`fsync=off`) and is
//! meant for tests.

use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::{Pid, Uid, User};

/// The PostgreSQL role that owns an embedded cluster.
pub const SUPERUSER: &str = "workstream";

/// How long a cluster may take to accept connections after it was started.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a fast shutdown may take before the server is stopped harder.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a start waits for a previous server of the same data directory to exit.
const PREVIOUS_SERVER_TIMEOUT: Duration = Duration::from_secs(30);

/// Whether a cluster's data must survive crashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Normal PostgreSQL durability: the `up` command's cluster.
    Durable,
    /// `fsync`, synchronous commit and full-page writes off, and a small WAL ceiling:
    /// a test cluster that is thrown away with its process.
    Throwaway,
}

/// Why an embedded cluster could not be started or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// No PostgreSQL server binaries were found on this machine.
    #[error(
        "PostgreSQL server binaries (initdb, postgres) were not found; looked in {searched}. \
         Install the server package (Debian/Ubuntu: `apt-get install postgresql`; \
         Fedora: `dnf install postgresql-server`; macOS: `brew install postgresql`), \
         set WORKSTREAM_POSTGRES_BIN_DIR to the directory holding them, \
         or point WORKSTREAM_DATABASE_URL at an existing server"
    )]
    BinariesNotFound {
        /// The directories that were searched, comma-separated.
        searched: String,
    },
    /// Running as root, but the unprivileged user PostgreSQL must run as is missing or
    /// cannot reach the data directory.
    #[error("cannot run PostgreSQL as an unprivileged user: {0}")]
    Privileges(String),
    /// A data directory exists but is not a cluster Workstream can use.
    #[error("data directory {path} is not usable: {reason}")]
    DataDirectory {
        /// The data directory.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// `initdb` failed.
    #[error("initdb failed ({status}): {output}")]
    Initdb {
        /// The exit status.
        status: ExitStatus,
        /// What initdb printed.
        output: String,
    },
    /// The server exited or did not become ready in time.
    #[error("PostgreSQL did not start: {reason}; last lines of {log}:\n{tail}")]
    Start {
        /// What went wrong.
        reason: String,
        /// The server log file.
        log: PathBuf,
        /// The end of the server log.
        tail: String,
    },
    /// A filesystem or process operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> ClusterError {
    let context = context.into();
    move |source| ClusterError::Io { context, source }
}

/// A running PostgreSQL server owned by this process.
///
/// Dropping it stops the server (fast shutdown). A throwaway cluster also removes its
/// directory when stopped.
#[derive(Debug)]
pub struct EmbeddedCluster {
    root: PathBuf,
    port: u16,
    password: String,
    pid: Pid,
    exited: mpsc::Receiver<std::io::Result<ExitStatus>>,
    durability: Durability,
    running: bool,
}

/// Layout of a cluster directory.
struct Layout {
    data: PathBuf,
    sockets: PathBuf,
    log: PathBuf,
    password: PathBuf,
}

impl Layout {
    fn new(root: &Path) -> Self {
        Layout {
            data: root.join("data"),
            sockets: root.join("run"),
            log: root.join("postgres.log"),
            password: root.join("superuser-password"),
        }
    }
}

impl EmbeddedCluster {
    /// Starts (creating it first if needed) the cluster kept under `root`.
    ///
    /// Blocks until the server accepts connections. Call it from a blocking context
    /// (`tokio::task::spawn_blocking` in async code).
    pub fn start(root: &Path, durability: Durability) -> Result<Self, ClusterError> {
        let bin_dir = find_server_binaries()?;
        let run_as = unprivileged_user()?;

        fs::create_dir_all(root).map_err(io_err(format!("creating {}", root.display())))?;
        let mut root = root
            .canonicalize()
            .map_err(io_err(format!("resolving {}", root.display())))?;
        if let Some(user) = &run_as
            && let Err(unreachable) = ensure_reachable(&root, user)
        {
            root = relocate(&root, user, unreachable)?;
        }
        let layout = Layout::new(&root);
        fs::create_dir_all(&layout.sockets)
            .map_err(io_err(format!("creating {}", layout.sockets.display())))?;
        if let Some(user) = &run_as {
            for dir in [&root, &layout.sockets] {
                chown(dir, user)?;
            }
        }

        let password = if layout.data.join("PG_VERSION").exists() {
            fs::read_to_string(&layout.password).map_err(|e| ClusterError::DataDirectory {
                path: layout.data.clone(),
                reason: format!(
                    "it has no readable {} ({e}); was it created by Workstream?",
                    layout.password.display()
                ),
            })?
        } else {
            initdb(&bin_dir, &layout, run_as.as_ref(), durability)?
        };

        wait_for_previous_server(&layout)?;
        let mut last_error = None;
        // A port picked as free can be taken before the server binds it; try a few.
        for _ in 0..3 {
            let port = free_port()?;
            match spawn_server(&bin_dir, &layout, port, run_as.as_ref(), durability) {
                Ok((pid, exited)) => {
                    let mut cluster = EmbeddedCluster {
                        root: root.clone(),
                        port,
                        password: password.trim().to_owned(),
                        pid,
                        exited,
                        durability,
                        running: true,
                    };
                    match cluster.wait_ready(&layout) {
                        Ok(()) => return Ok(cluster),
                        Err(err) => {
                            cluster.running = false;
                            let _ = kill(pid, Signal::SIGKILL);
                            last_error = Some(err);
                        }
                    }
                }
                Err(err) => last_error = Some(err),
            }
        }
        Err(last_error.expect("at least one start attempt"))
    }

    /// The loopback port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory holding the data directory, socket directory, log and password.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A connection URL for `database` as the cluster's superuser.
    pub fn database_url(&self, database: &str) -> String {
        format!(
            "postgres://{SUPERUSER}:{}@127.0.0.1:{}/{database}",
            self.password, self.port
        )
    }

    /// Creates `database` on the cluster unless it exists, and opens a pool of
    /// `connections` to it.
    pub async fn open_database(
        &self,
        database: &str,
        connections: u32,
    ) -> Result<sqlx::PgPool, sqlx::Error> {
        let admin = crate::connect(&self.database_url("postgres"), 1).await?;
        let exists = sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS "exists!""#,
            database,
        )
        .fetch_one(&admin)
        .await?;
        if !exists {
            let name = database.replace('"', "\"\"");
            // Dynamic SQL: the database's name is an identifier given at run time.
            sqlx::query(&format!(r#"CREATE DATABASE "{name}""#))
                .execute(&admin)
                .await?;
        }
        admin.close().await;
        crate::connect(&self.database_url(database), connections).await
    }

    /// Stops the server with a fast shutdown (open sessions are ended, the data is
    /// flushed), escalating if it takes longer than 30 seconds.
    pub fn stop(&mut self) -> Result<(), ClusterError> {
        if !self.running {
            return Ok(());
        }
        self.running = false;
        let _ = kill(self.pid, Signal::SIGINT);
        if self.exited.recv_timeout(STOP_TIMEOUT).is_err() {
            let _ = kill(self.pid, Signal::SIGQUIT);
            if self.exited.recv_timeout(Duration::from_secs(5)).is_err() {
                let _ = kill(self.pid, Signal::SIGKILL);
                let _ = self.exited.recv_timeout(Duration::from_secs(5));
            }
        }
        if self.durability == Durability::Throwaway {
            fs::remove_dir_all(&self.root)
                .map_err(io_err(format!("removing {}", self.root.display())))?;
        }
        Ok(())
    }

    fn wait_ready(&mut self, layout: &Layout) -> Result<(), ClusterError> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let failed = |reason: String| ClusterError::Start {
            reason,
            log: layout.log.clone(),
            tail: log_tail(&layout.log),
        };
        loop {
            if let Ok(status) = self.exited.try_recv() {
                return Err(failed(format!("the server exited ({status:?})")));
            }
            // The postmaster writes "ready" on the 8th line of its pid file once it
            // accepts connections (PostgreSQL >= 10).
            let ready = fs::read_to_string(layout.data.join("postmaster.pid"))
                .map(|pid_file| pid_file.lines().nth(7).map(str::trim) == Some("ready"))
                .unwrap_or(false);
            if ready
                && TcpStream::connect(SocketAddrV4::new(Ipv4Addr::LOCALHOST, self.port)).is_ok()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(failed(format!(
                    "not ready after {} seconds",
                    READY_TIMEOUT.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for EmbeddedCluster {
    fn drop(&mut self) {
        if let Err(err) = self.stop() {
            tracing::warn!(error = %err, "stopping the embedded PostgreSQL cluster");
        }
    }
}

/// Waits for the server named in the data directory's `postmaster.pid` to exit: the
/// server of a previous owner killed without stopping it, which got the parent-death
/// signal and is shutting down. A pid that is not alive (or not ours to signal, which
/// PostgreSQL treats as stale too) needs no wait; PostgreSQL itself clears a stale file.
fn wait_for_previous_server(layout: &Layout) -> Result<(), ClusterError> {
    let Ok(pid_file) = fs::read_to_string(layout.data.join("postmaster.pid")) else {
        return Ok(());
    };
    let Some(pid) = pid_file
        .lines()
        .next()
        .and_then(|line| line.trim().parse::<i32>().ok())
        .filter(|pid| *pid > 0)
    else {
        return Ok(());
    };
    let pid = Pid::from_raw(pid);
    let deadline = Instant::now() + PREVIOUS_SERVER_TIMEOUT;
    while kill(pid, None).is_ok() {
        if Instant::now() > deadline {
            return Err(ClusterError::DataDirectory {
                path: layout.data.clone(),
                reason: format!(
                    "another PostgreSQL server (pid {pid}) has been using it for more than {} \
                     seconds; is another `workstream up` running on this data directory?",
                    PREVIOUS_SERVER_TIMEOUT.as_secs()
                ),
            });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// Finds the directory with `initdb` and `postgres`: `WORKSTREAM_POSTGRES_BIN_DIR`,
/// then `pg_config --bindir`, then the newest `/usr/lib/postgresql/*/bin` (Debian's
/// layout, where the server binaries are not on `PATH`).
pub fn find_server_binaries() -> Result<PathBuf, ClusterError> {
    let mut candidates = Vec::new();
    if let Some(dir) = std::env::var_os("WORKSTREAM_POSTGRES_BIN_DIR") {
        candidates.push(PathBuf::from(dir));
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        candidates.push(PathBuf::from(
            String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        ));
    }
    if let Ok(entries) = fs::read_dir("/usr/lib/postgresql") {
        let mut versioned: Vec<(u32, PathBuf)> = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let version = e.file_name().to_str()?.parse::<u32>().ok()?;
                Some((version, e.path().join("bin")))
            })
            .collect();
        versioned.sort_by_key(|(version, _)| std::cmp::Reverse(*version));
        candidates.extend(versioned.into_iter().map(|(_, dir)| dir));
    }
    candidates
        .iter()
        .find(|dir| dir.join("initdb").is_file() && dir.join("postgres").is_file())
        .cloned()
        .ok_or_else(|| ClusterError::BinariesNotFound {
            searched: if candidates.is_empty() {
                "WORKSTREAM_POSTGRES_BIN_DIR, pg_config --bindir, /usr/lib/postgresql/*/bin (none present)"
                    .to_owned()
            } else {
                candidates
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        })
}

/// PostgreSQL will not run as root; pick the user it runs as instead (None: as us).
fn unprivileged_user() -> Result<Option<User>, ClusterError> {
    if !Uid::effective().is_root() {
        return Ok(None);
    }
    match User::from_name("nobody") {
        Ok(Some(user)) => Ok(Some(user)),
        _ => Err(ClusterError::Privileges(
            "running as root and there is no `nobody` user to run the server as".to_owned(),
        )),
    }
}

/// The server, running as `user`, must be able to walk down to its data directory.
fn ensure_reachable(root: &Path, user: &User) -> Result<(), ClusterError> {
    for dir in root.ancestors().skip(1) {
        let meta = fs::metadata(dir).map_err(io_err(format!("inspecting {}", dir.display())))?;
        let mode = meta.permissions().mode();
        let searchable = mode & 0o001 != 0
            || (meta.uid() == user.uid.as_raw() && mode & 0o100 != 0)
            || (meta.gid() == user.gid.as_raw() && mode & 0o010 != 0);
        if !searchable {
            return Err(ClusterError::Privileges(format!(
                "PostgreSQL runs as `{}` because Workstream runs as root, and that user \
                 cannot enter {} (mode {:o}); choose a data directory under a path others \
                 can traverse, e.g. WORKSTREAM_DATA_DIR=/var/lib/workstream",
                user.name,
                dir.display(),
                mode & 0o777
            )));
        }
    }
    Ok(())
}

/// Where clusters live whose requested directory the server user cannot reach.
const RELOCATION_ROOT: &str = "/var/lib/workstream/clusters";

/// Running as root inside a directory others cannot enter (a home directory, a
/// `mktemp -d` checkout): the server cannot reach a cluster there, and changing the
/// permissions of the user's directories behind their back is not ours to do. The
/// cluster moves to a directory of its own under [`RELOCATION_ROOT`], named after the
/// requested path (so the same checkout finds the same cluster again), and the
/// requested directory records where it went in `cluster-location`.
fn relocate(requested: &Path, user: &User, why: ClusterError) -> Result<PathBuf, ClusterError> {
    let name = workstream_domain::Digest::of_bytes(requested.as_os_str().as_encoded_bytes())
        .to_hex()
        .chars()
        .take(24)
        .collect::<String>();
    let relocated = Path::new(RELOCATION_ROOT).join(name);
    fs::create_dir_all(&relocated).map_err(|source| {
        ClusterError::Privileges(format!(
            "{why}; moving the cluster to {} failed too: {source}",
            relocated.display()
        ))
    })?;
    ensure_reachable(&relocated, user)?;
    let note = requested.join("cluster-location");
    fs::write(
        &note,
        format!(
            "PostgreSQL runs as `{}` (Workstream runs as root) and cannot enter {};\n\
             this cluster lives in {}\n",
            user.name,
            requested.display(),
            relocated.display()
        ),
    )
    .map_err(io_err(format!("writing {}", note.display())))?;
    tracing::warn!(
        requested = %requested.display(),
        cluster = %relocated.display(),
        "the PostgreSQL server user cannot reach the data directory; the cluster lives elsewhere"
    );
    Ok(relocated)
}

fn chown(path: &Path, user: &User) -> Result<(), ClusterError> {
    std::os::unix::fs::chown(path, Some(user.uid.as_raw()), Some(user.gid.as_raw()))
        .map_err(io_err(format!("changing the owner of {}", path.display())))
}

fn random_password() -> Result<String, ClusterError> {
    let mut bytes = [0u8; 24];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(io_err("reading /dev/urandom"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Creates the cluster; returns the superuser password.
fn initdb(
    bin_dir: &Path,
    layout: &Layout,
    run_as: Option<&User>,
    durability: Durability,
) -> Result<String, ClusterError> {
    if layout.data.exists()
        && fs::read_dir(&layout.data)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(ClusterError::DataDirectory {
            path: layout.data.clone(),
            reason: "it is not empty but holds no PostgreSQL cluster".to_owned(),
        });
    }
    let password = random_password()?;
    write_private(&layout.password, &password)?;

    // initdb reads the password from a file; it runs as the server user, so it gets
    // its own short-lived copy.
    let pwfile = layout.sockets.join("initdb-password");
    write_private(&pwfile, &password)?;
    if let Some(user) = run_as {
        chown(&pwfile, user)?;
    }
    let mut cmd = Command::new(bin_dir.join("initdb"));
    cmd.arg("--pgdata")
        .arg(&layout.data)
        .args(["--username", SUPERUSER, "--auth", "scram-sha-256"])
        .arg(format!("--pwfile={}", pwfile.display()))
        .args(["--encoding", "UTF8", "--locale", "C"]);
    if durability == Durability::Throwaway {
        cmd.arg("--no-sync");
    }
    if let Some(user) = run_as {
        cmd.uid(user.uid.as_raw()).gid(user.gid.as_raw());
    }
    let output = cmd.stdin(Stdio::null()).output().map_err(io_err(format!(
        "running {}",
        bin_dir.join("initdb").display()
    )));
    let _ = fs::remove_file(&pwfile);
    let output = output?;
    if !output.status.success() {
        return Err(ClusterError::Initdb {
            status: output.status,
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        });
    }
    Ok(password)
}

fn write_private(path: &Path, contents: &str) -> Result<(), ClusterError> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(io_err(format!("writing {}", path.display())))?;
    file.write_all(contents.as_bytes())
        .map_err(io_err(format!("writing {}", path.display())))
}

fn free_port() -> Result<u16, ClusterError> {
    let listener = TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0))
        .map_err(io_err("finding a free loopback port"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(io_err("finding a free loopback port"))
}

type ExitReceiver = mpsc::Receiver<std::io::Result<ExitStatus>>;

/// Starts `postgres` as a child of a dedicated keeper thread.
///
/// `PR_SET_PDEATHSIG` fires when the *thread* that forked the child exits, not the
/// process; the keeper thread lives exactly as long as the server (it waits on it), so
/// the signal fires only when this whole process dies.
fn spawn_server(
    bin_dir: &Path,
    layout: &Layout,
    port: u16,
    run_as: Option<&User>,
    durability: Durability,
) -> Result<(Pid, ExitReceiver), ClusterError> {
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&layout.log)
        .map_err(io_err(format!("opening {}", layout.log.display())))?;
    let log_err = log
        .try_clone()
        .map_err(io_err(format!("opening {}", layout.log.display())))?;

    let mut cmd = Command::new(bin_dir.join("postgres"));
    cmd.arg("-D")
        .arg(&layout.data)
        .arg("-p")
        .arg(port.to_string())
        .arg("-k")
        .arg(&layout.sockets)
        .args(["-c", "listen_addresses=127.0.0.1"])
        .args(["-c", "unix_socket_permissions=0700"])
        .args(["-c", "max_connections=200"]);
    if durability == Durability::Throwaway {
        cmd.args(["-c", "fsync=off"])
            .args(["-c", "synchronous_commit=off"])
            .args(["-c", "full_page_writes=off"])
            .args(["-c", "wal_level=minimal"])
            .args(["-c", "max_wal_senders=0"])
            // A test binary clones dozens of databases (each clone is WAL-logged in
            // full); a small WAL ceiling recycles those segments instead of letting
            // pg_wal grow towards the 1 GB default on a disk shared by every test.
            .args(["-c", "max_wal_size=64MB"])
            .args(["-c", "min_wal_size=32MB"]);
    }
    if let Some(user) = run_as {
        cmd.uid(user.uid.as_raw()).gid(user.gid.as_raw());
    }
    cmd.stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .process_group(0);
    set_parent_death_signal(&mut cmd);

    let (pid_tx, pid_rx) = mpsc::channel();
    let (exit_tx, exit_rx) = mpsc::channel();
    std::thread::Builder::new()
        .name(format!("postgres-{port}"))
        .spawn(move || match cmd.spawn() {
            Ok(mut child) => {
                let _ = pid_tx.send(Ok(child.id()));
                let _ = exit_tx.send(child.wait());
            }
            Err(err) => {
                let _ = pid_tx.send(Err(err));
            }
        })
        .map_err(io_err("starting the PostgreSQL keeper thread"))?;
    let pid = pid_rx
        .recv()
        .map_err(|_| ClusterError::Io {
            context: "starting postgres".to_owned(),
            source: std::io::Error::other("keeper thread ended"),
        })?
        .map_err(io_err(format!(
            "running {}",
            bin_dir.join("postgres").display()
        )))?;
    let pid = Pid::from_raw(i32::try_from(pid).expect("pid fits in i32"));
    Ok((pid, exit_rx))
}

#[allow(unsafe_code)]
fn set_parent_death_signal(cmd: &mut Command) {
    // SAFETY: the closure runs in the forked child before exec and only makes the
    // async-signal-safe prctl(2) system call.
    unsafe {
        cmd.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(Signal::SIGINT).map_err(std::io::Error::from)
        });
    }
}

fn log_tail(log: &Path) -> String {
    let text = fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
