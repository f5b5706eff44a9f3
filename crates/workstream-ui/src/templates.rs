//! The page templates: minijinja, embedded in the binary, HTML-autoescaped.
//!
//! Every template is compiled into the binary with `include_str!` and added to one
//! environment built on first use; names end in `.html`, which turns minijinja's HTML
//! autoescaping on for every value a page prints (API data is untrusted text). The
//! helpers templates call:
//!
//! * `new_key()`: a fresh UUIDv7 for a form's hidden `idempotency_key`, so each
//!   rendered form is one mutation however often it is submitted;
//! * `asset(name)`: the content-hashed URL of a static asset ([`super::assets`]);
//! * filters `when` (an RFC 3339 time as `2025-06-01 14:03 UTC`), `size` (bytes as
//!   KiB/MiB), `short` (enough of an id or digest to tell it apart),
//!   `words` (`needs_revision` as `needs revision`), `show` (a policy value), `percent`
//!   (a rate), `duration`
//!   (seconds), `ms` (microseconds as milliseconds), `pretty` and `compact` (JSON).

use std::sync::LazyLock;

use axum::response::Html;
use minijinja::{Environment, Value};

/// The templates, by name.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("macros.html", include_str!("../templates/macros.html")),
    (
        "decision_rows.html",
        include_str!("../templates/decision_rows.html"),
    ),
    ("sign_in.html", include_str!("../templates/sign_in.html")),
    ("home.html", include_str!("../templates/home.html")),
    ("error.html", include_str!("../templates/error.html")),
    ("work.html", include_str!("../templates/work.html")),
    ("task.html", include_str!("../templates/task.html")),
    ("submit.html", include_str!("../templates/submit.html")),
    ("review.html", include_str!("../templates/review.html")),
    ("lease.html", include_str!("../templates/lease.html")),
    (
        "calibration.html",
        include_str!("../templates/calibration.html"),
    ),
    ("projects.html", include_str!("../templates/projects.html")),
    ("project.html", include_str!("../templates/project.html")),
    ("guide.html", include_str!("../templates/guide.html")),
    (
        "guide_preview.html",
        include_str!("../templates/guide_preview.html"),
    ),
    (
        "manage_task.html",
        include_str!("../templates/manage_task.html"),
    ),
    ("checkers.html", include_str!("../templates/checkers.html")),
    ("lessons.html", include_str!("../templates/lessons.html")),
    ("sprints.html", include_str!("../templates/sprints.html")),
    ("sprint.html", include_str!("../templates/sprint.html")),
    ("finance.html", include_str!("../templates/finance.html")),
    (
        "finance_project.html",
        include_str!("../templates/finance_project.html"),
    ),
    ("audit.html", include_str!("../templates/audit.html")),
    ("members.html", include_str!("../templates/members.html")),
    (
        "admin_grants.html",
        include_str!("../templates/admin_grants.html"),
    ),
    (
        "service_actors.html",
        include_str!("../templates/service_actors.html"),
    ),
    (
        "audit_trail.html",
        include_str!("../templates/audit_trail.html"),
    ),
];

static ENVIRONMENT: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .unwrap_or_else(|e| panic!("template {name} does not compile: {e:#}"));
    }
    env.add_function("new_key", || uuid::Uuid::now_v7().to_string());
    // Our own URL, not data: marked safe so its slashes are not entity-escaped.
    env.add_function("asset", |name: String| {
        Value::from_safe_string(super::assets::url(&name))
    });
    env.add_filter("when", when);
    env.add_filter("size", size);
    env.add_filter("short", short);
    env.add_filter("words", |text: String| text.replace('_', " "));
    env.add_filter("pretty", |value: Value| {
        serde_json::to_string_pretty(&value).unwrap_or_default()
    });
    env.add_filter("percent", percent);
    env.add_filter("show", show);
    env.add_filter("duration", duration);
    env.add_filter("ms", ms);
    env.add_filter("compact", |value: Value| {
        serde_json::to_string(&value).unwrap_or_default()
    });
    // A guide's Markdown (review texts): rendered as the review page renders a packet's,
    // raw HTML as text and only safe links, so it is marked safe after that.
    env.add_filter("markdown", |text: String| {
        Value::from_safe_string(super::file_views::markdown_html(&text))
    });
    env
});

/// A page value from anything serializable (API JSON, a refusal, a form's values).
pub(super) fn s<T: serde::Serialize>(value: T) -> Value {
    Value::from(minijinja::value::Serde(value))
}

/// Renders template `name` with `context`. A template error is a bug: it is logged
/// and the page says so, rather than showing half a page.
pub(super) fn render(name: &str, context: Value) -> Html<String> {
    let rendered = ENVIRONMENT
        .get_template(name)
        .and_then(|template| template.render(context));
    match rendered {
        Ok(html) => Html(html),
        Err(e) => {
            tracing::error!(template = name, error = %format!("{e:#}"), "template failed");
            Html(
                "<!doctype html><title>Workstream</title><p>This page could not be drawn; \
                 the error is in the server log.</p>"
                    .to_owned(),
            )
        }
    }
}

fn when(value: Value) -> String {
    let Some(text) = value.as_str() else {
        return String::new();
    };
    match chrono::DateTime::parse_from_rfc3339(text) {
        Ok(t) => t
            .with_timezone(&chrono::Utc)
            .format("%Y-%m-%d %H:%M UTC")
            .to_string(),
        Err(_) => text.to_owned(),
    }
}

/// A rate in 0..=1 as a whole percentage; `—` for none (no decisions yet).
fn percent(value: Value) -> String {
    match f64::try_from(value) {
        Ok(rate) => format!("{:.0}%", rate * 100.0),
        Err(_) => "—".to_owned(),
    }
}

/// Seconds as the unit that reads best: `42 s`, `4.2 min`, `3.1 h`, `2.5 d`.
fn duration(value: Value) -> String {
    let Ok(seconds) = f64::try_from(value) else {
        return "—".to_owned();
    };
    match seconds {
        s if s < 60.0 => format!("{s:.0} s"),
        s if s < 3600.0 => format!("{:.1} min", s / 60.0),
        s if s < 86400.0 => format!("{:.1} h", s / 3600.0),
        s => format!("{:.1} d", s / 86400.0),
    }
}

/// Microseconds as milliseconds (`1.3 ms`, `120 ms`); `—` for none (no runs yet).
fn ms(value: Value) -> String {
    let Ok(micros) = f64::try_from(value) else {
        return "—".to_owned();
    };
    match micros / 1000.0 {
        m if m < 10.0 => format!("{m:.1} ms"),
        m => format!("{m:.0} ms"),
    }
}

fn size(value: Value) -> String {
    let bytes = i64::try_from(value).unwrap_or(0) as f64;
    if bytes < 1024.0 {
        format!("{bytes} B")
    } else if bytes < 1024.0 * 1024.0 {
        format!("{:.1} KiB", bytes / 1024.0)
    } else {
        format!("{:.1} MiB", bytes / (1024.0 * 1024.0))
    }
}

/// Enough of an id to tell it from its neighbours: the first 8 hex of a digest, the
/// last 8 of a UUID (a UUIDv7 starts with its timestamp, shared by ids made together).
fn short(value: Value) -> String {
    let text = value.to_string();
    if let Some(hex) = text.strip_prefix("sha256:") {
        return hex.chars().take(8).collect();
    }
    if uuid::Uuid::parse_str(&text).is_ok() {
        return text[text.len() - 8..].to_owned();
    }
    text.chars().take(8).collect()
}

/// A policy value for reading: booleans as yes/no, lists joined, nothing as `—`.
fn show(value: Value) -> String {
    match value.kind() {
        minijinja::value::ValueKind::Bool => if value.is_true() { "yes" } else { "no" }.to_owned(),
        minijinja::value::ValueKind::None | minijinja::value::ValueKind::Undefined => {
            "—".to_owned()
        }
        minijinja::value::ValueKind::Seq => value
            .try_iter()
            .map(|items| items.map(show).collect::<Vec<_>>().join(", "))
            .unwrap_or_default(),
        _ => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles_and_values_are_escaped() {
        assert_eq!(ENVIRONMENT.templates().count(), TEMPLATES.len());
        let page = ENVIRONMENT
            .template_from_named_str("probe.html", "<p>{{ text }}</p>")
            .unwrap()
            .render(minijinja::context! { text => "<script>alert(1)</script>" })
            .unwrap();
        assert_eq!(page, "<p>&lt;script&gt;alert(1)&lt;&#x2f;script&gt;</p>");
    }

    #[test]
    fn filters_shape_times_sizes_and_ids() {
        assert_eq!(
            when(Value::from("2025-06-01T14:03:09.123456Z")),
            "2025-06-01 14:03 UTC"
        );
        assert_eq!(size(Value::from(512)), "512 B");
        assert_eq!(size(Value::from(3 * 1024 * 1024)), "3.0 MiB");
        assert_eq!(short(Value::from("sha256:abcdef0123456789")), "abcdef01");
        assert_eq!(
            short(Value::from("01a2358d-df49-71ed-91bb-da6a3e1235d7")),
            "3e1235d7"
        );
        assert_eq!(show(Value::from(true)), "yes");
        assert_eq!(show(Value::from(vec!["a", "b"])), "a, b");
        assert_eq!(percent(Value::from(0.5)), "50%");
        assert_eq!(percent(Value::from(())), "—");
        assert_eq!(duration(Value::from(7)), "7 s");
        assert_eq!(duration(Value::from(5400)), "1.5 h");
        assert_eq!(ms(Value::from(1300)), "1.3 ms");
        assert_eq!(ms(Value::from(123_456)), "123 ms");
        assert_eq!(ms(Value::from(())), "—");
    }
}
