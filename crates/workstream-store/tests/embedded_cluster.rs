//! The embedded cluster launcher against the real server binaries.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use sqlx::Connection;
use workstream_store::embedded::{Durability, EmbeddedCluster};

async fn select_one(url: &str) -> i32 {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query_scalar("SELECT 1")
        .fetch_one(&mut conn)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_durable_cluster_keeps_its_data_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let root = dir.path().join("pg");

    let mut first = EmbeddedCluster::start(&root, Durability::Durable).unwrap();
    let url = first.database_url("postgres");
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query("CREATE TABLE kept (v int)")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("INSERT INTO kept VALUES (7)")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    first.stop().unwrap();
    assert!(
        !root.join("data/postmaster.pid").exists(),
        "a clean shutdown"
    );

    let second = EmbeddedCluster::start(&root, Durability::Durable).unwrap();
    let mut conn = sqlx::PgConnection::connect(&second.database_url("postgres"))
        .await
        .unwrap();
    let kept: i32 = sqlx::query_scalar("SELECT v FROM kept")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(kept, 7);
    let mode = std::fs::metadata(root.join("superuser-password"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the password file is private");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_directory_the_server_user_cannot_enter_moves_the_cluster() {
    if !nix_is_root() {
        eprintln!("not root: the server runs as this user, nothing to relocate");
        return;
    }
    // mktemp -d style: 0700, owned by root, so `nobody` cannot enter it.
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let root = dir.path().join("pg");
    let mut cluster = EmbeddedCluster::start(&root, Durability::Throwaway).unwrap();
    assert!(cluster.root().starts_with("/var/lib/workstream/clusters"));
    assert_eq!(select_one(&cluster.database_url("postgres")).await, 1);
    let note = std::fs::read_to_string(root.join("cluster-location")).unwrap();
    assert!(
        note.contains(&cluster.root().display().to_string()),
        "{note}"
    );
    let relocated = cluster.root().to_owned();
    cluster.stop().unwrap();
    assert!(
        !Path::new(&relocated).exists(),
        "a throwaway cluster is removed"
    );
}

#[test]
fn a_non_empty_foreign_data_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let root = dir.path().join("pg");
    std::fs::create_dir_all(root.join("data")).unwrap();
    std::fs::write(root.join("data/unrelated.txt"), "mine").unwrap();
    let err = EmbeddedCluster::start(&root, Durability::Throwaway).unwrap_err();
    assert!(err.to_string().contains("not empty"), "{err}");
    assert_eq!(
        std::fs::read_to_string(root.join("data/unrelated.txt")).unwrap(),
        "mine"
    );
}

fn nix_is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cluster_starts_once_the_server_of_a_killed_owner_has_exited() {
    // `workstream up` SIGKILLed: its server got the parent-death signal (SIGINT) and is
    // still shutting down when `up` is started again on the same directory.
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let root = dir.path().join("pg");
    let first = EmbeddedCluster::start(&root, Durability::Durable).unwrap();
    let mut conn = sqlx::PgConnection::connect(&first.database_url("postgres"))
        .await
        .unwrap();
    sqlx::query("CREATE TABLE kept AS SELECT 7 AS v")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let pid_file = std::fs::read_to_string(root.join("data/postmaster.pid")).unwrap();
    let pid = pid_file.lines().next().unwrap().trim().to_owned();
    // The owner is gone without stopping its server (its Drop never runs).
    std::mem::forget(first);
    let signalled = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(signalled.success());

    let second = EmbeddedCluster::start(&root, Durability::Durable)
        .expect("the new owner waits for the old server to finish its shutdown");
    let mut conn = sqlx::PgConnection::connect(&second.database_url("postgres"))
        .await
        .unwrap();
    let kept: i32 = sqlx::query_scalar("SELECT v FROM kept")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(kept, 7);
}
