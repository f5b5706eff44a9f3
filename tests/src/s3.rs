//! A real S3-compatible server for the tests: `s3s-fs` (crates.io, the s3s project's
//! file-system-backed S3 server, real SigV4), started per test binary on a free
//! loopback port with a fresh data directory.
//!
//! Version 0.14.1 is pinned: it is the first with the conditional `CompleteMultipartUpload`
//! (`If-None-Match: *`) the object store's no-overwrite copy sends, and the last that
//! builds with this workspace's Rust. [`TestS3::settings`] are the object store's S3
//! settings for it (path-style addressing, plain HTTP, its keys); [`TestS3::env`] the same
//! as `AWS_*` variables for `workstream` processes.
//!
//! `WORKSTREAM_TEST_OBJECT_STORE=s3` makes every test server with a pipeline keep its
//! packets in this server (a prefix of its own each), and the crash test's fleet of
//! processes too: `.ci/run` runs the packet, review and crash suites once more that way.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::toolchains::{self, Unavailable};

/// The variable that selects the object store of the test servers: `s3`, or unset.
pub const OBJECT_STORE_VARIABLE: &str = "WORKSTREAM_TEST_OBJECT_STORE";
/// The bucket every test uses (one prefix per server).
pub const BUCKET: &str = "workstream-test";
const ACCESS_KEY: &str = "workstream-test";
const SECRET_KEY: &str = "workstream-test-secret";

/// Whether the tests were asked to keep packets in S3.
pub fn requested() -> bool {
    std::env::var(OBJECT_STORE_VARIABLE).as_deref() == Ok("s3")
}

/// A running `s3s-fs`, stopped when the process exits (it lives in a static).
pub struct TestS3 {
    endpoint: String,
    /// The data root (buckets are its directories).
    _data: tempfile::TempDir,
    child: std::sync::Mutex<Child>,
}

impl Drop for TestS3 {
    fn drop(&mut self) {
        if let Ok(mut child) = self.child.lock() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

static SERVER: OnceLock<Result<TestS3, Unavailable>> = OnceLock::new();

impl TestS3 {
    /// The process's server, started (and `s3s-fs` installed) on first use.
    pub fn shared() -> Result<&'static TestS3, Unavailable> {
        SERVER
            .get_or_init(TestS3::start)
            .as_ref()
            .map_err(Clone::clone)
    }

    fn start() -> Result<TestS3, Unavailable> {
        let binary: PathBuf = toolchains::cargo_tool("s3s-fs", "s3s-fs", "0.14.1", &["binary"])?;
        let data = tempfile::tempdir().map_err(|e| Unavailable(format!("a data dir: {e}")))?;
        // A bucket is a directory under the root.
        std::fs::create_dir(data.path().join(BUCKET))
            .map_err(|e| Unavailable(format!("the bucket directory: {e}")))?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| Unavailable(format!("a free port: {e}")))?
            .port();
        let child = Command::new(&binary)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(data.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Unavailable(format!("{} did not start: {e}", binary.display())))?;
        let server = TestS3 {
            endpoint: format!("http://127.0.0.1:{port}"),
            _data: data,
            child: std::sync::Mutex::new(child),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err(Unavailable(format!(
                    "s3s-fs did not listen on port {port} within 20 s"
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(server)
    }

    /// A fresh store URL: the bucket and a prefix of its own.
    pub fn url(&self) -> String {
        format!("s3://{BUCKET}/{}", uuid::Uuid::now_v7().simple())
    }

    /// The directory where `s3s-fs` keeps the objects of the store at `url` (a bucket is
    /// a directory of its data root, a key a path under it): tests that damage stored
    /// bytes do it there, as a failing disk would.
    pub fn files_of(&self, url: &str) -> PathBuf {
        let path = url.strip_prefix("s3://").unwrap_or(url);
        self._data.path().join(path)
    }

    /// The object store's S3 settings for this server.
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        vec![
            ("aws_endpoint", self.endpoint.clone()),
            ("aws_allow_http", "true".into()),
            ("aws_access_key_id", ACCESS_KEY.into()),
            ("aws_secret_access_key", SECRET_KEY.into()),
            ("aws_region", "us-east-1".into()),
            ("aws_virtual_hosted_style_request", "false".into()),
        ]
    }

    /// The same settings as the `AWS_*` variables of a `workstream` process.
    pub fn env(&self) -> Vec<(String, String)> {
        self.settings()
            .into_iter()
            .map(|(key, value)| (key.to_ascii_uppercase(), value))
            .collect()
    }
}
