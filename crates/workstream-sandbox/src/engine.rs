//! The Wasmtime engine: configured once per [`crate::Sandbox`], every knob explained
//! where it is set.
//!
//! One engine serves every checker and every run: compiled code is tied to the engine
//! that compiled it (see [`crate::cache`]), and the pooling allocator's slots are shared
//! by all stores of the engine.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::limits::Limits;

/// How often the ticker thread advances the engine's epoch. A deadline is a number of
/// ticks, so this is the deadline's resolution; 10 ms costs nothing measurable (one
/// atomic increment) and keeps a 1 s test deadline accurate to 1%.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Everything a [`crate::Sandbox`] is built from.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Where compiled components are cached (see [`crate::cache`]). Production uses
    /// `$WORKSTREAM_DATA_DIR/checker-cache`; tests use a temporary directory.
    pub cache_dir: PathBuf,
    /// The limits of every run unless [`crate::Sandbox::run_with_limits`] says
    /// otherwise. `limits.memory_bytes` also sizes the pooling allocator's slots, so
    /// a run can never be granted more memory than this.
    pub limits: Limits,
    /// How many instances may be alive at once when the pooling allocator is used
    /// (concurrent runs; each Rust checker is one component instance). Runs beyond it
    /// wait for no one: instantiation fails with `implementation_unavailable`, so size
    /// it above the worker's concurrency.
    pub pool_instances: u32,
    /// Try the pooling allocator first (falling back to on-demand if the virtual
    /// memory reservation is refused). `false` forces on-demand allocation.
    pub pooling: bool,
}

impl SandboxConfig {
    /// Production defaults with the given cache directory.
    pub fn new(cache_dir: impl Into<PathBuf>) -> SandboxConfig {
        SandboxConfig {
            cache_dir: cache_dir.into(),
            limits: Limits::default(),
            pool_instances: 64,
            pooling: true,
        }
    }
}

/// Which instance allocator the engine ended up with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllocatorKind {
    /// Pre-reserved slots reused across runs (fast instantiation).
    Pooling,
    /// Memory allocated per instance: used when pooling is off or its reservation
    /// was refused (small address space, `ulimit -v`, strict overcommit).
    OnDemand,
}

/// Builds the engine, trying the pooling allocator first.
pub(crate) fn build_engine(config: &SandboxConfig) -> wasmtime::Result<(Engine, AllocatorKind)> {
    if config.pooling {
        match Engine::new(&wasmtime_config(config, true)) {
            Ok(engine) => return Ok((engine, AllocatorKind::Pooling)),
            Err(error) => tracing::warn!(
                %error,
                "pooling allocator unavailable; falling back to on-demand allocation"
            ),
        }
    }
    Ok((
        Engine::new(&wasmtime_config(config, false))?,
        AllocatorKind::OnDemand,
    ))
}

fn wasmtime_config(config: &SandboxConfig, pooling: bool) -> Config {
    let mut c = Config::new();
    // Checkers are components (the WIT contract), and their exports are called with
    // `call_async` so a run is a future the host can time out. (In wasmtime 48 async
    // support is always on when the `async` feature is compiled in.)
    c.wasm_component_model(true);
    // Fuel: the deterministic CPU budget. Costs some speed (a counter per block), but
    // the number consumed is recorded with every run and is the same on every machine.
    c.consume_fuel(true);
    // Epoch interruption: the wall-clock deadline. A ticker thread bumps the epoch
    // (see `EpochTicker`); a store traps once its deadline in ticks has passed.
    // About 10% overhead, and unlike fuel it also counts time spent in host calls.
    c.epoch_interruption(true);
    // No wasm backtraces: a checker's trap is reported by code, not by stack, and with
    // RUST_BACKTRACE=1 set capturing them made every trap slow. (The `backtrace`
    // cargo feature is left out too.)
    c.wasm_backtrace_max_frames(None);
    // Determinism: the same input must give the same report on any machine. NaN bit
    // patterns and relaxed-SIMD results are the two places where native code may
    // legitimately differ between CPUs; pin both.
    c.cranelift_nan_canonicalization(true);
    c.relaxed_simd_deterministic(true);
    // Compilation happens at registration, never on the request path; spread a large
    // (Python/JS, 12-18 MB) component over the cores.
    c.parallel_compilation(true);
    if pooling {
        c.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling_config(config)));
    }
    c
}

/// The pooling allocator, sized for checkers (docs/checkers.md: pooling plus
/// keep-resident brought instantiate+check of a trivial guest from ~40 µs to ~11 µs).
fn pooling_config(config: &SandboxConfig) -> PoolingAllocationConfig {
    let slots = config.pool_instances.max(1);
    let memory = usize::try_from(config.limits.memory_bytes).unwrap_or(usize::MAX);
    let mut p = PoolingAllocationConfig::new();
    // One component instance per concurrent run. Rust guests have one core instance,
    // memory and table; componentized Python/JS have a handful, hence the factors.
    p.total_component_instances(slots);
    p.total_core_instances(slots.saturating_mul(8));
    p.total_memories(slots.saturating_mul(2));
    p.total_tables(slots.saturating_mul(4));
    p.total_stacks(slots);
    // A slot's memory is capped at the run's memory limit: the limiter refuses first
    // (and records it), the pool never has to.
    p.max_memory_size(memory);
    // Keep up to 1 MiB of each memory and table resident between runs and reset it with
    // memset instead of madvise+page faults: the measured sweet spot for small guests.
    // More does not help the componentized Python/JS checkers: their runs dirty pages
    // scattered over the snapshot heap (reference counts, GC marks), the dirty-page scan
    // below reports at most 32 runs of pages (a constant inside wasmtime), and everything
    // after the 32nd is decommitted whatever this says (Python: ~7.6 MB madvised and
    // ~290 page faults per run with 1 MiB, 64 MiB or 256 MiB alike). Without the scan
    // the first `keep_resident` bytes are copied back on every run: 14 MiB (all of
    // Python's heap) was no faster for Python, and even 1 MiB took the trivial Rust
    // guest from 12 µs to 50 µs. 0 means more faults (Python: 375 per run).
    p.linear_memory_keep_resident(1 << 20);
    p.table_keep_resident(1 << 20);
    // On Linux ≥ 6.7 scan for dirty pages instead of assuming the low pages are.
    p.pagemap_scan(Enabled::Auto);
    // Left at wasmtime's defaults on purpose (measured with `benches/checker_invocation`):
    // lazy table initialisation (`Config::table_lazy_init`; eager took the trivial
    // guest from 12.4 to 15.8 µs and JS from 0.87 to 1.53 ms), copy-on-write images
    // (`Config::memory_init_cow`; without, Python's 11.6 MB snapshot is copied per run),
    // and `max_unused_warm_slots` (0 changed nothing: a checker's slots stay affine).
    // Memory protection keys need a wasmtime feature this build leaves out.
    p
}

/// The thread that advances the epoch every [`EPOCH_TICK`]; stopped when dropped.
pub(crate) struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    pub(crate) fn start(engine: Engine) -> EpochTicker {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("checker-epoch".into())
            .spawn(move || {
                // Catch up on ticks missed while descheduled: a loaded machine
                // oversleeps, and the epoch must follow real time or deadlines
                // stretch (and the host's backstop timer would fire first).
                let start = Instant::now();
                let mut ticks: u128 = 0;
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    let due = start.elapsed().as_nanos() / EPOCH_TICK.as_nanos();
                    while ticks < due {
                        engine.increment_epoch();
                        ticks += 1;
                    }
                }
            })
            .expect("spawn the epoch ticker thread");
        EpochTicker {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Ticks from now until `deadline` has passed, rounded up (at least one).
pub(crate) fn deadline_ticks(deadline: Duration) -> u64 {
    let tick = EPOCH_TICK.as_nanos();
    u64::try_from(deadline.as_nanos().div_ceil(tick))
        .unwrap_or(u64::MAX)
        .max(1)
}
