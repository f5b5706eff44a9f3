//! The routes the API mounts, from its route table, and which of them a concrete
//! request path reaches.
//!
//! Every `/api/v1` route is mounted through `workstream_api::openapi::ApiRoutes`, which
//! records each one (the OpenAPI document is made from the same records), so
//! `workstream_api::api_routes()` is the list the router serves. The `/api/v1/openapi.json`
//! and `/api/v1/docs` routes and `GET /health` are public and not rows of the matrix.
//!
//! Resolution follows axum's (matchit's) priority: a static segment beats a parameter,
//! and a `{*rest}` catch-all takes the remaining segments. A row whose path reaches no
//! mounted route fails the matrix: otherwise a typo would "pass" as a concealed 404.

use std::collections::BTreeSet;

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

/// Every route the API router mounts.
pub fn mounted() -> BTreeSet<Mounted> {
    workstream_api::api_routes()
        .operations()
        .iter()
        .map(|operation| Mounted {
            method: operation.method.as_str().to_owned(),
            template: operation.path.to_owned(),
        })
        .collect()
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
