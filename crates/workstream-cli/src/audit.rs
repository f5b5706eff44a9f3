//! `workstream audit verify`.

use crate::database::Database;

/// Verifies the chains and prints one line per chain; `Ok(false)` if any is broken.
pub async fn verify(database: &Database, chain: Option<&str>) -> anyhow::Result<bool> {
    let reports = workstream_store::audit::verify(&database.pool, chain).await?;
    if reports.is_empty() {
        println!(
            "no audit chains{}",
            chain.map(|c| format!(" named {c}")).unwrap_or_default()
        );
    }
    let mut intact = true;
    for report in &reports {
        match &report.broken {
            None => println!("{}: ok ({} events)", report.chain_key, report.events),
            Some(link) => {
                intact = false;
                println!("{}: BROKEN at {link}", report.chain_key);
            }
        }
    }
    Ok(intact)
}
