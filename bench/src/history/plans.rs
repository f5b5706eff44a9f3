//! The query plans behind one operation, as PostgreSQL ran them: `auto_explain` (loaded
//! by the bench cluster, off until asked) logs every statement's plan with its actual
//! rows and buffers while the operation runs, and this module reads them back from the
//! server log. A plan that reads a history table sequentially is a cost that grows with
//! the year; the buffers an operation touches, fresh against year-full, say how much.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::cluster::BENCH_QUERY;

/// Tables that grow with history: a sequential scan of one is a finding.
const HISTORY_TABLES: [&str; 18] = [
    "tasks",
    "task_assignments",
    "submission_bundle_admissions",
    "submissions",
    "packet_files",
    "checker_runs",
    "checker_results",
    "review_queue_entries",
    "review_leases",
    "reviews",
    "final_acceptances",
    "contribution_records",
    "compensation_awards",
    "reputation_events",
    "audit_events",
    "audit_ledger",
    "audit_tree_nodes",
    "jobs",
];

/// The plans of one operation.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Plans {
    /// Statements whose plans were logged (nested ones, run by triggers and
    /// functions, included).
    pub statements: usize,
    /// Shared buffers the statements touched (hit or read), summed over their plans.
    pub buffers: u64,
    /// Sequential scans of history tables: `table (rows read)`.
    pub history_scans: Vec<String>,
    /// The statements touching the most buffers: `buffers  query`, then the plan in
    /// one line.
    pub heaviest: Vec<String>,
}

/// The `auto_explain` settings a capture turns on: every statement, with its actual
/// rows and buffers (not its timings, which cost the most), nested ones included.
const SETTINGS: [(&str, &str); 6] = [
    ("auto_explain.log_min_duration", "0"),
    ("auto_explain.log_analyze", "on"),
    ("auto_explain.log_buffers", "on"),
    ("auto_explain.log_timing", "off"),
    ("auto_explain.log_nested_statements", "on"),
    ("auto_explain.log_format", "json"),
];

/// Turns `auto_explain` on for every session of the cluster (reloading its settings).
pub async fn start(pool: &sqlx::PgPool) -> anyhow::Result<()> {
    for (name, value) in SETTINGS {
        sqlx::query(&format!("ALTER SYSTEM SET {name} = '{value}'"))
            .execute(pool)
            .await?;
    }
    reload(pool).await
}

/// Turns `auto_explain` off again.
pub async fn stop(pool: &sqlx::PgPool) -> anyhow::Result<()> {
    for (name, _) in SETTINGS {
        sqlx::query(&format!("ALTER SYSTEM RESET {name}"))
            .execute(pool)
            .await?;
    }
    reload(pool).await
}

async fn reload(pool: &sqlx::PgPool) -> anyhow::Result<()> {
    sqlx::query("SELECT pg_reload_conf()").execute(pool).await?;
    // Sessions read the new settings before their next statement; give the signal
    // time to arrive.
    tokio::time::sleep(Duration::from_millis(300)).await;
    Ok(())
}

/// Where the server log ends now.
pub fn mark(log: &Path) -> u64 {
    std::fs::metadata(log).map_or(0, |m| m.len())
}

/// The plans logged since `from`, the bench's own queries left out.
pub fn read(log: &Path, from: u64) -> anyhow::Result<Plans> {
    let text = std::fs::read(log)?;
    let text = String::from_utf8_lossy(&text[(from as usize).min(text.len())..]).into_owned();
    let mut plans = Plans::default();
    let mut weighed: Vec<(u64, String)> = Vec::new();
    for (at, _) in text.match_indices("plan:\n") {
        let rest = &text[at + "plan:\n".len()..];
        let Some(Ok(plan)) = serde_json::Deserializer::from_str(rest)
            .into_iter::<Value>()
            .next()
        else {
            continue;
        };
        let query = plan["Query Text"].as_str().unwrap_or_default();
        if query.contains(BENCH_QUERY) || query.contains("pg_stat") {
            continue;
        }
        let root = &plan["Plan"];
        let buffers = root["Shared Hit Blocks"].as_u64().unwrap_or(0)
            + root["Shared Read Blocks"].as_u64().unwrap_or(0);
        plans.statements += 1;
        plans.buffers += buffers;
        scans(root, &mut plans.history_scans);
        let query: String = query.split_whitespace().collect::<Vec<_>>().join(" ");
        let query: String = query.chars().take(160).collect();
        weighed.push((buffers, format!("{query}\n        plan: {}", shape(root))));
    }
    weighed.sort_by_key(|w| std::cmp::Reverse(w.0));
    plans.heaviest = weighed
        .into_iter()
        .take(5)
        .map(|(buffers, query)| format!("{buffers:>6}  {query}"))
        .collect();
    Ok(plans)
}

/// A plan in one line: `Node Type on relation using index (rows) [children]`.
fn shape(node: &Value) -> String {
    let mut out = node["Node Type"].as_str().unwrap_or("?").to_owned();
    if let Some(relation) = node["Relation Name"].as_str() {
        out.push_str(&format!(" on {relation}"));
    }
    if let Some(index) = node["Index Name"].as_str() {
        out.push_str(&format!(" using {index}"));
    }
    if let Some(rows) = node["Actual Rows"].as_f64() {
        out.push_str(&format!(" ({rows:.0} rows)"));
    }
    if let Some(children) = node["Plans"].as_array() {
        let children: Vec<String> = children.iter().map(shape).collect();
        out.push_str(&format!(" [{}]", children.join(", ")));
    }
    out
}

/// The sequential scans of history tables in `node` and below.
fn scans(node: &Value, found: &mut Vec<String>) {
    if node["Node Type"] == "Seq Scan"
        && let Some(table) = node["Relation Name"].as_str()
        && HISTORY_TABLES.contains(&table)
    {
        let rows = node["Actual Rows"].as_f64().unwrap_or(0.0)
            + node["Rows Removed by Filter"].as_f64().unwrap_or(0.0);
        found.push(format!("{table} ({rows:.0} rows read)"));
    }
    if let Some(children) = node["Plans"].as_array() {
        for child in children {
            scans(child, found);
        }
    }
}
