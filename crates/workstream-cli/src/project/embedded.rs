//! The template of `workstream init` and the example project of `workstream demo`,
//! compiled into the binary so both work from any directory.
//!
//! Each is a list of (path, contents). A test checks that each list is exactly the
//! files on disk (`crates/workstream-cli/templates/project/`, `examples/project/`), so
//! a file added there and not here fails the build's tests instead of going missing.

use std::fs;
use std::path::Path;

use anyhow::{Context, bail};

/// `crates/workstream-cli/templates/project/`: `{{name}}` and `{{slug}}` are filled in
/// by `init`.
pub const TEMPLATE: &[(&str, &str)] = &[
    (
        "README.md",
        include_str!("../../templates/project/README.md"),
    ),
    (
        "checkers/README.md",
        include_str!("../../templates/project/checkers/README.md"),
    ),
    ("guide.md", include_str!("../../templates/project/guide.md")),
    (
        "packet/evidence/tests.log",
        include_str!("../../templates/project/packet/evidence/tests.log"),
    ),
    (
        "packet/outputs/final-answer.md",
        include_str!("../../templates/project/packet/outputs/final-answer.md"),
    ),
    (
        "policies/artifact-policy.json",
        include_str!("../../templates/project/policies/artifact-policy.json"),
    ),
    (
        "policies/checker-policy.json",
        include_str!("../../templates/project/policies/checker-policy.json"),
    ),
    (
        "policies/contribution-policy.json",
        include_str!("../../templates/project/policies/contribution-policy.json"),
    ),
    (
        "policies/review-policy.json",
        include_str!("../../templates/project/policies/review-policy.json"),
    ),
    (
        "policies/revision-policy.json",
        include_str!("../../templates/project/policies/revision-policy.json"),
    ),
    (
        "project.json",
        include_str!("../../templates/project/project.json"),
    ),
    (
        "review/prior-feedback-checklist.md",
        include_str!("../../templates/project/review/prior-feedback-checklist.md"),
    ),
    (
        "review/review-packet.md",
        include_str!("../../templates/project/review/review-packet.md"),
    ),
    (
        "tasks/task.json",
        include_str!("../../templates/project/tasks/task.json"),
    ),
    (
        "templates/preflight-evidence.md",
        include_str!("../../templates/project/templates/preflight-evidence.md"),
    ),
    (
        "templates/task-status.md",
        include_str!("../../templates/project/templates/task-status.md"),
    ),
    (
        "tasks/tasks.csv",
        include_str!("../../templates/project/tasks/tasks.csv"),
    ),
];

/// `examples/project/`: the example project of the demo.
pub const EXAMPLE: &[(&str, &str)] = &[
    (
        "README.md",
        include_str!("../../../../examples/project/README.md"),
    ),
    (
        "checkers/README.md",
        include_str!("../../../../examples/project/checkers/README.md"),
    ),
    (
        "guide.md",
        include_str!("../../../../examples/project/guide.md"),
    ),
    (
        "packet/evidence/tests.log",
        include_str!("../../../../examples/project/packet/evidence/tests.log"),
    ),
    (
        "packet/outputs/final-answer.md",
        include_str!("../../../../examples/project/packet/outputs/final-answer.md"),
    ),
    (
        "policies/artifact-policy.json",
        include_str!("../../../../examples/project/policies/artifact-policy.json"),
    ),
    (
        "policies/checker-policy.json",
        include_str!("../../../../examples/project/policies/checker-policy.json"),
    ),
    (
        "policies/contribution-policy.json",
        include_str!("../../../../examples/project/policies/contribution-policy.json"),
    ),
    (
        "policies/review-policy.json",
        include_str!("../../../../examples/project/policies/review-policy.json"),
    ),
    (
        "policies/revision-policy.json",
        include_str!("../../../../examples/project/policies/revision-policy.json"),
    ),
    (
        "project.json",
        include_str!("../../../../examples/project/project.json"),
    ),
    (
        "review/prior-feedback-checklist.md",
        include_str!("../../../../examples/project/review/prior-feedback-checklist.md"),
    ),
    (
        "review/review-packet.md",
        include_str!("../../../../examples/project/review/review-packet.md"),
    ),
    (
        "tasks/task.json",
        include_str!("../../../../examples/project/tasks/task.json"),
    ),
    (
        "tasks/tasks.csv",
        include_str!("../../../../examples/project/tasks/tasks.csv"),
    ),
];

/// Writes `files` under `dir` (created; it must be empty or absent), replacing each
/// `(placeholder, value)` in every file.
pub fn write(dir: &Path, files: &[(&str, &str)], fill: &[(&str, &str)]) -> anyhow::Result<()> {
    if dir.exists() {
        let mut entries =
            fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
        if entries.next().is_some() {
            bail!("{} exists and is not empty", dir.display());
        }
    }
    for (path, text) in files {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        let mut text = (*text).to_owned();
        for (placeholder, value) in fill {
            text = text.replace(placeholder, value);
        }
        fs::write(&target, text).with_context(|| format!("writing {}", target.display()))?;
    }
    Ok(())
}

/// A slug from a directory name: lowercase letters, digits and single dashes.
pub fn slug_of(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-').to_owned();
    if slug.is_empty() {
        "project".to_owned()
    } else {
        slug
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on_disk(base: &Path) -> Vec<String> {
        fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
            for entry in fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(base, &path, out);
                } else {
                    out.push(
                        path.strip_prefix(base)
                            .unwrap()
                            .to_string_lossy()
                            .into_owned(),
                    );
                }
            }
        }
        let mut out = Vec::new();
        walk(base, base, &mut out);
        out.sort();
        out
    }

    fn listed(files: &[(&str, &str)]) -> Vec<String> {
        let mut names: Vec<String> = files.iter().map(|(p, _)| (*p).to_owned()).collect();
        names.sort();
        names
    }

    #[test]
    fn the_embedded_lists_are_exactly_the_files_on_disk() {
        let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        assert_eq!(
            listed(TEMPLATE),
            on_disk(&crate_dir.join("templates/project"))
        );
        assert_eq!(
            listed(EXAMPLE),
            on_disk(&crate_dir.join("../../examples/project"))
        );
    }

    #[test]
    fn slugs_come_from_names() {
        assert_eq!(slug_of("My Project_2"), "my-project-2");
        assert_eq!(slug_of("--"), "project");
        assert_eq!(slug_of("docs"), "docs");
    }
}
