//! Released migrations keep their SQL for good, and a deployment that applied an earlier
//! text of a migration whose comments (only) were rewritten still migrates.
//!
//! * The SQL of every released migration (each file with its `--` comments removed) is
//!   pinned by digest: a change to it fails here, a change to its comments does not, and
//!   a migration without its pin fails too.
//! * A database that recorded the checksums of the earlier texts of
//!   `migration_history::COMMENT_EDITS` migrates, and then records the current ones.
//! * Any other mismatch is still refused by the migrator.

use std::path::Path;

use sha2::{Digest, Sha256};
use workstream_store::migration_history::COMMENT_EDITS;
use workstream_store::testing::TestDatabase;
use workstream_store::{MIGRATOR, migrate};

/// SHA-256 (hex) of each released migration's SQL, its comments removed.
const RELEASED_SQL: &[(&str, &str)] = &[
    (
        "0001",
        "b2bf45dd0b778f85105682788ac3a113b1db24029c3250eb4b2b32aa44f1c16e",
    ),
    (
        "0002",
        "4cc92a4c10a53cf07bbd25b5e28fa679c51517225124e0065f20e57596c131ae",
    ),
    (
        "0003",
        "ed3164a486b3f8bf34a49b3bfc235b8a3475832884ee86316ec98c6fd29b46ec",
    ),
    (
        "0004",
        "990b58f1b5ab8215aefbbee87435d00d617fd7906265c7eb4a46355ea6906d10",
    ),
    (
        "0005",
        "d6ffb34d437ea8113066f0a05781921b65bba4e9df24707255eceed700554166",
    ),
    (
        "0006",
        "f11e7607d60d56e07e066448d3922bb36fbfcf3ce32edd1080e275b4508a8fdf",
    ),
    (
        "0007",
        "2338f2915f918497c7d58f7fb3914d7d758db632d9d102169ec9b7c78923043c",
    ),
    (
        "0008",
        "445f4d68f65186e37f346fba3ad47a899c6a73cbe0794de8c32856a2223e148b",
    ),
    (
        "0009",
        "51f17658eff97126ab7dada37fe74d51d792dd4f41a8a3cb8deee812e912ad87",
    ),
    (
        "0010",
        "8e4c117658ac0f23da62633a562ea046bcdbb1613b140279730ae8bc1cfd9460",
    ),
    (
        "0011",
        "63f214b2becb3fe9ff98b99c7230d6dbd2505b78b27f162c66ae4d1be3bd05d7",
    ),
    (
        "0012",
        "84205bcab9e6555bce0903743364d473a4ee5b154b488130957ebde5ea3a23b2",
    ),
    (
        "0013",
        "3126b0851bb7735b3fdc5440749fc167b65ec33cf12d24d25a6a7ba8cfaf7892",
    ),
    (
        "0014",
        "955bacb162774f27f6ba0411c4a98d1f3967537804939b940e003bc848d35741",
    ),
    (
        "0015",
        "7167d330a5d596c11059164f8154344fd76d09c5b087acbe308c46562adede9c",
    ),
    (
        "0016",
        "1008a097e7671124d18c951685bcde111be88c301b916452cd422ebee7572dc2",
    ),
    (
        "0017",
        "eb640ec101bc58741283bc25647b539a487a7ac3f916e7f28b85deb12c94a9c6",
    ),
    (
        "0018",
        "bc43eb5bc2495c0758f3349926d4e8fe5137fd378dc85100bc29925a49f7739d",
    ),
    (
        "0019",
        "fb2714c572714109ad85a95f59992e01293e82dceac4b2be0a0f995966221606",
    ),
];

/// A migration's text without its `--` comments (none of them sits in a string
/// literal: the migrations are written so).
fn sql_of(text: &str) -> String {
    text.split('\n')
        .map(|line| line.split_once("--").map_or(line, |(code, _)| code))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn released_migrations_keep_their_sql() {
    // A migration lands on main released: it is pinned here in the same commit.
    for migration in MIGRATOR.iter() {
        let version = format!("{:04}", migration.version);
        assert!(
            RELEASED_SQL.iter().any(|(pinned, _)| *pinned == version),
            "migration {version} is not pinned in RELEASED_SQL"
        );
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    for (version, pinned) in RELEASED_SQL {
        let file = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .find(|path| {
                path.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&format!("{version}_")))
            })
            .unwrap_or_else(|| panic!("migration {version} is missing"));
        let text = std::fs::read_to_string(&file).unwrap();
        let digest = hex::encode(Sha256::digest(sql_of(&text).as_bytes()));
        assert_eq!(
            &digest,
            pinned,
            "the SQL of released migration {} changed; write a new migration instead",
            file.display()
        );
    }
}

#[tokio::test]
async fn a_deployment_that_applied_the_earlier_comments_migrates() {
    let db = TestDatabase::create().await.expect("a database");
    let pool = db.pool();
    for (version, earlier) in COMMENT_EDITS {
        sqlx::query("UPDATE _sqlx_migrations SET checksum = $1 WHERE version = $2")
            .bind(hex::decode(earlier).unwrap())
            .bind(version)
            .execute(pool)
            .await
            .unwrap();
    }
    migrate(pool)
        .await
        .expect("the comment-only edits are accepted");
    for migration in MIGRATOR.iter() {
        let recorded: Vec<u8> =
            sqlx::query_scalar("SELECT checksum FROM _sqlx_migrations WHERE version = $1")
                .bind(migration.version)
                .fetch_one(pool)
                .await
                .unwrap();
        assert_eq!(
            recorded,
            migration.checksum.as_ref(),
            "{}",
            migration.version
        );
    }
    // And again: nothing left to move, nothing pending.
    migrate(pool).await.unwrap();
}

#[tokio::test]
async fn any_other_mismatch_is_still_refused() {
    let db = TestDatabase::create().await.expect("a database");
    let pool = db.pool();
    sqlx::query("UPDATE _sqlx_migrations SET checksum = $1 WHERE version = 2")
        .bind(vec![7u8; 48])
        .execute(pool)
        .await
        .unwrap();
    match migrate(pool).await {
        Err(sqlx::migrate::MigrateError::VersionMismatch(2)) => {}
        other => panic!("expected VersionMismatch(2), got {other:?}"),
    }
}
