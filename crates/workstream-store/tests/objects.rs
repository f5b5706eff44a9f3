//! The packet object store on a local directory: streaming round trips, write-once,
//! verification of what is stored and of what is offered, and missing objects.

use std::path::Path;

use tempfile::TempDir;
use workstream_domain::Digest;
use workstream_store::objects::{ObjectError, ObjectStore, content_key};

/// Deterministic bytes, larger than one upload part when `len` is.
fn bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 13) as u8)
        .collect()
}

fn write(dir: &Path, name: &str, data: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, data).unwrap();
    path
}

/// Every file under `dir`, relative.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else {
                let rel = entry.path().strip_prefix(dir).unwrap().to_owned();
                out.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn a_multi_part_file_round_trips_under_its_content_key() {
    let root = TempDir::new().unwrap();
    let store = ObjectStore::local(root.path().join("objects")).unwrap();
    // 20 MiB: three upload parts.
    let data = bytes(20 << 20, 1);
    let digest = Digest::of_bytes(&data);
    let source = write(root.path(), "packet.zip", &data);

    let key = store.put_file(&digest, &source).await.unwrap();
    let hex = digest.to_hex();
    assert_eq!(key, format!("sha256/{}/{}/{hex}", &hex[..2], &hex[2..4]));
    assert_eq!(key, content_key(&digest));
    // Only the object itself is left: no staging leftovers.
    assert_eq!(
        files_under(&root.path().join("objects")),
        std::slice::from_ref(&key)
    );

    let dest = root.path().join("back.zip");
    assert_eq!(
        store.get_to_file(&key, &dest).await.unwrap(),
        data.len() as u64
    );
    assert_eq!(std::fs::read(&dest).unwrap(), data);

    // The destination is created, never overwritten.
    assert!(matches!(
        store.get_to_file(&key, &dest).await,
        Err(ObjectError::Io(_))
    ));
}

#[tokio::test]
async fn a_replay_of_the_same_bytes_is_a_no_op() {
    let root = TempDir::new().unwrap();
    let store = ObjectStore::local(root.path().join("objects")).unwrap();
    let data = bytes(1000, 2);
    let digest = Digest::of_bytes(&data);
    let source = write(root.path(), "a", &data);
    let first = store.put_file(&digest, &source).await.unwrap();
    let stored = root.path().join("objects").join(&first);
    let modified = std::fs::metadata(&stored).unwrap().modified().unwrap();
    let second = store.put_file(&digest, &source).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(
        std::fs::metadata(&stored).unwrap().modified().unwrap(),
        modified
    );
}

#[tokio::test]
async fn objects_are_write_once() {
    let root = TempDir::new().unwrap();
    let store = ObjectStore::local(root.path().join("objects")).unwrap();
    let original = bytes(5000, 3);
    let digest = Digest::of_bytes(&original);
    let key = store
        .put_file(&digest, &write(root.path(), "original", &original))
        .await
        .unwrap();

    // Other bytes under the existing key: refused, the object is unchanged.
    let other = bytes(5000, 4);
    let err = store
        .put_file(&digest, &write(root.path(), "other", &other))
        .await
        .unwrap_err();
    assert!(matches!(err, ObjectError::InputMismatch { .. }), "{err:?}");
    assert_eq!(err.code(), "artifact_input_mismatch");
    let stored = root.path().join("objects").join(&key);
    assert_eq!(std::fs::read(&stored).unwrap(), original);

    // Bytes offered under a digest they do not have never reach a key.
    let wrong = Digest::of_bytes(b"something else");
    let err = store
        .put_file(&wrong, &write(root.path(), "mislabelled", &other))
        .await
        .unwrap_err();
    assert!(matches!(err, ObjectError::InputMismatch { .. }));
    assert_eq!(files_under(&root.path().join("objects")), [key]);
}

#[tokio::test]
async fn a_damaged_object_is_an_integrity_failure_and_is_not_repaired() {
    let root = TempDir::new().unwrap();
    let store = ObjectStore::local(root.path().join("objects")).unwrap();
    let data = bytes(3000, 5);
    let digest = Digest::of_bytes(&data);
    let source = write(root.path(), "a", &data);
    let key = store.put_file(&digest, &source).await.unwrap();
    let stored = root.path().join("objects").join(&key);
    std::fs::write(&stored, b"bit rot").unwrap();

    // Reading it back: refused, and the partial copy removed.
    let dest = root.path().join("out");
    let err = store.get_to_file(&key, &dest).await.unwrap_err();
    assert!(
        matches!(err, ObjectError::IntegrityFailure { .. }),
        "{err:?}"
    );
    assert_eq!(err.code(), "artifact_integrity_failure");
    assert!(!dest.exists());

    // Storing the right bytes again does not overwrite the damaged object: a bound
    // object that went bad is an incident, not something a put quietly fixes.
    let err = store.put_file(&digest, &source).await.unwrap_err();
    assert!(matches!(err, ObjectError::IntegrityFailure { .. }));
    assert_eq!(std::fs::read(&stored).unwrap(), b"bit rot");
}

#[tokio::test]
async fn a_missing_object_is_missing() {
    let root = TempDir::new().unwrap();
    let store = ObjectStore::local(root.path().join("objects")).unwrap();
    let key = content_key(&Digest::of_bytes(b"never stored"));
    let dest = root.path().join("out");
    let err = store.get_to_file(&key, &dest).await.unwrap_err();
    assert!(
        matches!(&err, ObjectError::Missing { key: k } if *k == key),
        "{err:?}"
    );
    assert_eq!(err.code(), "artifact_object_missing");
    assert!(!dest.exists());

    let err = store
        .get_to_file("../../etc/passwd", &dest)
        .await
        .unwrap_err();
    assert!(matches!(err, ObjectError::InvalidKey { .. }));
}

#[tokio::test]
async fn urls_name_local_directories() {
    let root = TempDir::new().unwrap();
    let data = bytes(100, 6);
    let digest = Digest::of_bytes(&data);
    let source = write(root.path(), "a", &data);

    let by_path = root.path().join("by-path");
    let store = ObjectStore::from_url(by_path.to_str().unwrap()).unwrap();
    let key = store.put_file(&digest, &source).await.unwrap();
    assert!(by_path.join(&key).exists());

    let by_url = root.path().join("by-url");
    let url = format!("file://{}", by_url.display());
    let store = ObjectStore::from_url(&url).unwrap();
    store.put_file(&digest, &source).await.unwrap();
    assert!(by_url.join(&key).exists());

    assert!(matches!(
        ObjectStore::from_url("gs://bucket/x"),
        Err(ObjectError::Configuration(_))
    ));
}
