//! Reference data seeded by the migrations agrees with the domain crate.

use std::collections::BTreeSet;

use workstream_domain::currency::ISO_4217_CODES;
use workstream_store::testing::TestDatabase;

#[tokio::test]
async fn the_seeded_currency_codes_are_the_domains_iso_4217_list() {
    let db = TestDatabase::create().await.unwrap();
    let seeded: BTreeSet<String> = sqlx::query_scalar("SELECT code FROM iso_4217_currency_codes")
        .fetch_all(db.pool())
        .await
        .unwrap()
        .into_iter()
        .collect();
    let domain: BTreeSet<String> = ISO_4217_CODES.iter().map(|c| c.to_string()).collect();
    assert_eq!(seeded, domain);
}
