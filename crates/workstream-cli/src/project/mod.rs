//! The project directory: one format for `init`, `policy validate`, `policy preview`,
//! `project import` and `demo`.
//!
//! The layout is documented for users in `templates/project/README.md` (which `init`
//! copies into every new project):
//!
//! ```text
//! project.json            name, slug, description, guide {version, change_summary}
//! guide.md                the guide's prose (six required sections)
//! policies/*.json         the four parts of the policy bundle + the contribution policy
//! checkers/*.wasm         the project's own checker components (optional)
//! tasks/*.json, *.csv     one task per JSON file; one task per CSV row
//! packet/                 the packet layout (outputs/, evidence/)
//! review/                 the review packet template and the prior-feedback checklist
//!                         (the bundle's `review_templates`, stored with the guide)
//! templates/              the preflight evidence and task status templates
//! ```
//!
//! * [`load`] reads and parses the files into a [`Project`], reporting every file it
//!   cannot read or parse as a [`Problem`] (it does not judge the contents);
//! * [`validate`] judges them with the server's own rules;
//! * [`import`] creates the project through the API;
//! * [`preview`] previews its policy on the project's stored packets through the API;
//! * [`embedded`] holds the template and the example project, compiled into the binary.

pub mod cli;
pub mod embedded;
pub mod import;
pub mod preview;
pub mod validate;

use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value, json};

/// The guide's bundle parts and the files they live in.
pub const BUNDLE_PARTS: [(&str, &str); 4] = [
    ("artifact_policy", "policies/artifact-policy.json"),
    ("checker_policy", "policies/checker-policy.json"),
    ("review_policy", "policies/review-policy.json"),
    ("revision_policy", "policies/revision-policy.json"),
];
/// The guide's review texts (the bundle's optional `review_templates`) and their files.
pub const REVIEW_TEXTS: [(&str, &str); 2] = [
    ("review_packet", "review/review-packet.md"),
    (
        "prior_feedback_checklist",
        "review/prior-feedback-checklist.md",
    ),
];
/// The contribution policy's file.
pub const CONTRIBUTION_FILE: &str = "policies/contribution-policy.json";
/// The project file.
pub const PROJECT_FILE: &str = "project.json";
/// The guide's prose.
pub const GUIDE_FILE: &str = "guide.md";
/// The packet layout directory.
pub const PACKET_DIR: &str = "packet";

/// One thing wrong with a project directory: where (`file#/json/pointer`), the stable
/// code, and what.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// `<file>` or `<file>#<JSON pointer>`, relative to the project directory.
    pub location: String,
    /// The stable code (the server's, where the server has the same rule).
    pub code: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it ([`crate::fixes::fix_for`] of its code, or of its class).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<&'static str>,
}

impl Problem {
    /// A problem at `location`.
    pub fn new(
        location: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Problem {
        let code = code.into();
        Problem {
            location: location.into(),
            fix: crate::fixes::fix_for(&code),
            code,
            message: message.into(),
        }
    }

    /// The fix of `class` when the code itself has none (an R8 defect reads as
    /// `platform_default_weakened`).
    pub fn or_fix_of(mut self, class: &str) -> Problem {
        if self.fix.is_none() {
            self.fix = crate::fixes::fix_for(class);
        }
        self
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "error[{}] {}: {}",
            self.code, self.location, self.message
        )?;
        if let Some(fix) = self.fix {
            write!(f, "\n  fix: {fix}")?;
        }
        Ok(())
    }
}

/// `project.json`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectFile {
    /// The project's name.
    pub name: String,
    /// Its slug (unique on the server).
    pub slug: String,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// The guide version this directory describes.
    pub guide: GuideMeta,
}

/// The guide's version label and change summary.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuideMeta {
    /// The version label (1..64 characters).
    pub version: String,
    /// What changed.
    #[serde(default)]
    pub change_summary: String,
}

/// `policies/contribution-policy.json`: the terms finance publishes, with the units and
/// adapter routes they need.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContributionFile {
    /// The policy's name.
    pub name: String,
    /// Units enabled on the project.
    #[serde(default)]
    pub units: Vec<UnitSpec>,
    /// One adapter route per instrument.
    #[serde(default)]
    pub bindings: Vec<BindingSpec>,
    /// The rules, without `adapter_binding_id` (filled in from `bindings`).
    pub rules: Vec<Value>,
}

/// A unit to enable.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitSpec {
    /// `money` or `project_points`.
    pub instrument_type: String,
    /// `USD`, `pts`, ...
    pub unit_code: String,
}

/// An adapter binding to create.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindingSpec {
    /// `money` or `project_points`.
    pub instrument_type: String,
    /// How the adapter addresses the awards (`local:*`: the built-in local adapter).
    pub route_key: String,
}

impl ContributionFile {
    /// The rules with each definition's `adapter_binding_id` set from `binding_of` (by
    /// instrument); a definition whose instrument has no binding is left without one.
    pub fn terms(&self, binding_of: impl Fn(&str) -> Option<String>) -> Value {
        let rules: Vec<Value> = self
            .rules
            .iter()
            .map(|rule| {
                let mut rule = rule.clone();
                if let Some(definitions) = rule.get_mut("definitions").and_then(Value::as_array_mut)
                {
                    for definition in definitions.iter_mut().filter_map(Value::as_object_mut) {
                        let instrument = definition
                            .get("instrument_type")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned();
                        if let Some(binding) = binding_of(&instrument) {
                            definition.insert("adapter_binding_id".into(), Value::String(binding));
                        }
                    }
                }
                rule
            })
            .collect();
        json!({ "rules": rules })
    }
}

/// One task of the directory: where it came from and its creation body.
#[derive(Debug, Clone)]
pub struct TaskEntry {
    /// `tasks/task.json`, or `tasks/tasks.csv:3` (the line).
    pub origin: String,
    /// Where its fields are, for problems: `tasks/task.json#` or `tasks/tasks.csv#/0`.
    pub pointer: String,
    /// The body of `POST /projects/{id}/tasks`.
    pub body: Map<String, Value>,
}

/// A project directory, read and parsed.
#[derive(Debug, Clone)]
pub struct Project {
    /// The directory.
    pub root: PathBuf,
    /// `project.json`.
    pub project: ProjectFile,
    /// `guide.md`.
    pub guide_markdown: String,
    /// The policy bundle assembled from the four policy files (a missing file leaves its
    /// part out, which the gate reports).
    pub bundle: Value,
    /// `policies/contribution-policy.json`.
    pub contribution: ContributionFile,
    /// Every task, JSON files first, then CSV rows, each in file-name order.
    pub tasks: Vec<TaskEntry>,
    /// `checkers/*.wasm`.
    pub components: Vec<PathBuf>,
    /// Problems of task files that do not keep the rest from being read (a task that
    /// cannot be read is left out of `tasks`); `import` refuses a project that has any.
    pub task_problems: Vec<Problem>,
}

fn read_text(root: &Path, file: &str, problems: &mut Vec<Problem>) -> Option<String> {
    match fs::read_to_string(root.join(file)) {
        Ok(text) => Some(text),
        Err(err) => {
            let code = if err.kind() == std::io::ErrorKind::NotFound {
                "project_file_missing"
            } else {
                "project_file_unreadable"
            };
            problems.push(Problem::new(file, code, err.to_string()));
            None
        }
    }
}

fn read_json<T: serde::de::DeserializeOwned>(
    root: &Path,
    file: &str,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    let text = read_text(root, file, problems)?;
    match serde_json::from_str(&text) {
        Ok(value) => Some(value),
        Err(err) => {
            problems.push(Problem::new(
                file,
                "project_file_invalid",
                format!("line {}, column {}: {err}", err.line(), err.column()),
            ));
            None
        }
    }
}

/// Files of `dir` (relative to `root`) whose names end in `.{ext}`, sorted.
fn files_with(root: &Path, dir: &str, ext: &str) -> Vec<String> {
    let Ok(entries) = fs::read_dir(root.join(dir)) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| name.ends_with(&format!(".{ext}")))
        .map(|name| format!("{dir}/{name}"))
        .collect();
    names.sort();
    names
}

/// Reads the directory at `root`: the project, or every problem that kept a file from
/// being read or parsed.
pub fn load(root: &Path) -> Result<Project, Vec<Problem>> {
    let mut problems = Vec::new();
    if !root.is_dir() {
        return Err(vec![Problem::new(
            root.display().to_string(),
            "project_directory_missing",
            "not a directory",
        )]);
    }
    let project: Option<ProjectFile> = read_json(root, PROJECT_FILE, &mut problems);
    let guide_markdown = read_text(root, GUIDE_FILE, &mut problems);
    let mut bundle = Map::new();
    for (part, file) in BUNDLE_PARTS {
        if let Some(value) = read_json::<Value>(root, file, &mut problems) {
            bundle.insert(part.to_owned(), value);
        }
    }
    // The review texts are optional: a directory without them has a guide without them.
    let mut texts = Map::new();
    for (key, file) in REVIEW_TEXTS {
        if root.join(file).exists()
            && let Some(text) = read_text(root, file, &mut problems)
        {
            texts.insert(key.to_owned(), Value::String(text));
        }
    }
    if !texts.is_empty() {
        bundle.insert("review_templates".to_owned(), Value::Object(texts));
    }
    let contribution: Option<ContributionFile> = read_json(root, CONTRIBUTION_FILE, &mut problems);

    let mut tasks = Vec::new();
    let mut task_problems = Vec::new();
    for file in files_with(root, "tasks", "json") {
        match read_json::<Value>(root, &file, &mut task_problems) {
            Some(Value::Object(body)) => tasks.push(TaskEntry {
                origin: file.clone(),
                pointer: format!("{file}#"),
                body,
            }),
            Some(_) => task_problems.push(Problem::new(
                &file,
                "project_file_invalid",
                "a task file holds one JSON object",
            )),
            None => {}
        }
    }
    for file in files_with(root, "tasks", "csv") {
        tasks.extend(read_csv(root, &file, &mut task_problems));
    }
    let components = files_with(root, "checkers", "wasm")
        .into_iter()
        .map(|f| root.join(f))
        .collect();

    match (project, guide_markdown, contribution) {
        (Some(project), Some(guide_markdown), Some(contribution)) if problems.is_empty() => {
            Ok(Project {
                root: root.to_owned(),
                project,
                guide_markdown,
                bundle: Value::Object(bundle),
                contribution,
                tasks,
                components,
                task_problems,
            })
        }
        _ => Err(problems),
    }
}

/// The columns a task CSV may have: the fields of a task.
const CSV_COLUMNS: &[&str] = &[
    "title",
    "description",
    "task_type",
    "difficulty",
    "skill_tags",
    "estimated_time_minutes",
    "acceptance_criteria",
    "rejection_criteria",
    "deadline_at",
    "source_type",
    "source_ref",
    "external_task_id",
];

fn read_csv(root: &Path, file: &str, problems: &mut Vec<Problem>) -> Vec<TaskEntry> {
    let Some(text) = read_text(root, file, problems) else {
        return Vec::new();
    };
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = match reader.headers() {
        Ok(headers) => headers.clone(),
        Err(err) => {
            problems.push(Problem::new(file, "project_file_invalid", err.to_string()));
            return Vec::new();
        }
    };
    let before = problems.len();
    for (index, column) in headers.iter().enumerate() {
        if !CSV_COLUMNS.contains(&column) {
            problems.push(Problem::new(
                file,
                "task_csv_column_unknown",
                format!(
                    "column {} `{column}` is not a task field (use: {})",
                    index + 1,
                    CSV_COLUMNS.join(", ")
                ),
            ));
        }
    }
    if problems.len() > before {
        return Vec::new();
    }
    let mut tasks = Vec::new();
    for (row, record) in reader.records().enumerate() {
        let record = match record {
            Ok(record) => record,
            Err(err) => {
                problems.push(Problem::new(
                    format!("{file}#/{row}"),
                    "project_file_invalid",
                    err.to_string(),
                ));
                continue;
            }
        };
        let line = record.position().map_or(row as u64 + 2, |p| p.line());
        let mut body = Map::new();
        for (column, cell) in headers.iter().zip(record.iter()) {
            let cell = cell.trim();
            if cell.is_empty() {
                continue;
            }
            let value = match column {
                "skill_tags" => Value::Array(
                    cell.split(';')
                        .map(str::trim)
                        .filter(|t| !t.is_empty())
                        .map(|t| Value::String(t.to_owned()))
                        .collect(),
                ),
                "estimated_time_minutes" => match cell.parse::<i64>() {
                    Ok(n) => Value::from(n),
                    Err(_) => {
                        problems.push(Problem::new(
                            format!("{file}#/{row}/{column}"),
                            "invalid_task_field",
                            format!("line {line}: estimated_time_minutes must be a whole number"),
                        ));
                        continue;
                    }
                },
                _ => Value::String(cell.to_owned()),
            };
            body.insert(column.to_owned(), value);
        }
        body.entry("source_type")
            .or_insert_with(|| Value::String("csv_import".into()));
        body.entry("source_ref")
            .or_insert_with(|| Value::String(format!("{file}:{line}")));
        tasks.push(TaskEntry {
            origin: format!("{file}:{line}"),
            pointer: format!("{file}#/{row}"),
            body,
        });
    }
    tasks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_become_task_bodies() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("tasks")).unwrap();
        fs::write(
            dir.path().join("tasks/batch.csv"),
            "title,skill_tags,estimated_time_minutes,description\nA,x; y,30,\"with, comma\"\nB,,,\n",
        )
        .unwrap();
        let mut problems = Vec::new();
        let tasks = read_csv(dir.path(), "tasks/batch.csv", &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(tasks.len(), 2);
        assert_eq!(
            Value::Object(tasks[0].body.clone()),
            json!({"title": "A", "skill_tags": ["x", "y"], "estimated_time_minutes": 30,
                   "description": "with, comma", "source_type": "csv_import",
                   "source_ref": "tasks/batch.csv:2"})
        );
        assert_eq!(tasks[1].origin, "tasks/batch.csv:3");
        assert_eq!(tasks[1].pointer, "tasks/batch.csv#/1");

        fs::write(dir.path().join("tasks/bad.csv"), "title,colour\nA,red\n").unwrap();
        let tasks = read_csv(dir.path(), "tasks/bad.csv", &mut problems);
        assert!(tasks.is_empty());
        assert_eq!(problems[0].code, "task_csv_column_unknown");
        assert_eq!(problems[0].location, "tasks/bad.csv");
    }
}
