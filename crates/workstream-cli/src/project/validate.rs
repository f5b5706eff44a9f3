//! `workstream policy validate <dir>`: a project directory judged by the server's rules.
//!
//! The policy bundle goes through the activation gate's own code, so a directory that
//! validates here activates on a server with the same build, and one that does not is
//! refused there with the same codes:
//!
//! 1. [`policy::evaluate`]: the JSON Schemas of `policies/` and the platform defaults
//!    merged in, never weakened (`policy_bundle_invalid`, `review_policy_incomplete`,
//!    `revision_policy_incomplete`, `platform_default_weakened`);
//! 2. [`guides::pin_checkers`]: every checker resolved to a component
//!    (`checker_not_registered`, `default_checker_replaced`) and each configuration
//!    checked against the schema the component declares
//!    (`checker_configuration_invalid`). Where the server looks in its registry, this
//!    looks at the built-ins compiled into this binary and the directory's
//!    `checkers/*.wasm`, each loaded in the sandbox and asked for its `info()` (the
//!    same load that registration does, so a component the registry would refuse is
//!    reported with the registry's code).
//!
//! The rest is checked with the server's rules for the records import will create: the
//! contribution terms ([`contribution::parse_terms`], with each definition's binding and
//! unit present), each task ([`NewTaskInput::validate`] and the fields screening needs,
//! `task_fields_incomplete`), the project's name and slug (the table's constraints).
//! Two checks are the CLI's own, for the directory's human parts: `guide.md` has the six
//! sections of a guide (`guide_section_missing`), and `packet/` holds `outputs/`,
//! `evidence/` and every required artifact (`packet_layout_missing`).
//!
//! Error paths point into the files: `policies/checker-policy.json#/checkers/1/configuration/min_chars`.
//! The gate reports checker errors against the *effective* list (platform defaults
//! first); they are mapped back to the file by the checker's name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use workstream_domain::Digest;
use workstream_domain::policy::{self, CheckerRef, contribution};
use workstream_engine::CommandError;
use workstream_engine::checkers as registration;
use workstream_engine::guides::{self, ResolvedComponent};
use workstream_engine::tasks::NewTaskInput;
use workstream_sandbox::{Sandbox, builtin};

use super::{BUNDLE_PARTS, CONTRIBUTION_FILE, GUIDE_FILE, PACKET_DIR, PROJECT_FILE, Problem};
use crate::progress::{self, Output};

/// The sections every guide has (level-2 headings of `guide.md`).
pub const GUIDE_SECTIONS: [&str; 6] = [
    "Scope",
    "Acceptance standard",
    "Packet layout",
    "Evidence",
    "Review standard",
    "Payment terms",
];

/// What a directory that validates holds, for the closing line.
#[derive(Debug, Clone, Default)]
pub struct Validated {
    /// Checkers of the effective policy.
    pub checkers: usize,
    /// Of them, the platform's defaults.
    pub default_checkers: usize,
    /// Tasks.
    pub tasks: usize,
    /// Contribution rules.
    pub rules: usize,
}

/// Validates the directory at `root`: every problem found, or what it holds.
pub async fn validate(
    root: &Path,
    out: &mut Output,
) -> anyhow::Result<Result<Validated, Vec<Problem>>> {
    let project = match super::load(root) {
        Ok(project) => project,
        Err(problems) => return Ok(Err(problems)),
    };
    let mut problems = project.task_problems.clone();
    check_project(&project.project, &mut problems);
    check_guide(&project.guide_markdown, &mut problems);
    let mut validated = Validated {
        tasks: project.tasks.len(),
        rules: project.contribution.rules.len(),
        ..Validated::default()
    };

    let artifact_paths: Vec<String>;
    match policy::evaluate(Some(&project.bundle)) {
        Err(refusal) => {
            problems.extend(refusal.errors.iter().map(|e| {
                problem_at(
                    &e.path,
                    e.code.unwrap_or(refusal.code.as_str()),
                    &e.message,
                    &project.bundle,
                    &[],
                )
                .or_fix_of(refusal.code.as_str())
            }));
            artifact_paths = submitted_artifacts(&project.bundle);
        }
        Ok(mut effective) => {
            artifact_paths = effective
                .artifact_policy
                .required_artifacts
                .iter()
                .filter(|a| a.required)
                .map(|a| a.path.clone())
                .collect();
            let checkers = effective.checker_policy.checkers.clone();
            validated.checkers = checkers.len();
            validated.default_checkers = policy::platform_defaults().checker_policy.checkers.len();
            let (found, mut component_problems, hints) =
                resolve(&checkers, &project.components, root, out).await?;
            problems.append(&mut component_problems);
            if let Err(err) = guides::pin_checkers(&mut effective.checker_policy.checkers, found) {
                problems.extend(gate_problems(&err, &project.bundle, &checkers, &hints));
            }
        }
    }
    check_contribution(&project.contribution, &mut problems);
    check_tasks(&project.tasks, &mut problems);
    check_packet(root, &artifact_paths, &mut problems);
    Ok(if problems.is_empty() {
        Ok(validated)
    } else {
        Err(problems)
    })
}

fn check_project(file: &super::ProjectFile, problems: &mut Vec<Problem>) {
    let at = |field: &str| format!("{PROJECT_FILE}#/{field}");
    let name = file.name.chars().count();
    if !(1..=200).contains(&name) || file.name.trim().is_empty() {
        problems.push(Problem::new(
            at("name"),
            "project_field_invalid",
            "the name must be 1..200 characters and not blank",
        ));
    }
    if !slug_ok(&file.slug) {
        problems.push(Problem::new(
            at("slug"),
            "project_field_invalid",
            format!(
                "{:?}: 1..120 lowercase letters, digits and dashes, starting and ending with a letter or digit",
                file.slug
            ),
        ));
    }
    if file.description.chars().count() > 20_000 {
        problems.push(Problem::new(
            at("description"),
            "project_field_invalid",
            "at most 20000 characters",
        ));
    }
    let version = file.guide.version.chars().count();
    if !(1..=64).contains(&version) {
        problems.push(Problem::new(
            at("guide/version"),
            "project_field_invalid",
            "the guide's version label is 1..64 characters",
        ));
    }
}

/// The table's `projects_slug_format`: `^[a-z0-9](?:[a-z0-9-]{0,118}[a-z0-9])?$`.
pub fn slug_ok(slug: &str) -> bool {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    !slug.is_empty()
        && slug.len() <= 120
        && slug.starts_with(ok_char)
        && slug.ends_with(ok_char)
        && slug.chars().all(|c| ok_char(c) || c == '-')
}

fn check_guide(markdown: &str, problems: &mut Vec<Problem>) {
    let headings: Vec<String> = markdown
        .lines()
        .filter_map(|line| line.strip_prefix("## "))
        .map(|h| h.trim().to_lowercase())
        .collect();
    for section in GUIDE_SECTIONS {
        if !headings.iter().any(|h| h == &section.to_lowercase()) {
            problems.push(Problem::new(
                format!("{GUIDE_FILE}#{section}"),
                "guide_section_missing",
                format!("the guide has no `## {section}` section"),
            ));
        }
    }
}

/// `/checker_policy/x` of the submitted bundle -> `policies/checker-policy.json#/x`.
fn file_location(path: &str) -> String {
    for (part, file) in BUNDLE_PARTS {
        let prefix = format!("/{part}");
        if path == prefix {
            return file.to_owned();
        }
        if let Some(rest) = path.strip_prefix(&format!("{prefix}/")) {
            return format!("{file}#/{rest}");
        }
    }
    for (key, file) in super::REVIEW_TEXTS {
        if path == format!("/review_templates/{key}") {
            return file.to_owned();
        }
    }
    if path.is_empty() {
        "policies/".to_owned()
    } else {
        format!("policies/#{path}")
    }
}

fn problem_at(
    path: &str,
    code: &str,
    message: &str,
    bundle: &Value,
    effective: &[CheckerRef],
) -> Problem {
    let location =
        effective_location(path, bundle, effective).unwrap_or_else(|| file_location(path));
    Problem::new(location, code, message)
}

/// A path into the effective checker list, mapped to the file by checker name.
fn effective_location(path: &str, bundle: &Value, effective: &[CheckerRef]) -> Option<String> {
    let rest = path.strip_prefix("/checker_policy/checkers/")?;
    if effective.is_empty() {
        return None;
    }
    let (index, tail) = rest.split_once('/').map_or((rest, ""), |(i, t)| (i, t));
    let name = &effective.get(index.parse::<usize>().ok()?)?.name;
    let tail = if tail.is_empty() {
        String::new()
    } else {
        format!("/{tail}")
    };
    let in_file = bundle["checker_policy"]["checkers"]
        .as_array()
        .and_then(|list| list.iter().position(|c| c["name"] == name.as_str()));
    Some(match in_file {
        Some(j) => format!("policies/checker-policy.json#/checkers/{j}{tail}"),
        None => {
            let k = policy::platform_defaults()
                .checker_policy
                .checkers
                .iter()
                .position(|c| &c.name == name)
                .unwrap_or(0);
            format!(
                "platform-defaults.json#/checker_policy/checkers/{k}{tail} (platform default `{name}`)"
            )
        }
    })
}

fn gate_problems(
    err: &CommandError,
    bundle: &Value,
    effective: &[CheckerRef],
    hints: &BTreeMap<String, String>,
) -> Vec<Problem> {
    let Some(errors) = err.details.get("errors").and_then(Value::as_array) else {
        return vec![Problem::new(
            "policies/checker-policy.json",
            err.code,
            err.message.clone(),
        )];
    };
    errors
        .iter()
        .map(|e| {
            let path = e["path"].as_str().unwrap_or_default();
            let code = e["code"].as_str().unwrap_or(err.code.as_str());
            let mut message = e["message"].as_str().unwrap_or_default().to_owned();
            if let Some(hint) = effective_name(path, effective).and_then(|n| hints.get(n)) {
                message = format!("{message}; {hint}");
            }
            problem_at(path, code, &message, bundle, effective).or_fix_of(err.code.as_str())
        })
        .collect()
}

fn effective_name<'a>(path: &str, effective: &'a [CheckerRef]) -> Option<&'a str> {
    let rest = path.strip_prefix("/checker_policy/checkers/")?;
    let index = rest.split('/').next()?.parse::<usize>().ok()?;
    effective.get(index).map(|c| c.name.as_str())
}

/// Resolves every checker as the server's registry would: by digest (and name) among
/// the built-ins and the directory's components, or, without a digest, to the built-in
/// of that name. Returns what each resolved to, the components that failed to load,
/// and hints for names that only a directory component has.
async fn resolve(
    checkers: &[CheckerRef],
    components: &[PathBuf],
    root: &Path,
    out: &mut Output,
) -> anyhow::Result<(
    Vec<Option<ResolvedComponent>>,
    Vec<Problem>,
    BTreeMap<String, String>,
)> {
    let mut wanted: Vec<&'static builtin::BuiltinChecker> = Vec::new();
    for checker in checkers {
        let found = match &checker.digest {
            Some(digest) => builtin::all()
                .iter()
                .find(|b| &b.digest == digest && b.name == checker.name),
            None => builtin::by_name(&checker.name),
        };
        if let Some(b) = found
            && !wanted.iter().any(|w| w.name == b.name)
        {
            wanted.push(b);
        }
    }
    let total = (wanted.len() + components.len()) as u64;
    out.set_bar(progress::steps(total, "compiling checkers"));
    let (sandbox, _cache) = crate::checker::sandbox()?;
    let mut loaded: Vec<(Digest, ResolvedComponent)> = Vec::new();
    for b in &wanted {
        out.bar().set_message(b.name);
        let checker = load(&sandbox, b.bytes).await.map_err(|e| {
            anyhow::anyhow!(
                "the built-in checker {} does not load: {}",
                b.name,
                e.message
            )
        })?;
        loaded.push((
            b.digest,
            ResolvedComponent {
                digest: b.digest.to_string(),
                name: b.name.to_owned(),
                builtin: true,
                config_schema: checker.config_schema,
            },
        ));
        out.bar().inc(1);
    }
    let mut problems = Vec::new();
    let mut directory: Vec<(Digest, ResolvedComponent, String)> = Vec::new();
    for path in components {
        let shown = path
            .strip_prefix(root)
            .unwrap_or(path)
            .display()
            .to_string();
        out.bar().set_message(shown.clone());
        let bytes = std::fs::read(path)?;
        match load(&sandbox, &bytes).await {
            Ok(checker) => {
                let digest = *checker.loaded.digest();
                directory.push((
                    digest,
                    ResolvedComponent {
                        digest: digest.to_string(),
                        name: checker.info.name.clone(),
                        builtin: false,
                        config_schema: checker.config_schema,
                    },
                    shown,
                ));
            }
            Err(err) => problems.push(Problem::new(shown, err.code, err.message)),
        }
        out.bar().inc(1);
    }
    out.finish();

    let mut hints = BTreeMap::new();
    let found = checkers
        .iter()
        .map(|checker| match &checker.digest {
            Some(digest) => loaded
                .iter()
                .map(|(d, c)| (d, c))
                .chain(directory.iter().map(|(d, c, _)| (d, c)))
                .find(|(d, c)| *d == digest && c.name == checker.name)
                .map(|(_, c)| c.clone()),
            None => {
                if let Some((_, c, file)) =
                    directory.iter().find(|(_, c, _)| c.name == checker.name)
                {
                    hints.insert(
                        checker.name.clone(),
                        format!("{file} is `{}` with digest {}", c.name, c.digest),
                    );
                }
                loaded
                    .iter()
                    .find(|(_, c)| c.name == checker.name)
                    .map(|(_, c)| c.clone())
            }
        })
        .collect();
    Ok((found, problems, hints))
}

async fn load(
    sandbox: &Sandbox,
    bytes: &[u8],
) -> Result<registration::ValidatedChecker, CommandError> {
    registration::validate_component(sandbox, bytes).await
}

fn submitted_artifacts(bundle: &Value) -> Vec<String> {
    bundle["artifact_policy"]["required_artifacts"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter(|a| a["required"] == true)
                .filter_map(|a| a["path"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// A binding id that stands in for the one import creates (the terms need one).
const PLACEHOLDER_BINDING: &str = "00000000-0000-7000-8000-000000000000";

fn check_contribution(file: &super::ContributionFile, problems: &mut Vec<Problem>) {
    let at = |pointer: &str| format!("{CONTRIBUTION_FILE}#{pointer}");
    if file.name.trim().is_empty() || file.name.chars().count() > 200 {
        problems.push(Problem::new(
            at("/name"),
            "contribution_policy_invalid",
            "the name must be 1..200 characters and not blank",
        ));
    }
    const INSTRUMENTS: [&str; 2] = ["money", "project_points"];
    for (i, unit) in file.units.iter().enumerate() {
        if !INSTRUMENTS.contains(&unit.instrument_type.as_str()) {
            problems.push(Problem::new(
                at(&format!("/units/{i}/instrument_type")),
                "contribution_policy_invalid",
                "money or project_points",
            ));
        }
    }
    for (i, binding) in file.bindings.iter().enumerate() {
        if !INSTRUMENTS.contains(&binding.instrument_type.as_str()) {
            problems.push(Problem::new(
                at(&format!("/bindings/{i}/instrument_type")),
                "contribution_policy_invalid",
                "money or project_points",
            ));
        }
        if binding.route_key.trim().is_empty() {
            problems.push(Problem::new(
                at(&format!("/bindings/{i}/route_key")),
                "contribution_policy_invalid",
                "a route key names the adapter (`local:money` is the built-in local adapter)",
            ));
        }
        if file.bindings[..i]
            .iter()
            .any(|b| b.instrument_type == binding.instrument_type)
        {
            problems.push(Problem::new(
                at(&format!("/bindings/{i}")),
                "contribution_policy_invalid",
                "one binding per instrument",
            ));
        }
    }
    // Every definition gets a stand-in binding, so the terms are judged on their own
    // (a missing binding is reported below, by its own code).
    let terms = file.terms(|_| Some(PLACEHOLDER_BINDING.to_owned()));
    for (r, rule) in file.rules.iter().enumerate() {
        let definitions = rule["definitions"].as_array().cloned().unwrap_or_default();
        for (d, definition) in definitions.iter().enumerate() {
            let instrument = definition["instrument_type"].as_str().unwrap_or_default();
            let unit = definition["unit_code"].as_str().unwrap_or_default();
            let pointer = format!("/rules/{r}/definitions/{d}");
            if definition.get("adapter_binding_id").is_some() {
                problems.push(Problem::new(
                    at(&format!("{pointer}/adapter_binding_id")),
                    "contribution_policy_invalid",
                    "leave adapter_binding_id out: import fills it in from `bindings`",
                ));
            }
            if !file
                .bindings
                .iter()
                .any(|b| b.instrument_type == instrument)
            {
                problems.push(Problem::new(
                    at(&pointer),
                    "contribution_binding_missing",
                    format!("no binding for the instrument `{instrument}`"),
                ));
            }
            if !file
                .units
                .iter()
                .any(|u| u.instrument_type == instrument && u.unit_code == unit)
            {
                problems.push(Problem::new(
                    at(&format!("{pointer}/unit_code")),
                    "contribution_unit_missing",
                    format!("the unit `{unit}` ({instrument}) is not in `units`"),
                ));
            }
        }
    }
    if let Err(errors) = contribution::parse_terms(&terms) {
        for e in errors {
            problems.push(
                Problem::new(
                    at(&e.path),
                    e.code.unwrap_or("contribution_policy_invalid"),
                    e.message,
                )
                .or_fix_of("contribution_policy_invalid"),
            );
        }
    }
}

fn check_tasks(tasks: &[super::TaskEntry], problems: &mut Vec<Problem>) {
    let mut external_ids: BTreeMap<String, String> = BTreeMap::new();
    for task in tasks {
        let input: NewTaskInput = match serde_json::from_value(Value::Object(task.body.clone())) {
            Ok(input) => input,
            Err(err) => {
                problems.push(Problem::new(
                    task.pointer.clone(),
                    "invalid_task_field",
                    err.to_string(),
                ));
                continue;
            }
        };
        if let Err(err) = input.validate() {
            let field = err.details["field"].as_str().unwrap_or_default();
            problems.push(Problem::new(
                format!("{}/{field}", task.pointer),
                err.code,
                err.message,
            ));
        }
        for (field, value) in [
            ("title", &input.title),
            ("description", &input.description),
            ("acceptance_criteria", &input.acceptance_criteria),
            ("rejection_criteria", &input.rejection_criteria),
        ] {
            if value.trim().is_empty() {
                problems.push(Problem::new(
                    format!("{}/{field}", task.pointer),
                    "task_fields_incomplete",
                    format!("screening needs `{field}`"),
                ));
            }
        }
        if let Some(id) = &input.external_task_id {
            if let Some(first) = external_ids.get(id) {
                problems.push(Problem::new(
                    format!("{}/external_task_id", task.pointer),
                    "conflict",
                    format!("external_task_id {id:?} is also used by {first}"),
                ));
            } else {
                external_ids.insert(id.clone(), task.origin.clone());
            }
        }
    }
}

fn check_packet(root: &Path, required: &[String], problems: &mut Vec<Problem>) {
    let packet = root.join(PACKET_DIR);
    for dir in ["outputs", "evidence"] {
        if !packet.join(dir).is_dir() {
            problems.push(Problem::new(
                format!("{PACKET_DIR}/{dir}/"),
                "packet_layout_missing",
                format!("the packet layout has no `{dir}/` directory"),
            ));
        }
    }
    for path in required {
        if !packet.join(path).is_file() {
            problems.push(Problem::new(
                format!("{PACKET_DIR}/{path}"),
                "packet_layout_missing",
                "the artifact policy requires this file; the packet layout does not have it",
            ));
        }
    }
}
