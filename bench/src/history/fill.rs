//! A busy year written in bulk: real rows cloned with SQL, not made through the API.
//!
//! The history part first takes one task of each shape through the product (a task
//! accepted after a full cycle, with its packet, checker run and results, review,
//! acceptance, contribution, payment, reputation, jobs and audit events; a task left in
//! the ready queue; a cancelled one; a draft). Those tasks and every row that hangs off
//! them are the *templates*. The fill then copies each template family many times with
//! `INSERT ... SELECT ... FROM generate_series`, one statement per table:
//!
//! * Every id a family owns becomes a function of the id and the copy (the copy's
//!   moment in the year, as a UUIDv7 carries it, then bits of `md5(id || '/' || copy)`),
//!   the same for the row and for every reference to it, so a copy is a consistent
//!   family of its own.
//! * Copies are spread over [`PROJECTS`] projects (clones of the template project and
//!   its guides); every [`HOME_EVERY`]th copy stays in the template project, which is
//!   the one the part measures, so that project holds a tenth of the year.
//! * People likewise: every [`REAL_ACTOR_EVERY`]th copy keeps the template's real people
//!   (the ones the part measures as), the rest go to [`ACTOR_CLONES`] clones of them.
//! * Every timestamp moves back by the copy's place in the year.
//! * A text column under a unique index that no copied id makes unique (a slug, a job's
//!   idempotency key) gets `-<copy>` appended.
//!
//! The fill runs with `session_replication_role = replica` (as a restore does), so the
//! row guards and foreign-key triggers do not run; every CHECK constraint and unique
//! index still holds. The cloned audit events are then sealed as the sealer would
//! seal them (ledger positions, the Merkle tree's nodes, a checkpoint signed with the
//! server's key), so the ledger the measured reads prove against has the year's size.
//! The clones keep their template's digests: this database is for timing, not for
//! `audit verify`.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use anyhow::{Context, ensure};
use sqlx::{Connection, PgConnection};
use uuid::Uuid;
use workstream_domain::merkle::{self, Frontier, Hash};
use workstream_store::audit::{SigningKey, seal};

/// Projects the year's tasks are spread over (the template project and its clones).
pub const PROJECTS: i64 = 200;
/// Every this many copies, one stays in the template (measured) project.
pub const HOME_EVERY: i64 = 10;
/// Clones of each template person.
pub const ACTOR_CLONES: i64 = 999;
/// Every this many copies, one keeps the template's real people.
pub const REAL_ACTOR_EVERY: i64 = 100;
/// The year the copies are spread over, in milliseconds.
const YEAR_MS: i64 = 365 * 86_400_000;

/// Tables whose rows belong to a task's history, in no particular order (the fill runs
/// without foreign-key triggers). `jobs` is handled apart: its rows name their task
/// only inside the payload.
const HISTORY_TABLES: [&str; 24] = [
    "tasks",
    "task_assignments",
    "submission_bundle_admissions",
    "submissions",
    "packet_files",
    "checker_runs",
    "checker_results",
    "review_queue_entries",
    "review_leases",
    "review_packet_manifests",
    "reviews",
    "review_findings",
    "revision_context_preparations",
    "submission_finding_responses",
    "finding_resolutions",
    "final_acceptances",
    "contribution_records",
    "compensation_awards",
    "compensation_fulfillment_receipts",
    "compensation_status_projections",
    "award_delivery_outbox",
    "local_adapter_deliveries",
    "reputation_events",
    "audit_events",
];

/// One template task and how many copies of its family the year holds.
#[derive(Debug, Clone, Copy)]
pub struct Family {
    /// What the template is (`accepted`, `ready`, ...), for the log.
    pub name: &'static str,
    /// The template task.
    pub task: Uuid,
    /// Copies.
    pub copies: i64,
}

/// What the fill wrote.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Filled {
    /// Rows written per table.
    pub rows: HashMap<String, u64>,
    /// Seconds per step.
    pub seconds: Vec<(String, f64)>,
    /// The ledger's size after the fill.
    pub ledger_size: u64,
}

/// How a copied `uuid` column is rewritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// An id the family owns: a new one per copy.
    Owned,
    /// The template project: spread over the projects.
    Project,
    /// One of the template project's guides: the same guide of the copy's project.
    Guide,
    /// A person: kept or one of their clones.
    Actor,
    /// Shared (terms, components, bindings): kept.
    Keep,
}

/// A column of a table being copied.
struct Column {
    name: String,
    data_type: String,
}

/// Fills `url`'s database with `families` around `home` (the template project), and
/// seals the cloned audit events with `key`.
pub async fn fill(
    url: &str,
    home: Uuid,
    families: &[Family],
    key: &SigningKey,
) -> anyhow::Result<Filled> {
    let mut conn = PgConnection::connect(url).await?;
    sqlx::query("SET session_replication_role = replica")
        .execute(&mut conn)
        .await?;
    sqlx::query("SET maintenance_work_mem = '512MB'")
        .execute(&mut conn)
        .await?;
    let mut filled = Filled::default();

    let actors: HashSet<Uuid> = sqlx::query_scalar("SELECT id FROM actor_profiles")
        .fetch_all(&mut conn)
        .await?
        .into_iter()
        .collect();
    let guides: HashSet<Uuid> =
        sqlx::query_scalar("SELECT id FROM project_guides WHERE project_id = $1")
            .bind(home)
            .fetch_all(&mut conn)
            .await?
            .into_iter()
            .collect();
    let context = Spread {
        now_ms: chrono::Utc::now().timestamp_millis(),
        home,
        guides,
        actors,
    };

    let started = Instant::now();
    let mut people = HashSet::new();
    for family in families {
        let step = Instant::now();
        let people_of = clone_family(&mut conn, &context, family, &mut filled).await?;
        people.extend(people_of);
        let seconds = step.elapsed().as_secs_f64();
        println!("    {} x{}: {seconds:.0} s", family.name, family.copies);
        filled
            .seconds
            .push((format!("family {}", family.name), seconds));
    }
    let step = Instant::now();
    clone_projects_and_people(&mut conn, home, &people, &mut filled).await?;
    filled
        .seconds
        .push(("projects and people".into(), step.elapsed().as_secs_f64()));

    let step = Instant::now();
    filled.ledger_size = seal_clones(&mut conn, key, &mut filled).await?;
    let seconds = step.elapsed().as_secs_f64();
    println!(
        "    ledger of {} events: {seconds:.0} s",
        filled.ledger_size
    );
    filled.seconds.push(("ledger".into(), seconds));

    let step = Instant::now();
    sqlx::query("VACUUM (ANALYZE)").execute(&mut conn).await?;
    sqlx::query("CHECKPOINT").execute(&mut conn).await?;
    filled.seconds.push((
        "vacuum, analyze, checkpoint".into(),
        step.elapsed().as_secs_f64(),
    ));
    filled
        .seconds
        .push(("total".into(), started.elapsed().as_secs_f64()));
    conn.close().await?;
    Ok(filled)
}

/// What the copies are spread around.
struct Spread {
    /// When the year ends (the fill's start), in Unix milliseconds.
    now_ms: i64,
    home: Uuid,
    guides: HashSet<Uuid>,
    actors: HashSet<Uuid>,
}

/// Copies one family: every row of [`HISTORY_TABLES`] reachable from its task by ids,
/// and its finished jobs. Returns the people its rows name.
async fn clone_family(
    conn: &mut PgConnection,
    context: &Spread,
    family: &Family,
    filled: &mut Filled,
) -> anyhow::Result<HashSet<Uuid>> {
    // The ids the family owns: its task and, until nothing new appears, every row that
    // names an id it owns.
    let mut owned: HashSet<Uuid> = HashSet::from([family.task]);
    loop {
        let before = owned.len();
        for table in HISTORY_TABLES {
            let columns = uuid_columns(conn, table).await?;
            if !columns.iter().any(|c| c == "id") {
                continue;
            }
            let ids: Vec<Uuid> = sqlx::query_scalar(&format!(
                "SELECT id FROM {table} WHERE {}",
                any_of(&columns)
            ))
            .bind(owned.iter().copied().collect::<Vec<_>>())
            .fetch_all(&mut *conn)
            .await?;
            owned.extend(ids);
        }
        if owned.len() == before {
            break;
        }
    }
    // Jobs name their subjects in the payload; only finished ones are copied (a copied
    // waiting job would be worked).
    let patterns: Vec<String> = owned.iter().map(|id| format!("%{id}%")).collect();
    let jobs: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM jobs WHERE payload::text LIKE ANY($1) \
           AND state IN ('completed', 'discarded', 'cancelled')",
    )
    .bind(&patterns)
    .fetch_all(&mut *conn)
    .await?;
    let unfinished: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM jobs WHERE payload::text LIKE ANY($1) \
           AND state NOT IN ('completed', 'discarded', 'cancelled')",
    )
    .bind(&patterns)
    .fetch_one(&mut *conn)
    .await?;
    ensure!(
        unfinished == 0,
        "the {} template still has {unfinished} unfinished jobs",
        family.name
    );
    owned.extend(jobs.iter().copied());
    let owned_list: Vec<Uuid> = owned.iter().copied().collect();

    let mut people = HashSet::new();
    for table in HISTORY_TABLES.iter().copied().chain(["jobs"]) {
        let uuids = uuid_columns(conn, table).await?;
        let filter = if table == "jobs" {
            "id = ANY($1)".to_owned()
        } else {
            any_of(&uuids)
        };
        let mut kinds = HashMap::new();
        for column in &uuids {
            let values: Vec<Option<Uuid>> = sqlx::query_scalar(&format!(
                "SELECT DISTINCT {column} FROM {table} WHERE {filter}"
            ))
            .bind(&owned_list)
            .fetch_all(&mut *conn)
            .await?;
            let values: Vec<Uuid> = values.into_iter().flatten().collect();
            let kind = if values.iter().any(|v| owned.contains(v)) {
                Kind::Owned
            } else if values.contains(&context.home) {
                Kind::Project
            } else if values.iter().any(|v| context.guides.contains(v)) {
                Kind::Guide
            } else if values.iter().any(|v| context.actors.contains(v)) {
                people.extend(values.iter().filter(|v| context.actors.contains(v)));
                Kind::Actor
            } else {
                Kind::Keep
            };
            kinds.insert(column.clone(), kind);
        }
        let distinct: HashSet<String> = kinds
            .iter()
            .filter(|(_, k)| **k == Kind::Owned)
            .map(|(c, _)| c.clone())
            .collect();
        let suffixed = needs_suffix(conn, table, &distinct).await?;
        let copies = family.copies;
        // Time-ordered like the product's UUIDv7 ids: the copy's moment in the year,
        // then bits of the hash.
        let owned_id = |c: &str| {
            format!(
                "(lpad(to_hex(({} - n::float8 / {copies} * {YEAR_MS})::bigint), 12, '0') \
                  || '7' || substr(md5({c}::text || '/' || n), 14))::uuid",
                context.now_ms
            )
        };
        let written = copy_rows(conn, table, &filter, &owned_list, copies, |column| {
            let c = &column.name;
            match column.data_type.as_str() {
                // The task an event names in its payload (what a trail looks up) is the
                // copy's task.
                "jsonb" if table == "audit_events" && c == "payload" => format!(
                    "CASE WHEN payload ? 'task_id' \
                     THEN jsonb_set(payload, '{{task_id}}', to_jsonb(({})::text)) \
                     ELSE payload END",
                    owned_id("(payload ->> 'task_id')")
                ),
                "uuid" => match kinds.get(c).copied().unwrap_or(Kind::Keep) {
                    Kind::Owned => owned_id(c),
                    Kind::Project | Kind::Guide => format!(
                        "CASE WHEN n % {HOME_EVERY} = 0 THEN {c} \
                         ELSE md5({c}::text || '/p' || (1 + n % {}))::uuid END",
                        PROJECTS - 1
                    ),
                    Kind::Actor => format!(
                        "CASE WHEN n % {REAL_ACTOR_EVERY} = 0 THEN {c} \
                         ELSE md5({c}::text || '/a' || (1 + n % {ACTOR_CLONES}))::uuid END"
                    ),
                    Kind::Keep => c.clone(),
                },
                "timestamp with time zone" => {
                    format!("{c} - (n::float8 / {copies} * {YEAR_MS}) * interval '1 millisecond'")
                }
                _ if suffixed.contains(c) => format!("{c} || '-' || n"),
                _ => c.clone(),
            }
        })
        .await?;
        *filled.rows.entry(table.to_owned()).or_default() += written;
    }
    Ok(people)
}

/// The clones the copies were spread to: [`PROJECTS`]` - 1` projects with the template
/// project's guides, and [`ACTOR_CLONES`] clones of each person the families name, with
/// their identity links and project grants.
async fn clone_projects_and_people(
    conn: &mut PgConnection,
    home: Uuid,
    people: &HashSet<Uuid>,
    filled: &mut Filled,
) -> anyhow::Result<()> {
    let projects = [home];
    let new_id = |c: &str, tag: &str| format!("md5({c}::text || '/{tag}' || n)::uuid");
    let distinct = HashSet::from(["id".to_owned()]);
    let suffixed = needs_suffix(conn, "projects", &distinct).await?;
    let written = copy_rows(
        conn,
        "projects",
        "id = ANY($1)",
        &projects,
        PROJECTS - 1,
        |c| match c.name.as_str() {
            "id" => new_id("id", "p"),
            name if suffixed.contains(name) => format!("{name} || '-' || n"),
            name => name.to_owned(),
        },
    )
    .await?;
    filled.rows.insert("projects".into(), written);

    let distinct = HashSet::from(["id".to_owned(), "project_id".to_owned()]);
    let suffixed = needs_suffix(conn, "project_guides", &distinct).await?;
    let written = copy_rows(
        conn,
        "project_guides",
        "project_id = ANY($1)",
        &projects,
        PROJECTS - 1,
        |c| match c.name.as_str() {
            "id" => new_id("id", "p"),
            "project_id" => new_id("project_id", "p"),
            name if suffixed.contains(name) => format!("{name} || '-' || n"),
            name => name.to_owned(),
        },
    )
    .await?;
    filled.rows.insert("project_guides".into(), written);

    let people: Vec<Uuid> = people.iter().copied().collect();
    let distinct = HashSet::from(["id".to_owned()]);
    let suffixed = needs_suffix(conn, "actor_profiles", &distinct).await?;
    let written = copy_rows(
        conn,
        "actor_profiles",
        "id = ANY($1)",
        &people,
        ACTOR_CLONES,
        |c| match c.name.as_str() {
            "id" => new_id("id", "a"),
            name if suffixed.contains(name) => format!("{name} || '-' || n"),
            name => name.to_owned(),
        },
    )
    .await?;
    filled.rows.insert("actor_profiles".into(), written);

    // Each clone signs in and holds the template person's grants in the template
    // project, so the tables every request reads (identity links, grants) have the
    // year's size too.
    let written = copy_rows(
        conn,
        "actor_identity_links",
        "actor_profile_id = ANY($1)",
        &people,
        ACTOR_CLONES,
        |c| match c.name.as_str() {
            "id" => new_id("id", "a"),
            "actor_profile_id" => new_id("actor_profile_id", "a"),
            // Real subjects end in `-<number>` too (`...-submitter-1`).
            "subject" => "subject || '#' || n".to_owned(),
            name => name.to_owned(),
        },
    )
    .await?;
    filled.rows.insert("actor_identity_links".into(), written);
    let written = copy_rows(
        conn,
        "project_role_grants",
        "actor_id = ANY($1) AND status = 'active'",
        &people,
        ACTOR_CLONES,
        |c| match c.name.as_str() {
            "id" => new_id("id", "a"),
            "actor_id" => new_id("actor_id", "a"),
            name => name.to_owned(),
        },
    )
    .await?;
    filled.rows.insert("project_role_grants".into(), written);
    Ok(())
}

/// Copies the rows of `table` matching `filter` (`$1` in it is `ids`) `copies` times,
/// each column written as `expression` says (`n` is the copy, from 1): the rows
/// written.
async fn copy_rows(
    conn: &mut PgConnection,
    table: &str,
    filter: &str,
    ids: &[Uuid],
    copies: i64,
    expression: impl Fn(&Column) -> String,
) -> anyhow::Result<u64> {
    let columns: Vec<Column> = sqlx::query_as::<_, (String, String)>(
        "SELECT column_name::text, data_type::text FROM information_schema.columns \
          WHERE table_schema = 'public' AND table_name = $1 AND is_generated = 'NEVER' \
          ORDER BY ordinal_position",
    )
    .bind(table)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|(name, data_type)| Column { name, data_type })
    .collect();
    let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    let expressions: Vec<String> = columns.iter().map(&expression).collect();
    // The template rows are read once (materialized), not once per copy: a rescan
    // would also walk the copies already written.
    let statement = format!(
        "WITH template AS MATERIALIZED (SELECT * FROM {table} WHERE {filter}) \
         INSERT INTO {table} ({}) SELECT {} FROM template CROSS JOIN generate_series(1, {copies}) AS n",
        names.join(", "),
        expressions.join(", ")
    );
    let done = sqlx::query(&statement)
        .bind(ids)
        .execute(&mut *conn)
        .await
        .with_context(|| format!("copying {table}: {statement}"))?;
    Ok(done.rows_affected())
}

/// The `uuid` columns of `table`.
async fn uuid_columns(conn: &mut PgConnection, table: &str) -> anyhow::Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT column_name::text FROM information_schema.columns \
          WHERE table_schema = 'public' AND table_name = $1 AND data_type = 'uuid' \
          ORDER BY ordinal_position",
    )
    .bind(table)
    .fetch_all(&mut *conn)
    .await?)
}

/// `c1 = ANY($1) OR c2 = ANY($1) ...`
fn any_of(columns: &[String]) -> String {
    columns
        .iter()
        .map(|c| format!("{c} = ANY($1)"))
        .collect::<Vec<_>>()
        .join(" OR ")
}

/// The text columns of `table` under a unique index that none of the `distinct`
/// columns (new per copy) is part of: copies would collide on them.
async fn needs_suffix(
    conn: &mut PgConnection,
    table: &str,
    distinct: &HashSet<String>,
) -> anyhow::Result<HashSet<String>> {
    let indexes: Vec<(Vec<String>, Vec<String>)> = sqlx::query_as(
        "SELECT array_agg(a.attname::text), array_agg(format_type(a.atttypid, a.atttypmod)) \
           FROM pg_index i \
           JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) \
          WHERE i.indrelid = $1::regclass AND i.indisunique \
          GROUP BY i.indexrelid",
    )
    .bind(table)
    .fetch_all(&mut *conn)
    .await?;
    let mut suffixed = HashSet::new();
    for (columns, types) in indexes {
        if columns.iter().any(|c| distinct.contains(c)) {
            continue;
        }
        for (column, data_type) in columns.into_iter().zip(types) {
            if data_type == "text" {
                suffixed.insert(column);
            }
        }
    }
    Ok(suffixed)
}

/// Gives every audit event in neither the ledger nor the sealer's queue (the clones) a
/// ledger position, stores the tree's new nodes level by level, and signs a checkpoint
/// of the grown tree (recorded as published: its object is not written). The ledger's
/// new size.
async fn seal_clones(
    conn: &mut PgConnection,
    key: &SigningKey,
    filled: &mut Filled,
) -> anyhow::Result<u64> {
    let mut tx = conn.begin().await?;
    let unsealed: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_unsealed")
        .fetch_one(&mut *tx)
        .await?;
    ensure!(
        unsealed == 0,
        "seal the product's own events before the fill ({unsealed} wait)"
    );
    let size: i64 = sqlx::query_scalar("SELECT coalesce(max(tree_size), 0) FROM audit_checkpoints")
        .fetch_one(&mut *tx)
        .await?;
    let ledger: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_ledger")
        .fetch_one(&mut *tx)
        .await?;
    ensure!(
        ledger == size,
        "the ledger holds {ledger} events, its last checkpoint {size}"
    );
    let added = sqlx::query(
        "INSERT INTO audit_ledger (leaf_index, event_id) \
         SELECT $1 - 1 + row_number() OVER (ORDER BY occurred_at, id), id FROM audit_events e \
          WHERE NOT EXISTS (SELECT 1 FROM audit_ledger l WHERE l.event_id = e.id)",
    )
    .bind(size)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    filled.rows.insert("audit_ledger".into(), added);
    let grown = size as u64 + added;

    // Level 0: the leaves, SHA-256(0x00 || digest).
    let mut nodes = sqlx::query(
        "INSERT INTO audit_tree_nodes (level, index, hash) \
         SELECT 0, l.leaf_index, sha256('\\x00'::bytea || decode(substr(e.digest, 8), 'hex')) \
           FROM audit_ledger l JOIN audit_events e ON e.id = l.event_id \
          WHERE l.leaf_index >= $1",
    )
    .bind(size)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    // Each level up: the perfect subtrees the new leaves complete, SHA-256(0x01 || left
    // || right), from the pair that holds the first new node of the level below.
    for level in 0..62i16 {
        if grown >> (level + 1) == 0 {
            break;
        }
        let first = ((size as u64 >> level) & !1) as i64;
        nodes += sqlx::query(
            "INSERT INTO audit_tree_nodes (level, index, hash) \
             SELECT $1 + 1, l.index / 2, sha256('\\x01'::bytea || l.hash || r.hash) \
               FROM audit_tree_nodes l \
               JOIN audit_tree_nodes r ON r.level = $1 AND r.index = l.index + 1 \
              WHERE l.level = $1 AND l.index >= $2 AND l.index % 2 = 0 \
             ON CONFLICT DO NOTHING",
        )
        .bind(level)
        .bind(first)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    filled.rows.insert("audit_tree_nodes".into(), nodes);

    let wanted = merkle::frontier(grown);
    let mut hashes: Vec<Hash> = Vec::with_capacity(wanted.len());
    for node in &wanted {
        let hash: Vec<u8> =
            sqlx::query_scalar("SELECT hash FROM audit_tree_nodes WHERE level = $1 AND index = $2")
                .bind(i16::from(node.level))
                .bind(node.index as i64)
                .fetch_one(&mut *tx)
                .await
                .with_context(|| format!("the tree's node {}/{}", node.level, node.index))?;
        hashes.push(
            hash.try_into()
                .map_err(|_| anyhow::anyhow!("a node hash of 32 bytes"))?,
        );
    }
    let root = Frontier::resume(grown, &hashes)
        .and_then(|f| f.root())
        .context("the grown tree's root")?;
    let signed = key.sign(grown, size as u64, root, chrono::Utc::now());
    seal::insert_checkpoint(&mut tx, &signed).await?;
    sqlx::query("INSERT INTO audit_checkpoint_publications (tree_size) VALUES ($1)")
        .bind(signed.tree_size as i64)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(grown)
}
