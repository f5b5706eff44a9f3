//! The routes the API mounts, read from the router's source at test time, and which of
//! them a concrete request path reaches.
//!
//! There is no route listing at run time (axum's router cannot be enumerated), so the
//! `.route(` calls of `crates/workstream-api/src/*.rs` are read: the path (a literal, or
//! a `format!` over the module's `BASE` constant) and the method routers chained on it
//! (`get(..)`, `post(..).get(..)`). Every module with a `routes()` function must yield
//! at least one route, so a change in how routes are declared fails here instead of
//! silently shrinking the matrix. Every route is relative to `/api/v1`; the root
//! liveness probe `/health` collapses into `GET /health`, which the matrix tries under
//! `/api/v1` (both are public).
//!
//! Resolution follows axum's (matchit's) priority: a static segment beats a parameter,
//! and a `{*rest}` catch-all takes the remaining segments. A row whose path reaches no
//! mounted route fails the matrix: otherwise a typo would "pass" as a concealed 404.

use std::collections::BTreeSet;
use std::path::Path;

/// One mounted route: method and path template (relative to `/api/v1`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mounted {
    pub method: String,
    pub template: String,
}

impl std::fmt::Display for Mounted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.template)
    }
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Every route of `crates/workstream-api/src/*.rs`.
pub fn mounted() -> BTreeSet<Mounted> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/workstream-api/src");
    let mut all = BTreeSet::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("the API's sources")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    for file in files {
        let source = std::fs::read_to_string(&file).unwrap();
        let found = parse(&source);
        if source.contains("pub fn routes()") {
            assert!(
                !found.is_empty(),
                "{} has a routes() function but no `.route(` call could be read: \
                 update tests/tests/authorization_matrix/routes.rs",
                file.display()
            );
        }
        all.extend(found);
    }
    all
}

/// The routes of one source file.
pub fn parse(source: &str) -> Vec<Mounted> {
    let base = source
        .split("const BASE: &str = \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next());
    let mut found = Vec::new();
    let mut rest = source;
    while let Some(at) = rest.find(".route(") {
        let call = &rest[at + ".route(".len()..];
        let args = balanced(call);
        rest = &call[args.len()..];
        let first = args.split(',').next().unwrap().trim();
        let template = match (first, base) {
            ("BASE", Some(base)) => base.to_owned(),
            _ => first_string(first)
                .unwrap_or_else(|| panic!("cannot read the path of `.route({args})`")),
        };
        let template = template.replace("{{", "\u{1}").replace("}}", "\u{2}");
        let template = match base {
            Some(base) => template.replace("{BASE}", base),
            None => template,
        };
        let template = template.replace('\u{1}', "{").replace('\u{2}', "}");
        let after_path = &args[args.find(',').expect("a method router") + 1..];
        let methods = methods(after_path);
        assert!(!methods.is_empty(), "no method in `.route({args})`");
        for method in methods {
            found.push(Mounted {
                method: method.to_uppercase(),
                template: template.clone(),
            });
        }
    }
    found
}

/// The text up to the parenthesis that closes the one just opened.
fn balanced(text: &str) -> &str {
    let mut depth = 1;
    let mut in_string = false;
    for (i, c) in text.char_indices() {
        match c {
            '"' => in_string = !in_string,
            '(' if !in_string => depth += 1,
            ')' if !in_string => {
                depth -= 1;
                if depth == 0 {
                    return &text[..i];
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced `.route(` call");
}

fn first_string(args: &str) -> Option<String> {
    let start = args.find('"')? + 1;
    let end = start + args[start..].find('"')?;
    Some(args[start..end].to_owned())
}

/// `get`, `post`, ... called directly (`get(x)` or `.get(x)`) in a method router.
fn methods(text: &str) -> Vec<&'static str> {
    let mut found = Vec::new();
    for (i, _) in text.char_indices() {
        for method in METHODS {
            let call = format!("{method}(");
            let preceded_ok = text[..i]
                .chars()
                .next_back()
                .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == ':'));
            if text[i..].starts_with(&call) && preceded_ok {
                found.push(method);
            }
        }
    }
    found
}

/// The mounted route `method path` reaches, if any (`path` relative to `/api/v1`,
/// query string allowed).
pub fn resolve<'a>(
    mounted: &'a BTreeSet<Mounted>,
    method: &str,
    path: &str,
) -> Option<&'a Mounted> {
    let path = path.split('?').next().unwrap();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut best: Option<(&Mounted, Vec<bool>)> = None;
    for route in mounted {
        let template: Vec<&str> = route.template.trim_start_matches('/').split('/').collect();
        let Some(rank) = matches(&template, &segments) else {
            continue;
        };
        // The method is chosen after the path, as axum does: a path mounted for other
        // methods only is a 405, never another route.
        let better = match &best {
            None => true,
            Some((_, best_rank)) => rank > *best_rank,
        };
        if better {
            best = Some((route, rank));
        }
    }
    let (path_route, _) = best?;
    mounted
        .iter()
        .find(|r| r.template == path_route.template && r.method == method)
}

/// Whether `template` matches `segments`; if so, per segment whether it matched
/// statically (static segments rank above parameters, left to right).
fn matches(template: &[&str], segments: &[&str]) -> Option<Vec<bool>> {
    let mut rank = Vec::new();
    for (i, part) in template.iter().enumerate() {
        if part.starts_with("{*") {
            return (segments.len() > i).then_some(rank);
        }
        let segment = segments.get(i)?;
        if part.starts_with('{') {
            if segment.is_empty() {
                return None;
            }
            rank.push(false);
        } else if part == segment {
            rank.push(true);
        } else {
            return None;
        }
    }
    (template.len() == segments.len()).then_some(rank)
}

#[test]
fn the_parser_reads_literals_formats_and_chained_methods() {
    let source = r#"
        const BASE: &str = "/projects/{project_id}/lessons";
        Router::new()
            .route(BASE, get(list).post(create))
            .route(&format!("{BASE}/{{lesson_id}}"), get(read))
            .route(
                "/tasks/{tid}/packets",
                post(upload).layer(DefaultBodyLimit::disable()),
            )
            .route("/health", get(health::api_health))
    "#;
    let unknown = std::panic::catch_unwind(|| parse(".route(PATH, get(x))"));
    assert!(
        unknown.is_err(),
        "a constant other than BASE is refused, not guessed"
    );
    let found: Vec<String> = parse(source).iter().map(|r| r.to_string()).collect();
    assert_eq!(
        found,
        [
            "GET /projects/{project_id}/lessons",
            "POST /projects/{project_id}/lessons",
            "GET /projects/{project_id}/lessons/{lesson_id}",
            "POST /tasks/{tid}/packets",
            "GET /health",
        ]
    );
}

#[test]
fn resolution_prefers_static_segments_and_takes_catch_alls() {
    let mounted: BTreeSet<Mounted> = [
        ("GET", "/projects/{pid}/tasks/{tid}"),
        ("GET", "/projects/{pid}/tasks/ready"),
        ("GET", "/reviews/leases/{lid}/files/{*path}"),
        ("POST", "/reviews/leases/{lid}/release"),
    ]
    .into_iter()
    .map(|(method, template)| Mounted {
        method: method.into(),
        template: template.into(),
    })
    .collect();
    let hit =
        |method: &str, path: &str| resolve(&mounted, method, path).map(|r| r.template.clone());
    assert_eq!(
        hit("GET", "/projects/1/tasks/ready?limit=2").as_deref(),
        Some("/projects/{pid}/tasks/ready")
    );
    assert_eq!(
        hit("GET", "/projects/1/tasks/2").as_deref(),
        Some("/projects/{pid}/tasks/{tid}")
    );
    assert_eq!(
        hit("GET", "/reviews/leases/1/files/outputs/a.md").as_deref(),
        Some("/reviews/leases/{lid}/files/{*path}")
    );
    assert_eq!(hit("GET", "/reviews/leases/1/release"), None, "405");
    assert_eq!(hit("GET", "/reviews/leases/1/files"), None);
    assert_eq!(hit("GET", "/projects/1/task/2"), None);
}
