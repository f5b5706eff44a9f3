//! [`Sandbox`]: loads checkers and runs them, one fresh instance per run.
//!
//! Loading (registration time, never on the request path): digest the bytes, check the
//! imports ([`crate::imports`]), get native code from the disk cache or compile it
//! ([`crate::cache`]), pre-link it against WASI (`InstancePre`) and bind it to the
//! contract version it implements ([`crate::contract`]), so a run only allocates a
//! store and an instance. Loaded checkers are kept in memory by digest.
//!
//! Running: a new store per run holds the WASI context ([`crate::wasi`]), the resource
//! limiter, the fuel and the epoch deadline ([`crate::limits`]); the `check` call is
//! wrapped in a host timer slightly longer than the deadline, the backstop for time
//! spent in host calls; whatever happens becomes a [`CheckOutcome`]
//! ([`crate::outcome`]). A store never outlives its run, so a guest that trapped,
//! looped or blew its memory leaves nothing behind for the next run.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wasmtime::component::Linker;
use wasmtime::{Engine, Store, Trap};
use workstream_domain::Digest;
use workstream_domain::ErrorCode;

use crate::cache::{ComponentCache, Source};
use crate::contract::{Bound, CheckerInfo, Contract};
use crate::engine::{AllocatorKind, EpochTicker, SandboxConfig, build_engine, deadline_ticks};
use crate::imports::{self, ImportError};
use crate::limits::Limits;
use crate::outcome::{
    CheckOutcome, FailureCode, RawReport, RunResult, validate_report, verdict_of,
};
use crate::request::{CheckRequest, RequestError};
use crate::wasi::RunState;

/// How much longer than the epoch deadline the host timer waits before dropping the
/// call. The epoch catches guest code; the timer catches a call stuck in the host.
const BACKSTOP_GRACE: Duration = Duration::from_millis(500);

/// Fuel between voluntary yields to the async executor, so a long-running guest
/// does not hold a runtime thread for its whole deadline (about a millisecond).
const FUEL_YIELD_INTERVAL: u64 = 1_000_000;

/// The Wasmtime host: one engine, one linker, the compiled-code cache and the checkers
/// loaded so far. Share it (`Arc<Sandbox>`) across tasks; runs are independent.
pub struct Sandbox {
    engine: Engine,
    allocator: AllocatorKind,
    linker: Linker<RunState>,
    cache: ComponentCache,
    loaded: Mutex<HashMap<Digest, LoadedChecker>>,
    config: SandboxConfig,
    compiled: AtomicU64,
    loaded_from_disk: AtomicU64,
    // Declared last: stops (and joins) the ticker after everything else is dropped.
    _ticker: EpochTicker,
}

/// A checker ready to run: compiled, linked, identified by the digest of its bytes.
/// Cheap to clone.
#[derive(Clone)]
pub struct LoadedChecker {
    digest: Digest,
    pre: Arc<Bound>,
}

impl std::fmt::Debug for LoadedChecker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedChecker")
            .field("digest", &self.digest)
            .field("contract", &self.contract())
            .finish()
    }
}

impl LoadedChecker {
    /// `sha256:<hex>` of the component's bytes: what policies pin.
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// The contract version the component implements.
    pub fn contract(&self) -> Contract {
        self.pre.contract()
    }
}

/// Counters of what the sandbox has done (for tests and metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SandboxStats {
    /// Components compiled to native code by this sandbox.
    pub compiled: u64,
    /// Components loaded from the disk cache without compiling.
    pub loaded_from_disk: u64,
}

/// The sandbox could not be created.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// Wasmtime refused the engine configuration or the WASI linker.
    #[error("wasmtime engine: {0}")]
    Engine(String),
    /// The cache directory could not be created.
    #[error("checker cache directory: {0}")]
    Cache(#[from] std::io::Error),
}

/// A component could not be loaded. Every case is a registration error; a policy that
/// pins such a component gets `implementation_unavailable` for its runs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// Not a well-formed component.
    #[error("not a valid checker component: {0}")]
    Malformed(String),
    /// Imports something outside the allow-list (see [`crate::imports`]).
    #[error("checker imports `{0}`, which checkers may not use")]
    ImportNotAllowed(String),
    /// Wasmtime could not compile it.
    #[error("checker component does not compile: {0}")]
    Compile(String),
    /// It implements no published version of the `workstream:checker` world (a
    /// missing or mistyped export), or an import cannot be linked.
    #[error("checker does not implement workstream:checker@0.2.0 (nor an earlier version): {0}")]
    Contract(String),
}

impl LoadError {
    /// The stable registration error code.
    pub const fn code(&self) -> ErrorCode {
        match self {
            LoadError::Malformed(_) => ErrorCode::CheckerComponentInvalid,
            LoadError::ImportNotAllowed(_) => ErrorCode::CheckerImportNotAllowed,
            LoadError::Compile(_) => ErrorCode::CheckerComponentInvalid,
            LoadError::Contract(_) => ErrorCode::CheckerContractMismatch,
        }
    }

    /// The run failure code for a policy that pins such a component.
    pub const fn failure_code(&self) -> FailureCode {
        FailureCode::ImplementationUnavailable
    }
}

impl From<ImportError> for LoadError {
    fn from(e: ImportError) -> LoadError {
        match e {
            ImportError::Malformed(m) => LoadError::Malformed(m),
            ImportError::NotAllowed(name) => LoadError::ImportNotAllowed(name),
        }
    }
}

impl Sandbox {
    /// Builds the engine (pooling allocator if possible), the WASI linker and the cache,
    /// and starts the epoch ticker.
    pub fn new(config: SandboxConfig) -> Result<Sandbox, SandboxError> {
        let (engine, allocator) =
            build_engine(&config).map_err(|e| SandboxError::Engine(e.to_string()))?;
        let mut linker = Linker::new(&engine);
        // All of WASI 0.2 is linked (wasmtime-wasi adds it as one unit); what a checker
        // may import is narrowed by the import allow-list, and what it may reach by
        // the per-run WASI context.
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| SandboxError::Engine(e.to_string()))?;
        let cache = ComponentCache::new(&config.cache_dir, &engine)?;
        let ticker = EpochTicker::start(engine.clone());
        Ok(Sandbox {
            engine,
            allocator,
            linker,
            cache,
            loaded: Mutex::new(HashMap::new()),
            config,
            compiled: AtomicU64::new(0),
            loaded_from_disk: AtomicU64::new(0),
            _ticker: ticker,
        })
    }

    /// Which instance allocator the engine uses.
    pub fn allocator(&self) -> AllocatorKind {
        self.allocator
    }

    /// The configuration the sandbox was built with.
    pub fn config(&self) -> &SandboxConfig {
        &self.config
    }

    /// What the sandbox has compiled or loaded from disk so far.
    pub fn stats(&self) -> SandboxStats {
        SandboxStats {
            compiled: self.compiled.load(Ordering::Relaxed),
            loaded_from_disk: self.loaded_from_disk.load(Ordering::Relaxed),
        }
    }

    /// Loads a checker component: import check, native code from the cache or a
    /// compilation, pre-linking. Idempotent per digest. CPU-bound (tens of ms for a
    /// Rust guest, seconds for Python/JS when not cached): call it at registration or
    /// startup, from `spawn_blocking` in async code.
    pub fn load(&self, bytes: &[u8]) -> Result<LoadedChecker, LoadError> {
        let digest = Digest::of_bytes(bytes);
        if let Some(checker) = self.loaded.lock().expect("not poisoned").get(&digest) {
            return Ok(checker.clone());
        }
        let imports = imports::check(bytes)?;
        let (component, source) = self
            .cache
            .get_or_compile(&self.engine, &digest, bytes)
            .map_err(|e| LoadError::Compile(e.to_string()))?;
        match source {
            Source::Compiled => self.compiled.fetch_add(1, Ordering::Relaxed),
            Source::Disk => self.loaded_from_disk.fetch_add(1, Ordering::Relaxed),
        };
        let pre = if imports.refused_at_call.is_empty() {
            self.linker.instantiate_pre(&component)
        } else {
            // Interfaces no checker is granted (`imports::REFUSED_AT_CALL`): a linker
            // of this component's own, where whatever WASI does not provide traps
            // when called. The import check above has already refused anything else.
            let mut linker = self.linker.clone();
            linker
                .define_unknown_imports_as_traps(&component)
                .and_then(|()| linker.instantiate_pre(&component))
        }
        .map_err(|e| LoadError::Contract(format!("{e:#}")))?;
        let pre = Bound::new(pre).map_err(LoadError::Contract)?;
        let checker = LoadedChecker {
            digest,
            pre: Arc::new(pre),
        };
        self.loaded
            .lock()
            .expect("not poisoned")
            .insert(digest, checker.clone());
        Ok(checker)
    }

    /// Loads a component from a file (see [`Sandbox::load`]).
    pub fn load_file(&self, path: &Path) -> Result<LoadedChecker, LoadError> {
        let bytes = std::fs::read(path)
            .map_err(|e| LoadError::Malformed(format!("{}: {e}", path.display())))?;
        self.load(&bytes)
    }

    /// Calls `info()`, under the sandbox's limits and with no packet mounted.
    pub async fn info(
        &self,
        checker: &LoadedChecker,
    ) -> Result<CheckerInfo, (FailureCode, String)> {
        let limits = self.effective(&self.config.limits);
        let state = RunState::without_packet(&checker.digest, limits.memory_bytes);
        let mut store = self.store(state, &limits);
        let call = tokio::time::timeout(
            limits.deadline + BACKSTOP_GRACE,
            checker.pre.info(&mut store),
        )
        .await;
        match call {
            Err(_) => Err((FailureCode::DeadlineExceeded, "host timer expired".into())),
            Ok(Err(error)) => Err(classify(&error, store.data().limiter.memory_refused)),
            Ok(Ok(info)) => Ok(info),
        }
    }

    /// Runs `check` on the packet in `packet_dir` under the sandbox's limits grown for
    /// the packet's size ([`Limits::for_packet`] of the manifest's bytes).
    ///
    /// Errors only for a request that cannot be digested; everything that can go
    /// wrong in the run itself is an outcome (never a pass).
    pub async fn run(
        &self,
        checker: &LoadedChecker,
        request: CheckRequest,
        packet_dir: &Path,
    ) -> Result<CheckOutcome, RequestError> {
        let bytes = request
            .manifest
            .iter()
            .fold(0u64, |sum, f| sum.saturating_add(f.size));
        let limits = self.config.limits.for_packet(bytes);
        self.run_with_limits(checker, request, packet_dir, &limits)
            .await
    }

    /// [`Sandbox::run`] with other limits (for example a policy's). The memory limit
    /// cannot exceed the sandbox's: it sizes the allocator's slots.
    pub async fn run_with_limits(
        &self,
        checker: &LoadedChecker,
        request: CheckRequest,
        packet_dir: &Path,
        limits: &Limits,
    ) -> Result<CheckOutcome, RequestError> {
        let started = Instant::now();
        let limits = self.effective(limits);
        let configuration = request.canonical_configuration()?;
        let request_digest = request.digest_with(&checker.digest, &configuration);
        let input = checker.pre.input(&request, configuration);
        let finish = |result: RunResult, fuel: u64| {
            CheckOutcome::new(
                request_digest,
                checker.digest,
                result,
                fuel,
                started.elapsed(),
                limits.clone(),
            )
        };

        let state = match RunState::for_packet(&request_digest, packet_dir, limits.memory_bytes) {
            Ok(state) => state,
            Err(error) => {
                let result = RunResult::failed(
                    FailureCode::MaterialUnavailable,
                    format!("packet directory: {error}"),
                );
                return Ok(finish(result, 0));
            }
        };
        let mut store = self.store(state, &limits);
        let call = tokio::time::timeout(
            limits.deadline + BACKSTOP_GRACE,
            checker.pre.check(&mut store, &input),
        )
        .await;
        let fuel_consumed = limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0));
        let result = match call {
            Err(_) => RunResult::failed(
                FailureCode::DeadlineExceeded,
                "host timer expired (time spent outside guest code)",
            ),
            Ok(Err(error)) => {
                let (code, detail) = classify(&error, store.data().limiter.memory_refused);
                RunResult::failed(code, detail)
            }
            Ok(Ok(Err(message))) => RunResult::failed(
                FailureCode::ImplementationUnavailable,
                format!("{}{message}", crate::outcome::DECLINED),
            ),
            Ok(Ok(Ok(report))) => completed(report, &limits),
        };
        Ok(finish(result, fuel_consumed))
    }

    /// The limits a run actually gets.
    fn effective(&self, limits: &Limits) -> Limits {
        Limits {
            memory_bytes: limits.memory_bytes.min(self.config.limits.memory_bytes),
            ..limits.clone()
        }
    }

    fn store(&self, state: RunState, limits: &Limits) -> Store<RunState> {
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limiter);
        // Both setters fail only when fuel is disabled in the engine, which it never is.
        store.set_fuel(limits.fuel).expect("fuel is enabled");
        store
            .fuel_async_yield_interval(Some(FUEL_YIELD_INTERVAL))
            .expect("fuel is enabled");
        store.set_epoch_deadline(deadline_ticks(limits.deadline));
        store.epoch_deadline_trap();
        store
    }
}

fn completed(report: RawReport, limits: &Limits) -> RunResult {
    match validate_report(report, limits) {
        Ok((findings, summary)) => RunResult::Completed {
            verdict: verdict_of(&findings),
            findings,
            summary,
        },
        Err(rule) => RunResult::failed(FailureCode::InvalidOutput, rule),
    }
}

/// Maps a trap or host error to a failure code. A refused memory growth wins over the
/// trap it caused (a Rust guest aborts with `unreachable` when allocation fails).
fn classify(error: &wasmtime::Error, memory_refused: bool) -> (FailureCode, String) {
    let detail = error.to_string();
    if memory_refused {
        return (
            FailureCode::CapacityExceeded,
            format!("memory limit reached: {detail}"),
        );
    }
    let code = match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel | Trap::Interrupt) => FailureCode::DeadlineExceeded,
        Some(Trap::StackOverflow) => FailureCode::CapacityExceeded,
        _ => FailureCode::ImplementationUnavailable,
    };
    (code, detail)
}
