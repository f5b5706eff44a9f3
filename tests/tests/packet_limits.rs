//! A packet at the example guide's limits reaches review: `examples/project`'s policies
//! allow files of up to 10 MiB, and the platform defaults packets of up to 100 MiB. A
//! packet of exactly 100 MiB in 10 MiB files (incompressible, as real evidence often
//! is) passes intake and every pre-submit and post-submit checker, whose CPU budget and
//! deadline grow with the packet, and is admitted to review. (Before the budget grew
//! with the packet, `evidence-integrity` ran out of fuel at about 44 MB and every such
//! upload was answered 503 "upload again later".)

mod projects_support;
mod review_support;

use std::io::Write;
use std::time::Duration;

use projects_support::*;
use review_support::*;
use serde_json::{Value, json};
use uuid::Uuid;

const MIB: usize = 1 << 20;

/// The example project's policy files as a bundle part.
fn example_policy(file: &str) -> Value {
    let path = format!(
        "{}/../examples/project/policies/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).expect("an example policy")).unwrap()
}

/// `len` bytes that do not compress (xorshift), different for each `seed`.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// The packet: the answer, the test log, and data files of at most 10 MiB each that
/// bring the total to exactly 100 MiB.
fn packet_at_the_limits() -> (Vec<u8>, usize) {
    let answer =
        b"# Answer\n\nThe measurements are in evidence/, one file per run, with the method.\n";
    let log = b"runs ... ok\n";
    let mut files: Vec<(String, Vec<u8>)> = vec![
        ("outputs/final-answer.md".into(), answer.to_vec()),
        ("evidence/tests.log".into(), log.to_vec()),
    ];
    let mut remaining = 100 * MIB - answer.len() - log.len();
    let mut index = 0;
    while remaining > 0 {
        let len = remaining.min(10 * MIB);
        files.push((
            format!("evidence/run-{index:02}.bin"),
            noise(len, index as u64),
        ));
        remaining -= len;
        index += 1;
    }
    let total = files.iter().map(|(_, b)| b.len()).sum();
    let mut out = std::io::Cursor::new(Vec::with_capacity(101 * MIB));
    {
        let mut writer = zip::ZipWriter::new(&mut out);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .large_file(false);
        for (path, bytes) in &files {
            writer.start_file(path.as_str(), options).unwrap();
            writer.write_all(bytes).unwrap();
        }
        writer.finish().unwrap();
    }
    (out.into_inner(), total)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_packet_at_the_example_guides_limits_reaches_review() {
    let s = setup_with("packet-limits", Terms::Unpaid, |bundle| {
        bundle["artifact_policy"] = example_policy("artifact-policy.json");
        bundle["checker_policy"] = example_policy("checker-policy.json");
    })
    .await;
    let (zip, expanded) = packet_at_the_limits();
    assert_eq!(expanded, 100 * MIB);

    let form = reqwest::multipart::Form::new()
        .text("summary", "Ten measurement runs, each with its raw data.")
        .text(
            "attestation",
            "The packet holds no client data, nothing confidential or private, no credentials \
             or secret tokens, and no copied source material.",
        )
        .part(
            "packet",
            reqwest::multipart::Part::bytes(zip).file_name("packet.zip"),
        );
    let response = s
        .server
        .client
        .post(s.server.url(&format!("/api/v1/tasks/{}/packets", s.task)))
        .header("authorization", s.submitter.auth())
        .header("idempotency-key", Uuid::now_v7().to_string())
        .timeout(Duration::from_secs(600))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let uploaded: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "{uploaded}");
    assert_eq!(
        uploaded["pre_submit"]["route"], "allow_review",
        "{uploaded}"
    );

    let submitted = post(
        &s.server,
        &format!("/tasks/{}/submissions", s.task),
        &s.submitter,
        json!({"admission_id": uploaded["admission_id"]}),
    )
    .await;
    assert_eq!(submitted.status, 201, "{}", submitted.body);
    assert_eq!(s.evaluated().await, "review_pending");

    // Every post-submit checker completed, within a budget sized for the packet.
    let results: Vec<(String, String, Option<String>, Option<i64>)> = sqlx::query_as(
        "SELECT r.checker_name, r.status, r.failure_code, r.fuel_consumed FROM checker_results r \
         JOIN checker_runs c ON c.id = r.checker_run_id WHERE c.task_id = $1 ORDER BY r.ordinal",
    )
    .bind(s.task)
    .fetch_all(s.server.database.pool())
    .await
    .unwrap();
    assert!(!results.is_empty());
    for (name, status, failure, _) in &results {
        assert_eq!(
            (status.as_str(), failure.as_deref()),
            ("passed", None),
            "{name}: {results:?}"
        );
    }
}
