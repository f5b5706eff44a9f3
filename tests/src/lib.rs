//! Shared fixtures for the end-to-end tests: a real HTTP server on a loopback port,
//! backed by a fresh database of its own, verifying local HS256 tokens.
//!
//! Actors are made the way real ones are: a token is minted for a subject and the first
//! request provisions the profile ([`TestServer::actor`]). Grants are written through
//! the same engine commands the API and the bootstrap use, with their audit events:
//! administrative grants by the system principal `workstream:system:test_fixture`,
//! project role grants by a fixture project manager (subject `fixture-project-manager`,
//! holding a system project manager grant) that is created on first use.
//!
//! Tools from outside Cargo that some tests drive (Node, Chromium, componentize-py/-js)
//! are installed on first use, or the test is skipped loudly: [`toolchains`].
#![deny(missing_docs)]

mod conformance;
pub mod s3;
pub mod toolchains;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::OnceCell;
use uuid::Uuid;
use workstream_api::AppState;
use workstream_api::auth::mint::{LOCAL_DEFAULT_AUDIENCE, LOCAL_DEFAULT_ISSUER};
use workstream_api::auth::{LocalToken, SubjectKind, Verifier, mint_local_token};
use workstream_api::config::{ApiConfig, Environment};
use workstream_domain::roles::{AdminRole, ProjectRole, Scope};
use workstream_engine::authority::admin_grants::{AdminGrantRequest, Grantor, grant_admin};
use workstream_engine::authority::project_grants::{ProjectGrantRequest, grant_project_role};
use workstream_engine::authority::{RequestContext, services};
use workstream_engine::checkers::register_builtins;
use workstream_engine::evaluation::Checkers;
use workstream_engine::pipeline::Pipeline;
use workstream_engine::registry::handlers;
use workstream_engine::worker::{Worker, WorkerConfig};
use workstream_sandbox::{Sandbox, SandboxConfig};
use workstream_store::audit::{LedgerReport, SigningKey, seal_pending};
use workstream_store::objects::ObjectStore;
use workstream_store::testing::TestDatabase;
use workstream_ui::router;

/// The local HMAC secret every test server verifies with.
pub const TEST_SECRET: &[u8] = b"workstream-e2e-local-hmac-secret-0123456789";

/// The system principal fixture grants are attributed to.
pub const FIXTURE_PRINCIPAL: &str = "workstream:system:test_fixture";

/// The seed of the audit signing key of every test server (64 hex digits).
pub const TEST_AUDIT_KEY: &str = "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e";

/// A running API server for one test.
pub struct TestServer {
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    /// The test's database.
    pub database: TestDatabase,
    /// An HTTP client.
    pub client: reqwest::Client,
    /// The local HMAC secret the server accepts.
    pub secret: Vec<u8>,
    fixture_manager: OnceCell<(Uuid, Uuid)>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    worker_stop: Option<tokio::sync::oneshot::Sender<()>>,
    pipeline_dir: Option<tempfile::TempDir>,
    /// Where the pipeline's objects are stored as files: `<pipeline dir>/objects`, or
    /// the bucket prefix's directory on the test S3 server.
    objects_root: Option<PathBuf>,
    pipeline: Option<Arc<Pipeline>>,
    /// The key the test seals the audit ledger with ([`TestServer::seal_audit`]); the
    /// server checks checkpoints against its public half.
    pub audit_key: SigningKey,
    /// Where checkpoints are published (the pipeline's object store when there is one).
    audit_objects: ObjectStore,
    _audit_dir: tempfile::TempDir,
    /// Error answers that carried database text (checked when the server drops).
    leaks: Leaks,
    /// Answers that differed from the API document (checked when the server drops).
    departures: conformance::Departures,
}

/// A provisioned actor and a valid token for them.
#[derive(Debug, Clone)]
pub struct TestActor {
    /// The actor's profile id.
    pub id: Uuid,
    /// A one-hour bearer token.
    pub token: String,
    /// The token subject.
    pub subject: String,
}

impl TestActor {
    /// The `Authorization` header value.
    pub fn auth(&self) -> String {
        format!("Bearer {}", self.token)
    }
}

impl TestServer {
    /// Starts the full router on an ephemeral loopback port, in the `test` environment,
    /// verifying local HS256 tokens signed with [`TEST_SECRET`].
    pub async fn start() -> TestServer {
        let verifier = Verifier::local_hmac(
            Environment::Test,
            TEST_SECRET,
            LOCAL_DEFAULT_ISSUER,
            LOCAL_DEFAULT_AUDIENCE,
        )
        .expect("local verifier");
        TestServer::start_with(verifier).await
    }

    /// Starts the server with another verifier (production-mode tests).
    pub async fn start_with(verifier: Verifier) -> TestServer {
        TestServer::start_configured(verifier, ApiConfig::for_tests()).await
    }

    /// Starts the server with a local verifier and `config` (rate limits and the like).
    pub async fn start_with_config(config: ApiConfig) -> TestServer {
        let verifier = Verifier::local_hmac(
            Environment::Test,
            TEST_SECRET,
            LOCAL_DEFAULT_ISSUER,
            LOCAL_DEFAULT_AUDIENCE,
        )
        .expect("local verifier");
        TestServer::start_configured(verifier, config).await
    }

    /// Starts the server taking packets: a real pipeline (sandbox, a local object store
    /// and scratch in a temporary directory), the built-in checkers registered as `up`
    /// registers them, and an in-process job worker running the engine's handlers.
    pub async fn start_with_pipeline() -> TestServer {
        let dir = tempfile::tempdir().expect("pipeline dir");
        let mut server = TestServer::start_with_pipeline_at(dir.path(), true).await;
        server.pipeline_dir = Some(dir);
        server
    }

    /// [`TestServer::start_with_pipeline`] with the pipeline under `dir`, which the
    /// caller keeps: the object store in `dir/objects` (what worker processes of the
    /// same deployment get as `WORKSTREAM_OBJECT_STORE_URL`), the checker cache in
    /// `dir/checker-cache` and scratch in `dir/scratch`. Without `run_worker` no job is
    /// worked in process: submissions wait for `workstream worker` processes run against
    /// [`TestDatabase::url`] of [`TestServer::database`].
    pub async fn start_with_pipeline_at(dir: &Path, run_worker: bool) -> TestServer {
        let verifier = Verifier::local_hmac(
            Environment::Test,
            TEST_SECRET,
            LOCAL_DEFAULT_ISSUER,
            LOCAL_DEFAULT_AUDIENCE,
        )
        .expect("local verifier");
        let sandbox = Sandbox::new(SandboxConfig::new(dir.join("checker-cache"))).expect("sandbox");
        let (objects, objects_root) = test_object_store(dir);
        let pipeline = Arc::new(Pipeline {
            checkers: Checkers::new(Arc::new(sandbox)),
            objects,
            scratch: dir.join("scratch"),
        });
        // Sized as `workstream up` sizes its pool: HTTP's share and the worker's.
        let connections = workstream_api::HTTP_CONNECTIONS
            + workstream_engine::worker::connections_for(
                workstream_engine::worker::default_concurrency(),
            );
        let mut server = TestServer::start_inner(
            verifier,
            ApiConfig::for_tests(),
            Some(pipeline.clone()),
            connections,
        )
        .await;
        register_builtins(server.database.pool(), pipeline.checkers.sandbox())
            .await
            .expect("register the built-in checkers");
        if run_worker {
            let worker = Worker::new(
                server.database.pool().clone(),
                WorkerConfig {
                    poll_interval: Duration::from_millis(200),
                    ..WorkerConfig::new("e2e-worker")
                },
                handlers(pipeline.clone()),
            )
            .expect("worker");
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            tokio::spawn(worker.run(async {
                let _ = stopped.await;
            }));
            server.worker_stop = Some(stop);
        }
        server.pipeline = Some(pipeline);
        server.objects_root = Some(objects_root);
        server
    }

    async fn start_configured(verifier: Verifier, config: ApiConfig) -> TestServer {
        TestServer::start_inner(verifier, config, None, 8).await
    }

    async fn start_inner(
        verifier: Verifier,
        config: ApiConfig,
        pipeline: Option<Arc<Pipeline>>,
        connections: u32,
    ) -> TestServer {
        let database = TestDatabase::create_with_connections(connections)
            .await
            .expect("test database");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let base_url = format!("http://{}", listener.local_addr().expect("local addr"));
        let audit_key = SigningKey::parse(TEST_AUDIT_KEY).expect("the test audit key");
        let audit_dir = tempfile::tempdir().expect("audit dir");
        let audit_objects = match &pipeline {
            Some(pipeline) => pipeline.objects.clone(),
            None => ObjectStore::local(audit_dir.path()).expect("audit object store"),
        };
        let mut state = AppState::new(database.pool().clone(), config, verifier)
            .with_audit_key(audit_key.public());
        if let Some(pipeline) = pipeline {
            state = state.with_pipeline(pipeline);
        }
        let leaks = Leaks::default();
        let departures = conformance::Departures::default();
        let app = router(state).layer(axum::middleware::from_fn_with_state(
            (leaks.clone(), departures.clone()),
            scan_errors,
        ));
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            axum_serve(listener, app, stopped).await;
        });
        TestServer {
            base_url,
            database,
            client: reqwest::Client::new(),
            secret: TEST_SECRET.to_vec(),
            fixture_manager: OnceCell::new(),
            shutdown: Some(shutdown),
            worker_stop: None,
            pipeline_dir: None,
            objects_root: None,
            pipeline: None,
            audit_key,
            audit_objects,
            _audit_dir: audit_dir,
            leaks,
            departures,
        }
    }

    /// Seals every audit event waiting, as a running server's sealer does every half
    /// second (test servers run none, so that what is sealed is up to the test).
    pub async fn seal_audit(&self) -> u64 {
        seal_pending(self.database.pool(), &self.audit_objects, &self.audit_key)
            .await
            .expect("sealing the audit ledger")
    }

    /// `workstream audit verify` of this server's ledger.
    pub async fn verify_audit(&self) -> LedgerReport {
        workstream_store::audit::verify(
            self.database.pool(),
            &self.audit_objects,
            &self.audit_key.public(),
        )
        .await
        .expect("verifying the audit ledger")
    }

    /// The directory holding the pipeline's object store (`objects/`), checker cache and
    /// scratch, for tests that tamper with stored bytes.
    pub fn pipeline_root(&self) -> &std::path::Path {
        self.pipeline_dir
            .as_ref()
            .expect("started with a pipeline")
            .path()
    }

    /// The directory where the pipeline's objects lie as files, key by key (a content
    /// key `sha256/ab/cd/<hex>` is a path under it), whether the store is local or the
    /// test S3 server (whose files these are): for tests that count or damage them.
    pub fn objects_root(&self) -> &std::path::Path {
        self.objects_root
            .as_deref()
            .expect("started with a pipeline")
    }

    /// The packet pipeline of a server started with [`TestServer::start_with_pipeline`].
    pub fn pipeline(&self) -> &Pipeline {
        self.pipeline.as_deref().expect("started with a pipeline")
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Signs `token` with the server's secret.
    pub fn mint(&self, token: &LocalToken) -> String {
        mint_local_token(&self.secret, token)
    }

    /// A one-hour human token for `subject`.
    pub fn token(&self, subject: &str) -> String {
        self.mint(&LocalToken::human(subject))
    }

    /// A one-hour service token for `subject` (`scope: workstream:service`). It is
    /// refused until the subject is provisioned ([`TestServer::service_actor`]).
    pub fn service_token(&self, subject: &str) -> String {
        self.mint(&LocalToken::human(subject).kind(SubjectKind::Service))
    }

    /// Provisions `subject` (first access through `GET /api/v1/actors/me`) and returns
    /// the actor with a token.
    pub async fn actor(&self, subject: &str) -> TestActor {
        let token = self.token(subject);
        let id = self.me(&token).await;
        TestActor {
            id,
            token,
            subject: subject.to_owned(),
        }
    }

    /// Provisions the service principal `service_identity` for `subject` and returns it
    /// with a service token.
    pub async fn service_actor(&self, subject: &str, service_identity: &str) -> TestActor {
        let (manager, _) = self.fixture_manager().await;
        let mut tx = self.database.pool().begin().await.expect("begin");
        services::create_service_actor(
            &mut tx,
            manager,
            service_identity,
            LOCAL_DEFAULT_ISSUER,
            subject,
            "test fixture",
            &RequestContext::default(),
        )
        .await
        .expect("provision service actor");
        tx.commit().await.expect("commit");
        let token = self.service_token(subject);
        let id = self.me(&token).await;
        TestActor {
            id,
            token,
            subject: subject.to_owned(),
        }
    }

    async fn me(&self, token: &str) -> Uuid {
        let response = self
            .client
            .get(self.url("/api/v1/actors/me"))
            .bearer_auth(token)
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .expect("GET /api/v1/actors/me");
        let status = response.status();
        let body: serde_json::Value = response.json().await.expect("JSON body");
        assert_eq!(status, 200, "GET /actors/me: {body}");
        body["actor_profile_id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .expect("actor_profile_id")
    }

    /// `POST path` as `actor` with `body` and a fresh `Idempotency-Key`: (status, JSON).
    pub async fn post(
        &self,
        actor: &TestActor,
        path: &str,
        body: &serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let (status, body, _) = self.post_with_key(actor, path, body, Uuid::now_v7()).await;
        (status, body)
    }

    /// `POST path` with an explicit `Idempotency-Key`: (status, JSON, replayed).
    pub async fn post_with_key(
        &self,
        actor: &TestActor,
        path: &str,
        body: &serde_json::Value,
        key: Uuid,
    ) -> (u16, serde_json::Value, bool) {
        let response = self
            .client
            .post(self.url(path))
            .header("Authorization", actor.auth())
            .header("Idempotency-Key", key.to_string())
            .json(body)
            .send()
            .await
            .expect("POST");
        let status = response.status().as_u16();
        let replayed = response.headers().contains_key("idempotency-replayed");
        let body = response.json().await.unwrap_or(serde_json::Value::Null);
        (status, body, replayed)
    }

    /// `GET path` as `actor`: (status, JSON).
    pub async fn get(&self, actor: &TestActor, path: &str) -> (u16, serde_json::Value) {
        let response = self
            .client
            .get(self.url(path))
            .header("Authorization", actor.auth())
            .send()
            .await
            .expect("GET");
        let status = response.status().as_u16();
        (
            status,
            response.json().await.unwrap_or(serde_json::Value::Null),
        )
    }

    /// Grants `role` to `actor`, system-wide (`project: None`) or on one project,
    /// attributed to the fixture system principal. Returns the grant id.
    pub async fn grant_admin(
        &self,
        actor: &TestActor,
        role: AdminRole,
        project: Option<Uuid>,
    ) -> Uuid {
        self.grant_admin_to(actor.id, role, project).await
    }

    async fn grant_admin_to(&self, actor: Uuid, role: AdminRole, project: Option<Uuid>) -> Uuid {
        let mut tx = self.database.pool().begin().await.expect("begin");
        let grant = grant_admin(
            &mut tx,
            &Grantor::System {
                principal: FIXTURE_PRINCIPAL.into(),
            },
            &AdminGrantRequest {
                target: actor,
                role,
                scope: project.map_or(Scope::System, Scope::Project),
                reason: "test fixture".into(),
            },
            &RequestContext::default(),
        )
        .await
        .expect("fixture admin grant");
        tx.commit().await.expect("commit");
        grant.id
    }

    /// Grants the contributor `role` on `project` to `actor`, issued by the fixture
    /// project manager. Returns the grant id.
    pub async fn grant_project_role(
        &self,
        actor: &TestActor,
        project: Uuid,
        role: ProjectRole,
    ) -> Uuid {
        let (manager, manager_grant) = self.fixture_manager().await;
        let mut tx = self.database.pool().begin().await.expect("begin");
        let grant = grant_project_role(
            &mut tx,
            manager,
            manager_grant,
            &ProjectGrantRequest {
                project_id: project,
                target: actor.id,
                role,
                qualification: serde_json::json!({ "source": "test fixture" }),
                reason: "test fixture".into(),
            },
            &RequestContext::default(),
        )
        .await
        .expect("fixture project role grant");
        tx.commit().await.expect("commit");
        grant.id
    }

    /// The fixture project manager: (actor id, system project manager grant id).
    async fn fixture_manager(&self) -> (Uuid, Uuid) {
        *self
            .fixture_manager
            .get_or_init(|| async {
                let manager = self.actor("fixture-project-manager").await;
                let grant = self
                    .grant_admin_to(manager.id, AdminRole::ProjectManager, None)
                    .await;
                (manager.id, grant)
            })
            .await
    }
}

async fn axum_serve(
    listener: tokio::net::TcpListener,
    app: workstream_api::Router,
    stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let _ = workstream_api::serve(listener, app, async {
        let _ = stopped.await;
    })
    .await;
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(stop) = self.worker_stop.take() {
            let _ = stop.send(());
        }
        // Every error this server answered during the test was scanned; one that
        // carried the database's own words fails the test that provoked it.
        let leaked = std::mem::take(&mut *self.leaks.0.lock().expect("leaks lock"));
        if !leaked.is_empty() && !std::thread::panicking() {
            panic!(
                "{} error answer(s) carried database text:\n{}",
                leaked.len(),
                leaked.join("\n")
            );
        }
        // And every answer was checked against the API document.
        let departed = std::mem::take(&mut *self.departures.0.lock().expect("departures lock"));
        if !departed.is_empty() && !std::thread::panicking() {
            panic!(
                "{} answer(s) differed from the API document:\n{}",
                departed.len(),
                departed.join("\n")
            );
        }
    }
}

/// Error answers that carried database text, as `METHOD path -> status body`.
#[derive(Clone, Default)]
struct Leaks(Arc<std::sync::Mutex<Vec<String>>>);

/// Words of the database that an answer must never carry: its messages for
/// constraint violations, constraint and relation names, SQLSTATEs, and the texts of
/// the schema's own triggers (which name tables).
const DATABASE_WORDS: &[&str] = &[
    "duplicate key",
    "violates",
    "constraint \"",
    "sqlstate",
    "_pkey",
    "_fkey",
    "relation \"",
    "column \"",
    "null value in",
    "is append-only",
    "may not change",
    "syntax error",
    "pg_catalog",
    "\"constraint\":",
];

/// The first of [`DATABASE_WORDS`] in `body`, read as a person would (JSON's escaped
/// quotes unescaped, any case).
fn database_word(body: &[u8]) -> Option<&'static str> {
    let text = String::from_utf8_lossy(body)
        .replace("\\\"", "\"")
        .to_lowercase();
    DATABASE_WORDS
        .iter()
        .copied()
        .find(|word| text.contains(&word.to_lowercase()))
}

/// Reads every answer of 400 or more and records it when it carries database text
/// ([`DATABASE_WORDS`]); the answer itself goes on unchanged.
async fn scan_errors(
    axum::extract::State(scans): axum::extract::State<(Leaks, conformance::Departures)>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let (leaks, departures) = scans;
    let line = format!("{} {}", request.method(), request.uri());
    let method = request.method().clone();
    let api_path = request
        .uri()
        .path()
        .strip_prefix("/api/v1")
        .map(str::to_owned);
    let response = next.run(request).await;
    let content_type = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let json = content_type
        .as_deref()
        .is_some_and(|t| t.starts_with("application/json"));
    if response.status().as_u16() < 400 && !json {
        if let Some(path) = &api_path {
            conformance::check(
                &departures,
                &method,
                path,
                response.status(),
                content_type.as_deref(),
                &axum::body::Bytes::new(),
            );
        }
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024 * 1024).await else {
        return axum::response::Response::from_parts(parts, axum::body::Body::empty());
    };
    if let Some(path) = &api_path {
        conformance::check(
            &departures,
            &method,
            path,
            parts.status,
            content_type.as_deref(),
            &bytes,
        );
    }
    if parts.status.as_u16() >= 400
        && let Some(word) = database_word(&bytes)
    {
        leaks.0.lock().expect("leaks lock").push(format!(
            "{line} -> {} ({word:?}): {}",
            parts.status,
            String::from_utf8_lossy(&bytes)
        ));
    }
    axum::response::Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// The packet store of a test server under `dir` and where its objects lie as files:
/// `dir/objects`, or with
/// `WORKSTREAM_TEST_OBJECT_STORE=s3` a prefix of its own on the test binary's S3 server
/// ([`s3::TestS3`]); that server unavailable is the toolchain rule's skip or failure.
fn test_object_store(dir: &Path) -> (ObjectStore, PathBuf) {
    if s3::requested() {
        match s3::TestS3::shared() {
            Ok(server) => {
                let url = server.url();
                let settings = server.settings();
                let settings: Vec<(&str, &str)> =
                    settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let store = ObjectStore::from_url_with(&url, &settings)
                    .expect("an object store on the test S3 server");
                return (store, server.files_of(&url));
            }
            Err(reason) => {
                // Asked for S3 and cannot have it: never pass on the local store.
                panic!(
                    "{}=s3 but no S3 server: {reason}",
                    s3::OBJECT_STORE_VARIABLE
                );
            }
        }
    }
    let root = dir.join("objects");
    (ObjectStore::local(&root).expect("object store"), root)
}

#[cfg(test)]
mod scan_tests {
    use super::database_word;

    #[test]
    fn database_text_is_found_in_an_error_envelope_and_our_own_words_are_not() {
        let leaked = br#"{"error":{"code":"conflict","message":"duplicate key value violates unique constraint \"projects_slug_key\"","details":{}}}"#;
        assert_eq!(database_word(leaked), Some("duplicate key"));
        let named = br#"{"error":{"code":"conflict","message":"x","details":{"constraint":"projects_slug_key"}}}"#;
        assert_eq!(database_word(named), Some("\"constraint\":"));
        let ours = br#"{"error":{"code":"project_slug_conflict","message":"a project with this slug already exists","details":{"field":"idempotency_key"}}}"#;
        assert_eq!(database_word(ours), None);
    }
}
