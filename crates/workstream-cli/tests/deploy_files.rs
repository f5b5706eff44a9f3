//! The deployment files use only settings that exist: every `WORKSTREAM_*` variable that
//! `docker-compose.yml` and the `Dockerfile` name is one the binary reads (its name is a
//! string in the source of the crates it is built from), and every `AWS_*` variable is
//! one the S3 client's `from_env` takes (its own configuration key parser says so).
//! There is no container engine on the test machines, so this is what can be checked
//! without one; a misspelt variable would otherwise be silently ignored in production.

use std::path::{Path, PathBuf};
use std::str::FromStr;

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every maximal `[A-Z0-9_]+` run of `text` that starts with `prefix`.
fn variables(text: &str, prefix: &str) -> Vec<String> {
    let mut found: Vec<String> = text
        .split(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
        .filter(|word| word.starts_with(prefix) && word.len() > prefix.len())
        .map(str::to_owned)
        .collect();
    found.sort();
    found.dedup();
    found
}

/// The text of every Rust source file under `dir`.
fn sources(dir: &Path, out: &mut String) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "target") {
                continue;
            }
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
}

#[test]
fn the_compose_file_and_dockerfile_set_only_variables_the_binary_reads() {
    let root = repository();
    let mut code = String::new();
    for krate in [
        "workstream-cli",
        "workstream-api",
        "workstream-engine",
        "workstream-store",
        "workstream-sandbox",
    ] {
        sources(&root.join("crates").join(krate).join("src"), &mut code);
    }
    for file in ["docker-compose.yml", "Dockerfile"] {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        let ours = variables(&text, "WORKSTREAM_");
        assert!(!ours.is_empty(), "{file} sets no WORKSTREAM_ variable");
        for name in &ours {
            assert!(
                code.contains(&format!("\"{name}\"")),
                "{file} names {name}, which no source of the binary reads"
            );
        }
        for name in variables(&text, "AWS_") {
            assert!(
                object_store::aws::AmazonS3ConfigKey::from_str(&name.to_ascii_lowercase()).is_ok(),
                "{file} names {name}, which the S3 client does not read"
            );
        }
    }
    // The compose file runs the services a scale-out needs.
    let compose = std::fs::read_to_string(root.join("docker-compose.yml")).unwrap();
    for service in ["postgres:", "minio:", "setup:", "api:", "worker:"] {
        assert!(
            compose.contains(&format!("\n  {service}")),
            "no {service} service"
        );
    }
    assert!(
        compose.contains("image: postgres:15."),
        "PostgreSQL pinned to a minor version"
    );
}

#[test]
fn a_misspelt_variable_would_be_caught() {
    assert_eq!(
        variables(
            "WORKSTREAM_DATABSE_URL: x\n# WORKSTREAM_BIND",
            "WORKSTREAM_"
        ),
        ["WORKSTREAM_BIND", "WORKSTREAM_DATABSE_URL"]
    );
    assert!(object_store::aws::AmazonS3ConfigKey::from_str("aws_endpont").is_err());
    assert!(object_store::aws::AmazonS3ConfigKey::from_str("aws_endpoint").is_ok());
}
