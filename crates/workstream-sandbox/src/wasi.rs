//! The per-run WASI context: what a checker can reach while it runs.
//!
//! Granted: the packet, read-only, at `/packet`; clocks and random numbers that are
//! fixed per run. Denied: the network (no TCP, UDP or name lookup), environment
//! variables, arguments, stdin (closed), and every other path. stdout and stderr are
//! discarded: findings are the only output, and a chatty guest must not fill the
//! host's memory or change the result. (Rust's `println!` panics when a write fails,
//! so a bounded pipe that errors when full would turn logging into a crash.)
//!
//! Why fixed clocks and seeded random: a stored run must be replayable, so a checker
//! that reads the time or draws random numbers must see the same values on replay.
//! The wall clock reads [`FIXED_WALL_CLOCK`], the monotonic clock stays at zero, and
//! both generators are ChaCha12 seeded from the request digest.

use std::path::Path;
use std::time::Duration;

use rand::SeedableRng as _;
use rand::rngs::StdRng;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{
    FsPerms, HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView,
};
use workstream_domain::Digest;

use crate::limits::RunLimiter;

/// Where the packet appears inside the guest.
pub const PACKET_MOUNT: &str = "/packet";

/// What the wall clock says during every run: 2000-01-01T00:00:00Z. A constant, not
/// the run's real time, so the same request gives the same report.
pub const FIXED_WALL_CLOCK: Duration = Duration::from_secs(946_684_800);

/// Most bytes one `get-random-bytes` call may ask for (the default is 64 MiB, which a
/// guest could use to make the host allocate).
const MAX_RANDOM_BYTES: u64 = 1 << 20;

/// The store data of one run.
pub(crate) struct RunState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: RunLimiter,
}

impl WasiView for RunState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl RunState {
    /// A state without a packet: for `info`, which must not depend on any input.
    pub(crate) fn without_packet(seed: &Digest, memory_bytes: u64) -> RunState {
        RunState {
            wasi: base_builder(seed).build(),
            table: ResourceTable::new(),
            limiter: RunLimiter::new(memory_bytes),
        }
    }

    /// A state with `packet_dir` preopened read-only at [`PACKET_MOUNT`].
    pub(crate) fn for_packet(
        seed: &Digest,
        packet_dir: &Path,
        memory_bytes: u64,
    ) -> wasmtime::Result<RunState> {
        let mut builder = base_builder(seed);
        // Read-only for the directory and every file in it: no create, write, rename
        // or delete. Path resolution is confined to the directory by cap-std, so
        // `..`, absolute paths and symlinks cannot leave it.
        builder.preopened_dir(packet_dir, PACKET_MOUNT, FsPerms::ReadOnly)?;
        Ok(RunState {
            wasi: builder.build(),
            table: ResourceTable::new(),
            limiter: RunLimiter::new(memory_bytes),
        })
    }
}

fn base_builder(seed: &Digest) -> WasiCtxBuilder {
    let mut b = WasiCtx::builder();
    // Defaults already give: no env, no args, stdin closed, stdout/stderr discarded,
    // no preopens. Network: say "no" explicitly instead of relying on the default
    // address check.
    b.allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .socket_addr_check(|_, _| Box::pin(async { false }));
    b.wall_clock(FixedWallClock)
        .monotonic_clock(FixedMonotonicClock);
    b.secure_random(StdRng::from_seed(derive(seed, b"random")))
        .insecure_random(StdRng::from_seed(derive(seed, b"insecure-random")))
        .insecure_random_seed(u128::from_le_bytes(
            derive(seed, b"insecure-seed")[..16]
                .try_into()
                .expect("16 bytes"),
        ))
        .max_random_size(MAX_RANDOM_BYTES);
    b
}

/// A 32-byte seed for one purpose, derived from the run's digest (domain-separated so
/// the generators are independent).
fn derive(seed: &Digest, purpose: &[u8]) -> [u8; 32] {
    const PREFIX: &[u8] = b"workstream.sandbox.seed/";
    // `PREFIX purpose 0x00 seed`, on the stack (purposes are short constants).
    let mut input = [0u8; 128];
    let len = PREFIX.len() + purpose.len() + 1 + 32;
    assert!(len <= input.len(), "a seed purpose is a short constant");
    input[..PREFIX.len()].copy_from_slice(PREFIX);
    input[PREFIX.len()..PREFIX.len() + purpose.len()].copy_from_slice(purpose);
    input[len - 32..len].copy_from_slice(seed.as_bytes());
    *Digest::of_bytes(&input[..len]).as_bytes()
}

struct FixedWallClock;

impl HostWallClock for FixedWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn now(&self) -> Duration {
        FIXED_WALL_CLOCK
    }
}

struct FixedMonotonicClock;

impl HostMonotonicClock for FixedMonotonicClock {
    fn resolution(&self) -> u64 {
        1
    }

    fn now(&self) -> u64 {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_are_the_digest_of_prefix_purpose_nul_and_run_digest() {
        let seed = Digest::of_bytes(b"request");
        for purpose in [&b"random"[..], b"insecure-random", b"insecure-seed", b""] {
            let mut input = b"workstream.sandbox.seed/".to_vec();
            input.extend_from_slice(purpose);
            input.push(0);
            input.extend_from_slice(seed.as_bytes());
            assert_eq!(&derive(&seed, purpose), Digest::of_bytes(&input).as_bytes());
        }
    }
}
