//! Shared fixtures for the end-to-end tests: a real HTTP server on a loopback port,
//! backed by a fresh database of its own.
#![deny(missing_docs)]

use workstream_api::{AppState, router};
use workstream_store::testing::TestDatabase;

/// A running API server for one test.
pub struct TestServer {
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    /// The test's database.
    pub database: TestDatabase,
    /// An HTTP client.
    pub client: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl TestServer {
    /// Starts the full router on an ephemeral loopback port.
    pub async fn start() -> TestServer {
        let database = TestDatabase::create().await.expect("test database");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let base_url = format!("http://{}", listener.local_addr().expect("local addr"));
        let app = router(AppState {
            pool: database.pool().clone(),
        });
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            axum_serve(listener, app, stopped).await;
        });
        TestServer {
            base_url,
            database,
            client: reqwest::Client::new(),
            shutdown: Some(shutdown),
        }
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
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
    }
}
