//! `GET /api/v1/docs`: the OpenAPI document as one page for people.
//!
//! Rendered on the server from the same document `openapi.json` serves, once at start:
//! no script, no font or stylesheet from elsewhere, so it works offline and behind any
//! firewall. Operations are grouped by tag; each shows who may call it, its parameters,
//! its request schema, and every response with its stable error codes. Schemas are
//! listed at the end, and every `$ref` in a request schema links to its entry.

use std::fmt::Write as _;

use serde_json::Value;

/// The page for `document`, operations in the order they were mounted (`order`:
/// `(METHOD, path)` pairs; the document's own `paths` are sorted by path).
pub fn render(document: &Value, order: &[(String, String)]) -> String {
    let mut html = String::with_capacity(256 * 1024);
    let title = text(&document["info"]["title"]);
    let version = text(&document["info"]["version"]);
    let _ = write!(
        html,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} {version}</title><style>{STYLE}</style></head><body>\
         <nav><h1>{title}</h1><p class=\"version\">{version} · OpenAPI {openapi}</p>\
         <p><a href=\"openapi.json\">openapi.json</a></p><ul>",
        title = escape(&title),
        version = escape(&version),
        openapi = escape(&text(&document["openapi"])),
    );
    let operations = by_tag(document, order);
    for (tag, list) in &operations {
        let _ = write!(
            html,
            "<li><a href=\"#tag-{id}\">{tag}</a> <span class=\"count\">{n}</span></li>",
            id = anchor(tag),
            tag = escape(tag),
            n = list.len()
        );
    }
    html.push_str("<li><a href=\"#schemas\">Schemas</a></li></ul></nav><main>");
    let _ = write!(
        html,
        "<section class=\"intro\"><h1>{}</h1><p>{}</p><p>Base URL: <code>/api/v1</code></p></section>",
        escape(&title),
        inline_markdown(&text(&document["info"]["description"]))
    );
    for (tag, list) in &operations {
        let _ = write!(
            html,
            "<section id=\"tag-{}\"><h2>{}</h2>",
            anchor(tag),
            escape(tag)
        );
        for (method, path, operation) in list {
            operation_html(&mut html, document, method, path, operation);
        }
        html.push_str("</section>");
    }
    html.push_str("<section id=\"schemas\"><h2>Schemas</h2>");
    if let Some(schemas) = document["components"]["schemas"].as_object() {
        for (name, schema) in schemas {
            let _ = write!(
                html,
                "<article class=\"schema\" id=\"schema-{id}\"><h3>{name}</h3><pre>{body}</pre></article>",
                id = anchor(name),
                name = escape(name),
                body = schema_html(schema)
            );
        }
    }
    html.push_str("</section></main></body></html>");
    html
}

type Listed<'a> = Vec<(String, &'a str, &'a Value)>;

/// The operations grouped by their first tag, tags in the document's order and
/// operations in `order` within a tag.
fn by_tag<'a>(document: &'a Value, order: &[(String, String)]) -> Vec<(String, Listed<'a>)> {
    let mut groups: Vec<(String, Listed<'_>)> = document["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|tag| (text(&tag["name"]), Vec::new()))
        .collect();
    if let Some(paths) = document["paths"].as_object() {
        for (path, item) in paths {
            for (method, operation) in item.as_object().into_iter().flatten() {
                let tag = text(&operation["tags"][0]);
                if let Some((_, list)) = groups.iter_mut().find(|(name, _)| *name == tag) {
                    list.push((method.to_ascii_uppercase(), path.as_str(), operation));
                }
            }
        }
    }
    let rank = |method: &str, path: &str| {
        order
            .iter()
            .position(|(m, p)| m == method && p == path)
            .unwrap_or(usize::MAX)
    };
    for (_, list) in &mut groups {
        list.sort_by_key(|(method, path, _)| rank(method, path));
    }
    groups
}

fn operation_html(
    html: &mut String,
    document: &Value,
    method: &str,
    path: &str,
    operation: &Value,
) {
    let id = text(&operation["operationId"]);
    let _ = write!(
        html,
        "<article class=\"operation\" id=\"op-{anchor}\"><h3><span class=\"method {class}\">{method}</span> \
         <code class=\"path\">{path}</code></h3><p class=\"summary\">{summary}</p>\
         <p class=\"description\">{description}</p>",
        anchor = anchor(&id),
        class = method.to_ascii_lowercase(),
        method = escape(method),
        path = escape(path),
        summary = escape(&text(&operation["summary"])),
        description = inline_markdown(&text(&operation["description"])).replace("\n\n", "</p><p>"),
    );
    if let Some(parameters) = operation["parameters"].as_array() {
        html.push_str(
            "<table class=\"parameters\"><tr><th>parameter</th><th>in</th><th>schema</th></tr>",
        );
        for parameter in parameters {
            let (name, place, schema) = if parameter.get("$ref").is_some() {
                (
                    "Idempotency-Key".to_owned(),
                    "header".to_owned(),
                    "UUID, required".to_owned(),
                )
            } else {
                (
                    text(&parameter["name"]),
                    text(&parameter["in"]),
                    compact(&parameter["schema"]),
                )
            };
            let required = if parameter["required"] == Value::Bool(false) {
                ""
            } else {
                " *"
            };
            let _ = write!(
                html,
                "<tr><td><code>{}</code>{required}</td><td>{}</td><td><code>{}</code></td></tr>",
                escape(&name),
                escape(&place),
                escape(&schema)
            );
        }
        html.push_str("</table>");
    }
    if let Some(content) = operation["requestBody"]["content"].as_object() {
        for (media, body) in content {
            // A named body is shown itself, not as a bare `$ref`.
            let reference = body["schema"]["$ref"].as_str();
            let named = reference
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
                .map(|name| (name, &document["components"]["schemas"][name]));
            let (title, schema) = match named {
                Some((name, schema)) => (
                    format!(
                        " · <a href=\"#schema-{}\">{}</a>",
                        anchor(name),
                        escape(name)
                    ),
                    schema,
                ),
                None => (String::new(), &body["schema"]),
            };
            let _ = write!(
                html,
                "<details open><summary>Request body <code>{}</code>{title}</summary><pre>{}</pre></details>",
                escape(media),
                schema_html(schema)
            );
        }
    }
    html.push_str("<table class=\"responses\"><tr><th>status</th><th>meaning</th></tr>");
    if let Some(responses) = operation["responses"].as_object() {
        for (status, response) in responses {
            let class = if status.starts_with('2') {
                "ok"
            } else {
                "refused"
            };
            let _ = write!(
                html,
                "<tr class=\"{class}\"><td>{}</td><td>{}</td></tr>",
                escape(status),
                inline_markdown(&text(&response["description"]))
            );
        }
    }
    let _ = write!(
        html,
        "</table><p class=\"operation-id\">operationId <code>{}</code></p></article>",
        escape(&id)
    );
}

/// A schema as indented JSON, each `$ref` to a component a link to it.
fn schema_html(schema: &Value) -> String {
    let pretty = serde_json::to_string_pretty(schema).unwrap_or_default();
    let escaped = escape(&pretty);
    let marker = "&quot;#/components/schemas/";
    let mut out = String::with_capacity(escaped.len());
    let mut rest = escaped.as_str();
    while let Some(start) = rest.find(marker) {
        out.push_str(&rest[..start]);
        let after = &rest[start + marker.len()..];
        let end = after.find("&quot;").unwrap_or(after.len());
        let name = &after[..end];
        let _ = write!(
            out,
            "&quot;<a href=\"#schema-{}\">#/components/schemas/{name}</a>&quot;",
            anchor(name)
        );
        rest = after.get(end + "&quot;".len()..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

/// A parameter's schema in one line (`string (uuid)`).
fn compact(schema: &Value) -> String {
    match (schema.get("type"), schema.get("format")) {
        (Some(kind), Some(format)) => format!("{} ({})", plain(kind), plain(format)),
        (Some(kind), None) => plain(kind),
        _ => serde_json::to_string(schema).unwrap_or_default(),
    }
}

fn plain(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

/// `**bold**` and `` `code` `` of the document's descriptions, escaped.
fn inline_markdown(source: &str) -> String {
    let escaped = escape(source);
    let mut out = String::with_capacity(escaped.len());
    let mut code = false;
    let mut bold = false;
    let mut chars = escaped.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '`' => {
                out.push_str(if code { "</code>" } else { "<code>" });
                code = !code;
            }
            '*' if !code && chars.peek() == Some(&'*') => {
                chars.next();
                out.push_str(if bold { "</strong>" } else { "<strong>" });
                bold = !bold;
            }
            other => out.push(other),
        }
    }
    if code {
        out.push_str("</code>");
    }
    if bold {
        out.push_str("</strong>");
    }
    out
}

fn anchor(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

fn escape(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    for c in source.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

const STYLE: &str = "\
:root{--ink:#1d2330;--muted:#5b6475;--line:#e3e6ec;--bg:#f7f8fa;--accent:#2f5bd3}\
*{box-sizing:border-box}body{margin:0;display:flex;font:15px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif;color:var(--ink);background:var(--bg)}\
nav{position:sticky;top:0;height:100vh;overflow:auto;width:260px;flex:none;padding:20px;background:#fff;border-right:1px solid var(--line)}\
nav h1{font-size:18px;margin:0}nav ul{list-style:none;padding:0}nav li{margin:4px 0}nav a{color:var(--ink);text-decoration:none}\
nav a:hover{color:var(--accent)}.count{color:var(--muted);font-size:12px}.version{color:var(--muted);margin:2px 0 12px}\
main{flex:1;min-width:0;padding:24px 40px;max-width:1100px}h2{margin-top:40px;border-bottom:2px solid var(--line);padding-bottom:6px}\
.operation,.schema{background:#fff;border:1px solid var(--line);border-radius:8px;padding:14px 18px;margin:14px 0}\
.operation h3{margin:0;font-size:16px;display:flex;gap:10px;align-items:center}.path{font-size:15px}\
.method{font:600 12px/1 ui-monospace,monospace;padding:5px 8px;border-radius:4px;color:#fff;background:#6b7280}\
.get{background:#1f8a4c}.post{background:#2f5bd3}.put,.patch{background:#b26b00}.delete{background:#b42318}\
.summary{font-weight:600;margin:8px 0 2px}.description{color:var(--muted);margin:2px 0 8px}\
table{border-collapse:collapse;width:100%;margin:8px 0;font-size:13px}th,td{text-align:left;padding:5px 8px;border-top:1px solid var(--line);vertical-align:top}\
th{color:var(--muted);font-weight:500}tr.ok td:first-child{color:#1f8a4c;font-weight:600}tr.refused td:first-child{color:#b42318;font-weight:600}\
pre{background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:10px;overflow:auto;font-size:12px;max-height:420px}\
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.92em}details summary{cursor:pointer;color:var(--muted);margin:6px 0}\
.operation-id{color:var(--muted);font-size:12px;margin:4px 0 0}a{color:var(--accent)}";
