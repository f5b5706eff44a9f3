//! Released migrations are history: every deployment records the checksum of each one it
//! applied, and refuses to start when a file no longer matches. Their SQL never changes.
//! Their comments did, once: migrations 0001-0008 and 0011 were rewritten to cite the
//! design documents in `docs/` instead of section labels of documents that are not in
//! the repository (the old labels are mapped in `docs/migration-references.md`).
//!
//! [`rebase_comment_edits`] lets a deployment that applied the earlier text move on: for
//! each version in [`COMMENT_EDITS`], a recorded checksum equal to the earlier text's is
//! replaced by the current file's. Nothing else is accepted: any other mismatch is still
//! refused by the migrator. That the edits touched comments only is a test of this
//! crate (`tests/migration_history.rs`), which also pins the SQL of every released
//! migration so that no later edit can change it.

use sqlx::PgPool;
use sqlx::migrate::MigrateError;

use crate::MIGRATOR;

/// Versions whose comments were rewritten, with the SHA-384 checksum (hex) of the text
/// deployments applied before the rewrite.
pub const COMMENT_EDITS: &[(i64, &str)] = &[
    (
        1,
        "fe92f1218187f124f0afdb36289a9f23698e55004eecb7826384a8c511e110b37559c42d8f411e9e18512ff1752e8984",
    ),
    (
        2,
        "9fde0702ddb6d580a0082e51be575902b5244f942e7539baf72584b1525d67cc5731300e245ec1b9f65328e2c5987701",
    ),
    (
        3,
        "a3cc32784cc73d3f5e103a1ba14104a9db9a62aebc97873b05951cfb8ad0f22a0ac5db32e67b2e5e34a29079cb93987b",
    ),
    (
        4,
        "76bc389bb0383647db68abcef6e8db03db2e9f799f49326ef0ef01be68cba19455ca10627da3ee9e82892cc29c44f83c",
    ),
    (
        5,
        "70c646a2f88127e0ef7b5a9bcb529ead84922de7808bbb69657c838e47228b3fa27a1c5a3e9006c59089a2dcf2711e41",
    ),
    (
        6,
        "07895b47fdfa00b0e5d091b89bb58f429eb68dd48517eafc8450036c4ec4fdfb03481faa1928b944d3e91c56cef4f8f4",
    ),
    (
        7,
        "f70f50debf64bfabd1dab991afda2100ac73e11c8f50d307323000460089cba44c48cc0d91e4efba841ba34e3658de07",
    ),
    (
        8,
        "4967fa06bbb487171e4275b248b2e96dfe1c188eb42e347d7a73858c1ab426028d09294f3febad55c1169602eca06cba",
    ),
    (
        11,
        "d04c61b6b8fde28e97db2cc362cecabeb64b41e1634e1e8771231113f715268ea4d6c1d5e04a3bebe0c14c3de3bce29a",
    ),
];

/// Moves the recorded checksums of [`COMMENT_EDITS`] from the earlier text's to the
/// current file's, where a deployment still holds the earlier one; returns how many
/// versions moved. A database that never migrated is left alone.
pub async fn rebase_comment_edits(pool: &PgPool) -> Result<u64, MigrateError> {
    let migrated =
        sqlx::query_scalar!(r#"SELECT to_regclass('_sqlx_migrations') IS NOT NULL AS "migrated!""#)
            .fetch_one(pool)
            .await?;
    if !migrated {
        return Ok(0);
    }
    let mut moved = 0;
    for (version, earlier) in COMMENT_EDITS {
        let Some(migration) = MIGRATOR.iter().find(|m| m.version == *version) else {
            continue;
        };
        let earlier = hex::decode(earlier).expect("COMMENT_EDITS holds hex");
        // Dynamic SQL: `_sqlx_migrations` is the migrator's own table, which the schema
        // the macros are checked against does not hold.
        let rows = sqlx::query(
            "UPDATE _sqlx_migrations SET checksum = $1 WHERE version = $2 AND checksum = $3",
        )
        .bind(migration.checksum.as_ref())
        .bind(version)
        .bind(earlier)
        .execute(pool)
        .await?
        .rows_affected();
        if rows > 0 {
            tracing::info!(
                version,
                "migration {version}: its comments were rewritten; the recorded checksum now \
                 follows the current text (its SQL is unchanged)"
            );
            moved += rows;
        }
    }
    Ok(moved)
}
