//! What the crash and restart tests share: a PostgreSQL cluster under `pg_ctl`
//! ([`cluster`]), the deployment's processes ([`fleet`]), a retrying HTTP client
//! ([`client`]), a seeded RNG, and database reads that ride out a restart.
#![allow(dead_code)]

pub mod client;
pub mod cluster;
pub mod fleet;

use std::future::Future;
use std::time::{Duration, Instant};

/// xorshift64*: replayable from its seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `low..=high`.
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
}

/// `WORKSTREAM_CRASH_SEED`, or one from the clock.
pub fn seed() -> u64 {
    if let Ok(seed) = std::env::var("WORKSTREAM_CRASH_SEED") {
        return seed.parse().expect("WORKSTREAM_CRASH_SEED is a u64");
    }
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1
}

/// Whether the long (soak) variants run: `WORKSTREAM_SOAK=1`.
pub fn soak() -> bool {
    std::env::var("WORKSTREAM_SOAK").is_ok_and(|v| v == "1")
}

/// Runs a database read until it succeeds (the cluster may be restarting).
pub async fn db<T, F, Fut>(what: &str, mut read: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, sqlx::Error>>,
{
    let began = Instant::now();
    loop {
        match read().await {
            Ok(value) => return value,
            Err(err) => {
                assert!(
                    began.elapsed() < Duration::from_secs(120),
                    "{what}: the database stayed unreachable: {err}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Polls `check` until it returns `Some`, for at most `limit`.
pub async fn until<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let began = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            began.elapsed() < limit,
            "{what}: not reached within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
