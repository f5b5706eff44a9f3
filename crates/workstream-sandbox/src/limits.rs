//! The bounds of one run, and the store's resource limiter.
//!
//! Three independent bounds apply to every run (docs/checkers.md): fuel, a deterministic CPU
//! budget counted in WebAssembly operations; an epoch deadline, wall-clock time that
//! also covers time spent in host calls; and a memory cap enforced by [`RunLimiter`].
//! A fourth bounds what the guest hands back: the report caps, checked by
//! [`crate::outcome`] before a report is accepted.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The limits applied to a run. Recorded with every outcome so a stored run says
/// exactly what it was allowed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Linear memory a guest may have in total, in bytes (all its memories together).
    /// Going over it is `capacity_exceeded`.
    pub memory_bytes: u64,
    /// Fuel for one `check` call: roughly one unit per WebAssembly operation, so it is
    /// the same on every machine. Running out is `deadline_exceeded`.
    pub fuel: u64,
    /// Wall-clock deadline of one call, enforced by epoch interruption and backed by a
    /// host timer. Going over it is `deadline_exceeded`.
    #[serde(with = "millis")]
    pub deadline: Duration,
    /// Most findings a report may hold (the WIT contract says 256).
    pub max_findings: usize,
    /// Most bytes all strings of a report may hold together (codes, messages, paths,
    /// fixes, summary).
    pub max_report_bytes: usize,
}

impl Default for Limits {
    /// Production defaults: the upstream built-in definitions allow 5 s per checker;
    /// 128 MiB covers every Rust guest with room to spare (they use 1-2 MiB) while
    /// Python/JS components (12-18 MB of code) still fit; 5·10⁹ fuel is a few seconds
    /// of guest code, so a runaway loop usually meets the wall-clock deadline first
    /// while a run that finishes consumes the same fuel everywhere.
    fn default() -> Self {
        Limits {
            memory_bytes: 128 << 20,
            fuel: 5_000_000_000,
            deadline: Duration::from_secs(5),
            max_findings: 256,
            max_report_bytes: 1 << 20,
        }
    }
}

/// Fuel added per byte of the packet: enough for a checker to read and hash every byte
/// once (a Rust guest's SHA-256 costs about 110 fuel per byte) with room to spare.
pub const FUEL_PER_PACKET_BYTE: u64 = 160;

/// Wall-clock time added per MiB of the packet: 40 ms, so a checker that reads every
/// byte at 25 MiB/s or better finishes (fuel, not this, is the binding limit on a
/// quiet machine; this keeps a loaded one from failing a packet that fits its fuel).
pub const DEADLINE_PER_PACKET_MIB: Duration = Duration::from_millis(40);

impl Limits {
    /// These limits grown for a packet of `packet_bytes` (the sum of its files'
    /// sizes): the CPU budget and the deadline grow with what a checker is given to
    /// read, so a packet within the guide's size limits never runs out of either just
    /// for being large. Memory and report caps do not grow: a checker streams files.
    pub fn for_packet(&self, packet_bytes: u64) -> Limits {
        let mib = packet_bytes.div_ceil(1 << 20);
        Limits {
            fuel: self
                .fuel
                .saturating_add(packet_bytes.saturating_mul(FUEL_PER_PACKET_BYTE)),
            deadline: self.deadline.saturating_add(
                DEADLINE_PER_PACKET_MIB.saturating_mul(u32::try_from(mib).unwrap_or(u32::MAX)),
            ),
            ..self.clone()
        }
    }
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

/// The store's [`wasmtime::ResourceLimiter`]: caps linear memory and table growth and
/// remembers whether it refused memory.
///
/// Why not plain [`wasmtime::StoreLimits`]: a Rust guest whose allocation fails aborts,
/// which the host sees as an ordinary `unreachable` trap, indistinguishable from a
/// panic. Remembering the refusal lets the run report `capacity_exceeded` instead of
/// `implementation_unavailable`.
#[derive(Debug)]
pub(crate) struct RunLimiter {
    memory_limit: usize,
    /// Bytes of linear memory granted so far, over all memories of the instance.
    memory_granted: usize,
    table_elements: usize,
    /// Set when a memory growth was refused.
    pub(crate) memory_refused: bool,
}

/// Elements a table may grow to. Tables hold function references; real guests have a
/// few thousand at most.
const TABLE_ELEMENTS: usize = 100_000;

impl RunLimiter {
    pub(crate) fn new(memory_bytes: u64) -> RunLimiter {
        RunLimiter {
            memory_limit: usize::try_from(memory_bytes).unwrap_or(usize::MAX),
            memory_granted: 0,
            table_elements: TABLE_ELEMENTS,
            memory_refused: false,
        }
    }
}

impl wasmtime::ResourceLimiter for RunLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let extra = desired.saturating_sub(current);
        let total = self.memory_granted.saturating_add(extra);
        if total > self.memory_limit || maximum.is_some_and(|max| desired > max) {
            self.memory_refused = true;
            return Ok(false);
        }
        self.memory_granted = total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= self.table_elements && maximum.is_none_or(|max| desired <= max))
    }

    // Instances, tables and memories per store keep wasmtime's defaults (10 000):
    // one store serves one instance of one component.
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_grow_with_the_packet() {
        let base = Limits::default();
        assert_eq!(base.for_packet(0), base);
        let big = base.for_packet(100 << 20);
        assert_eq!(big.fuel, base.fuel + (100 << 20) * FUEL_PER_PACKET_BYTE);
        assert_eq!(big.deadline, base.deadline + Duration::from_secs(4));
        assert_eq!(big.memory_bytes, base.memory_bytes);
        assert_eq!(big.max_report_bytes, base.max_report_bytes);
        assert_eq!(base.for_packet(u64::MAX).fuel, u64::MAX);
    }
}
