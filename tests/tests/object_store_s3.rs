//! The object store against a real S3-compatible server (`s3s-fs`, started by the test:
//! `workstream_e2e::s3`): content-addressed packets are streamed in (multipart, 8 MiB
//! parts), copied into place only if absent (S3's conditional multipart copy), read back
//! and re-hashed; named records are written with `If-None-Match`; a key is never
//! overwritten with other bytes. Skipped loudly where `s3s-fs` cannot be installed,
//! required in `.ci/run` (`WORKSTREAM_REQUIRE_TOOLCHAINS=1`), which also runs the packet,
//! review and crash suites with `WORKSTREAM_TEST_OBJECT_STORE=s3`.

use std::io::Write;

use workstream_domain::Digest;
use workstream_e2e::s3::TestS3;
use workstream_e2e::toolchains;
use workstream_store::objects::{ObjectError, ObjectStore, content_key};

fn store(server: &TestS3) -> ObjectStore {
    let settings = server.settings();
    let settings: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    ObjectStore::from_url_with(&server.url(), &settings).expect("the S3 store")
}

#[tokio::test(flavor = "multi_thread")]
async fn packets_and_records_keep_their_bytes_on_a_real_s3_server() {
    let Some(server) = toolchains::or_skip("object_store_s3", TestS3::shared()) else {
        return;
    };
    let objects = store(server);
    let dir = tempfile::tempdir().unwrap();

    // A packet larger than one 8 MiB part, stored under its digest, twice (a replay).
    let bytes: Vec<u8> = (0..20 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let digest = Digest::of_bytes(&bytes);
    let path = dir.path().join("packet.zip");
    std::fs::File::create(&path)
        .unwrap()
        .write_all(&bytes)
        .unwrap();
    let key = objects.put_file(&digest, &path).await.expect("stored");
    assert_eq!(key, content_key(&digest));
    assert_eq!(
        objects.put_file(&digest, &path).await.expect("a replay"),
        key
    );
    let back = dir.path().join("back.zip");
    assert_eq!(
        objects.get_to_file(&key, &back).await.unwrap(),
        bytes.len() as u64
    );
    assert_eq!(std::fs::read(&back).unwrap(), bytes);
    // Bytes that do not hash to the digest they claim are never stored.
    let other = dir.path().join("other.zip");
    std::fs::write(&other, b"something else").unwrap();
    let wrong = Digest::of_bytes(b"not these bytes");
    match objects.put_file(&wrong, &other).await {
        Err(ObjectError::InputMismatch { .. }) => {}
        other => panic!("expected an input mismatch, got {other:?}"),
    }
    assert!(
        !objects
            .list("sha256/")
            .await
            .unwrap()
            .contains(&content_key(&wrong))
    );
    // No staging object is left behind.
    assert!(objects.list("staging/").await.unwrap().is_empty());

    // Named records: written once; the same bytes again is a replay, others refused.
    objects
        .put_new("checkpoints/1.json", b"{\"tree_size\":1}".to_vec())
        .await
        .unwrap();
    objects
        .put_new("checkpoints/1.json", b"{\"tree_size\":1}".to_vec())
        .await
        .unwrap();
    match objects
        .put_new("checkpoints/1.json", b"{\"tree_size\":2}".to_vec())
        .await
    {
        Err(ObjectError::IntegrityFailure { .. }) => {}
        other => panic!("an overwrite must be refused, got {other:?}"),
    }
    assert_eq!(
        objects.get_bytes("checkpoints/1.json").await.unwrap(),
        b"{\"tree_size\":1}"
    );
    assert_eq!(
        objects.list("checkpoints/").await.unwrap(),
        ["checkpoints/1.json"]
    );
    // A key that is not there is the store's `missing`, not a server error.
    match objects.get_bytes("checkpoints/2.json").await {
        Err(error @ ObjectError::Missing { .. }) => {
            assert_eq!(error.code(), "artifact_object_missing")
        }
        other => panic!("expected missing, got {other:?}"),
    }
}
