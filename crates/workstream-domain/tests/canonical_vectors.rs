//! Pinned canonical JSON strings and digests. The digests were computed outside Rust
//! (`printf '%s' '<canonical>' | sha256sum`); if one of these tests fails, every stored
//! hash would change: fix the code, never the vector.

use serde_json::{Value, json};
use workstream_domain::canonical::to_canonical_string;
use workstream_domain::digest::Digest;

#[track_caller]
fn pinned(value: Value, canonical: &str, sha256_hex: &str) {
    assert_eq!(to_canonical_string(&value).unwrap(), canonical);
    let digest = Digest::of_canonical_json(&value).unwrap();
    assert_eq!(digest.to_string(), format!("sha256:{sha256_hex}"));
    assert_eq!(Digest::of_bytes(canonical.as_bytes()), digest);
}

#[test]
fn empty_object_and_array() {
    pinned(
        json!({}),
        "{}",
        "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
    );
    pinned(
        json!([]),
        "[]",
        "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945",
    );
}

#[test]
fn scalars() {
    pinned(
        json!(null),
        "null",
        "74234e98afe7498fb5daf1f36ac2d78acc339464f950703b8c019892f982b90b",
    );
    pinned(
        json!(""),
        "\"\"",
        "12ae32cb1ec02d01eda3581b127c1fee3b0dc53572ed6baf239721a03d82e126",
    );
}

#[test]
fn nested_objects_sorted_at_every_level() {
    let v: Value =
        serde_json::from_str(r#"{ "b": {"d": [1, {"z": 0, "a": -1}], "c": null}, "a": true }"#)
            .unwrap();
    pinned(
        v,
        r#"{"a":true,"b":{"c":null,"d":[1,{"a":-1,"z":0}]}}"#,
        "a96a94d557c5ced291df98e8fe4b11f84199ce2a2bd147968e9fe1cb2273daa4",
    );
}

#[test]
fn unicode_is_raw_utf8() {
    pinned(
        json!({"name": "é", "city": "日本", "emoji": "😀"}),
        r#"{"city":"日本","emoji":"😀","name":"é"}"#,
        "e75e3296bad9e62b85dbcc1f6c9e83532d9bede397a4268544b80675f4050cac",
    );
}

#[test]
fn escapes() {
    pinned(
        json!({"s": "a\"b\\c\nd\te\u{1}"}),
        r#"{"s":"a\"b\\c\nd\te\u0001"}"#,
        "dc0f33470b2d27d430cef0c49b5db1bdf9ebb5d79cd61a29a00fae277298e160",
    );
}

#[test]
fn integers_at_the_edges() {
    pinned(
        json!({"neg": -42, "big": u64::MAX, "min": i64::MIN}),
        r#"{"big":18446744073709551615,"min":-9223372036854775808,"neg":-42}"#,
        "966a04d9483a352a2d803531a63fec00d8fd9c277267d2b9467d4b91813bff29",
    );
}

#[test]
fn key_order_is_by_bytes() {
    // Empty key first, uppercase before lowercase.
    pinned(
        json!({"a": 1, "B": 2, "": 3}),
        r#"{"":3,"B":2,"a":1}"#,
        "bc088e6f5f2938a06fd61a5e4efff89a4dffe2a28f532d94271ecf93bfc0f211",
    );
    // U+E000 sorts before U+1F600 by UTF-8 bytes (RFC 8785's UTF-16 order would
    // put the emoji first): this vector pins our choice.
    pinned(
        json!({"\u{1F600}": 2, "\u{E000}": 1}),
        "{\"\u{E000}\":1,\"\u{1F600}\":2}",
        "871954531859c7572c6279f90eb83a594ddc3a289e8bdc28d2a84ffb8c1a1703",
    );
}

#[test]
fn non_integers_are_refused() {
    for text in ["1.5", "1e3", "-0.0", "[1, 2.25]", r#"{"q": 1E-2}"#] {
        let v: Value = serde_json::from_str(text).unwrap();
        let err = to_canonical_string(&v).unwrap_err();
        assert_eq!(err.code(), "canonical_json_non_integer", "{text}");
        assert!(Digest::of_canonical_json(&v).is_err());
    }
}

#[test]
fn digest_of_empty_bytes() {
    assert_eq!(
        Digest::of_bytes(b"").to_string(),
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

#[test]
fn digest_text_form() {
    let s = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    let d: Digest = s.parse().unwrap();
    assert_eq!(d, Digest::of_bytes(b""));
    assert_eq!(serde_json::to_string(&d).unwrap(), format!("\"{s}\""));
    assert_eq!(serde_json::from_value::<Digest>(json!(s)).unwrap(), d);

    let bad = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555",
        "sha256:g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "SHA256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        " sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "",
    ];
    for b in bad {
        let err = b.parse::<Digest>().unwrap_err();
        assert_eq!(err.code(), "digest_invalid", "{b}");
    }
    assert!(serde_json::from_value::<Digest>(json!(bad[1])).is_err());
}
