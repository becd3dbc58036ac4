//! THE engine configuration, and the epoch ticker that turns deadlines into
//! interrupts. Every knob the runtime sets on wasmtime lives in [`build_engine`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::component::{HasSelf, Linker};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig, Strategy,
};

use super::bindings::{v0_1, v0_2};
use super::sandbox::GuestState;
use super::{ComponentKind, RuntimeSettings, RuntimeTuning};

/// How often the epoch advances. A guest call's deadline is checked at every tick,
/// so this is the resolution of `guest_call_timeout`; a call still running a tick
/// after it started yields to tokio at each tick from then on, so a runaway guest
/// keeps a tokio worker for at most two ticks at a stretch.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Core wasm instances one component may need. A Rust `wasm32-wasip2` component is
/// its main module plus the WASI adapter and a few shim modules (4-6 in practice).
const CORE_INSTANCES_PER_COMPONENT: u32 = 8;

/// Linear memories one component may own: the main module's and the WASI adapter's.
const MEMORIES_PER_COMPONENT: u32 = 2;

/// Tables one component may own (main module, adapter, shim indirection table).
const TABLES_PER_COMPONENT: u32 = 4;

/// Address space reserved after each linear memory. With a reservation smaller
/// than 4 GiB Cranelift emits explicit bounds checks anyway; the guard only lets it
/// fold small constant offsets into them, so 2 MiB is plenty.
const MEMORY_GUARD_BYTES: u64 = 2 << 20;

/// Build the one engine every component is compiled for and runs in.
///
/// Choices, each with why:
/// - **Cranelift, speed-optimised**: adapters run on every request; compile time
///   is paid once per file (and then cached on disk).
/// - **Pooling allocator sized to `max_instances`**: a fresh instance per request
///   costs ~14 µs from the pool against ~50 µs with mmap per instance
///   (measured when the runtime was designed; docs/architecture.md). Slots are reserved once, so pool exhaustion is an
///   error we map to `GuestError::Host`, never an OOM of the host.
/// - **Memory reservation = `guest_memory_bytes`** (not wasmtime's 4 GiB default):
///   1000 slots x 2 memories x 4 GiB would reserve 8 TiB of address space; sized
///   to the cap it is `2 x max_instances x (cap + 2 MiB guard)`.
/// - **Copy-on-write memory init**: a new instance maps its data segments from a
///   shared image instead of copying them.
/// - **Epoch interruption** (not fuel): nearly free at run time and needs no
///   special artifacts; [`EpochTicker`] advances it every [`EPOCH_TICK`].
/// - **Async**: `wasmtime` 48 chooses sync/async per call; the runtime always
///   calls `*_async`, so a runaway guest yields to tokio at each tick (after its first).
pub fn build_engine(
    settings: &RuntimeSettings,
    tuning: &RuntimeTuning,
) -> wasmtime::Result<Engine> {
    let mut config = Config::new();
    config.strategy(Strategy::Cranelift);
    config.cranelift_opt_level(OptLevel::Speed);
    config.epoch_interruption(true);
    // Guests recurse little; 512 KiB of wasm stack stops runaway recursion early
    // and keeps every async fiber stack (below) small.
    config.max_wasm_stack(512 << 10);
    // Fiber stacks for async calls: wasm stack plus room for host functions.
    config.async_stack_size(1 << 20);
    config.memory_reservation(reservation_for(settings.guest_memory_bytes));
    config.memory_guard_size(MEMORY_GUARD_BYTES);
    // The pool never moves memories; no room needs keeping for growth beyond the cap.
    config.memory_reservation_for_growth(0);
    config.memory_init_cow(true);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling_config(
        settings, tuning,
    )));
    Engine::new(&config)
}

/// The pool: `max_instances` component instances and what they are made of.
fn pooling_config(settings: &RuntimeSettings, tuning: &RuntimeTuning) -> PoolingAllocationConfig {
    let slots = settings.max_instances.max(1);
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(slots);
    pool.total_core_instances(slots.saturating_mul(CORE_INSTANCES_PER_COMPONENT));
    pool.max_core_instances_per_component(CORE_INSTANCES_PER_COMPONENT);
    pool.total_memories(slots.saturating_mul(MEMORIES_PER_COMPONENT));
    pool.max_memories_per_component(MEMORIES_PER_COMPONENT);
    pool.total_tables(slots.saturating_mul(TABLES_PER_COMPONENT));
    pool.max_tables_per_component(TABLES_PER_COMPONENT);
    // One fiber stack per guest call in flight; a request calls one guest at a time.
    pool.total_stacks(slots);
    // The pool's hard ceiling per memory; `StoreLimits` (sandbox) enforces the same
    // cap with a clean trap before the pool would refuse.
    pool.max_memory_size(settings.guest_memory_bytes);
    // A freed slot resets the pages its guest wrote in place (found with PAGEMAP_SCAN)
    // up to `keep_resident_bytes`, and only `madvise`s what lies beyond: a Rust guest
    // dirties ~100 KB per request, so the common case makes no syscall that changes
    // the page tables. docs/architecture.md has the measurements.
    pool.linear_memory_keep_resident(settings.keep_resident_bytes);
    pool.table_keep_resident(settings.keep_resident_bytes.min(1 << 20));
    pool.pagemap_scan(if tuning.pagemap_scan {
        wasmtime::Enabled::Auto
    } else {
        wasmtime::Enabled::No
    });
    pool
}

/// The reservation for one linear memory: the cap, rounded up to a 64 KiB page.
fn reservation_for(guest_memory_bytes: usize) -> u64 {
    const PAGE: u64 = 64 << 10;
    (guest_memory_bytes as u64).div_ceil(PAGE).max(1) * PAGE
}

/// What every component of `world` may import: WASI p2 (granting nothing; see
/// `sandbox::new_store`) and the `host` interface of every supported contract version
/// (each version's imports have their own versioned names, so they sit side by side).
/// One linker per world so a world that grows its own imports later does not leak
/// them to the other.
pub fn build_linker(engine: &Engine, world: ComponentKind) -> wasmtime::Result<Linker<GuestState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    match world {
        ComponentKind::Provider => {
            v0_1::provider::Provider::add_to_linker::<_, HasSelf<GuestState>>(&mut linker, |s| s)?;
            v0_2::provider::Provider::add_to_linker::<_, HasSelf<GuestState>>(&mut linker, |s| s)?;
        }
        ComponentKind::Fixup => {
            v0_1::fixup::Fixup::add_to_linker::<_, HasSelf<GuestState>>(&mut linker, |s| s)?;
            v0_2::fixup::Fixup::add_to_linker::<_, HasSelf<GuestState>>(&mut linker, |s| s)?;
        }
    }
    Ok(linker)
}

/// A thread advancing the engine's epoch every [`EPOCH_TICK`]; stops on drop.
///
/// A plain thread rather than a tokio task: ticks must keep coming when every
/// tokio worker is busy, which is exactly when a guest is misbehaving.
pub struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    /// Start ticking `engine`.
    pub fn start(engine: Engine) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("plugboard-epoch".into())
            .spawn(move || {
                while !stop_flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reservation_is_the_cap_rounded_to_a_wasm_page() {
        assert_eq!(reservation_for(128 << 20), 128 << 20);
        assert_eq!(reservation_for(100_000), 128 << 10);
        assert_eq!(reservation_for(0), 64 << 10);
    }

    #[test]
    fn an_engine_with_a_thousand_slots_builds() {
        let settings = RuntimeSettings::default();
        // 1000 slots x 2 memories x (128 MiB + 2 MiB) of address space: must not fail.
        build_engine(&settings, &RuntimeTuning::default()).expect("engine");
    }
}
