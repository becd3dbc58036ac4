//! The per-instance store: what a guest may touch (nothing but `host.log`,
//! `host.config` and a WASI context that grants nothing), how much memory it may
//! use, how long each call may run, and how a trap becomes a [`TrapReason`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::ResourceTable;
use wasmtime::{
    Engine, PoolConcurrencyLimitError, ResourceLimiter, Store, StoreLimits, StoreLimitsBuilder,
    Trap, UpdateDeadline,
};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::TrapReason;
use super::bindings::{v0_1, v0_2};
use super::engine::EPOCH_TICK;
use super::guest_stderr::StderrTail;

/// Longest guest log line passed to tracing; the rest is cut so a guest cannot
/// flood the host's log with one call.
const LOG_LINE_LIMIT: usize = 4 << 10;

/// Slack on top of `guest_call_timeout` before the tokio timer gives up on a call.
/// The epoch deadline fires first for wasm code; the timer catches a guest parked in
/// a WASI wait (e.g. a clock subscription), which epochs cannot interrupt.
const HOST_TIMER_SLACK: Duration = Duration::from_millis(250);

/// Everything a guest's store holds for one request.
pub struct GuestState {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: MemoryCap,
    stderr: StderrTail,
    /// The provider entry's `config:` block, served by `host.config`.
    provider_config: Arc<str>,
    /// `id@version` of the component being called, so `host.log` can tag its lines.
    caller: Arc<str>,
    /// When the current guest call started, and how long it may run.
    call_started: Instant,
    call_budget: Duration,
}

impl WasiView for GuestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl v0_1::types::Host for GuestState {}
impl v0_2::types::Host for GuestState {}
impl v0_2::credentials::Host for GuestState {}

impl v0_1::host_api::Host for GuestState {
    fn log(&mut self, level: v0_1::LogLevel, message: String) {
        use v0_1::LogLevel as L;
        let level = match level {
            L::Trace => tracing::Level::TRACE,
            L::Debug => tracing::Level::DEBUG,
            L::Info => tracing::Level::INFO,
            L::Warn => tracing::Level::WARN,
            L::Error => tracing::Level::ERROR,
        };
        self.guest_log(level, &message);
    }

    fn config(&mut self) -> String {
        self.provider_config.to_string()
    }
}

impl v0_2::host_api::Host for GuestState {
    fn log(&mut self, level: v0_2::LogLevel, message: String) {
        use v0_2::LogLevel as L;
        let level = match level {
            L::Trace => tracing::Level::TRACE,
            L::Debug => tracing::Level::DEBUG,
            L::Info => tracing::Level::INFO,
            L::Warn => tracing::Level::WARN,
            L::Error => tracing::Level::ERROR,
        };
        self.guest_log(level, &message);
    }

    fn config(&mut self) -> String {
        self.provider_config.to_string()
    }
}

impl GuestState {
    /// `host.log` of every contract version: redacted, cut, tagged with the caller.
    fn guest_log(&self, level: tracing::Level, message: &str) {
        // A guest sees upstream error bodies, which may echo the key it never saw.
        let message = crate::credentials::redact_log(cut_at_char_boundary(message, LOG_LINE_LIMIT));
        let adapter = &*self.caller;
        match level {
            tracing::Level::TRACE => {
                tracing::trace!(target: "plugboard::adapter", adapter, "{message}")
            }
            tracing::Level::DEBUG => {
                tracing::debug!(target: "plugboard::adapter", adapter, "{message}")
            }
            tracing::Level::INFO => {
                tracing::info!(target: "plugboard::adapter", adapter, "{message}")
            }
            tracing::Level::WARN => {
                tracing::warn!(target: "plugboard::adapter", adapter, "{message}")
            }
            _ => tracing::error!(target: "plugboard::adapter", adapter, "{message}"),
        }
    }
}

fn cut_at_char_boundary(text: &str, limit: usize) -> &str {
    if text.len() <= limit {
        return text;
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The memory cap: `StoreLimits` does the accounting; this wrapper turns its
/// refusal into a typed error so a trap can be reported as `OutOfMemory` without
/// matching on message text, and counts the bytes of linear memory the store's
/// instances hold (what a reused instance keeps resident, `pool::ReadyPool::give_back`).
struct MemoryCap {
    limits: StoreLimits,
    /// Bytes of linear memory the store's instances hold, all memories together
    /// (wasmtime reports each memory's creation as a growth from 0).
    bytes: usize,
}

/// A guest tried to grow a memory or table past its cap.
#[derive(Debug, thiserror::Error)]
#[error("guest memory cap exceeded")]
struct MemoryCapExceeded;

/// A guest call ran past its deadline.
#[derive(Debug, thiserror::Error)]
#[error("guest call ran past its deadline")]
struct DeadlineExceeded;

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self
            .limits
            .memory_growing(current, desired, maximum)
            .map_err(|_| wasmtime::Error::new(MemoryCapExceeded))?;
        if allowed {
            self.bytes += desired.saturating_sub(current);
        }
        Ok(allowed)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits
            .memory_grow_failed(error)
            .map_err(|_| wasmtime::Error::new(MemoryCapExceeded))
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits
            .table_growing(current, desired, maximum)
            .map_err(|_| wasmtime::Error::new(MemoryCapExceeded))
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits
            .table_grow_failed(error)
            .map_err(|_| wasmtime::Error::new(MemoryCapExceeded))
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

/// A fresh store for one instance (serving one request), or one load-time validation.
///
/// The WASI context grants nothing: no preopened directories, no environment, no
/// arguments, no sockets or name lookups, empty stdin, discarded stdout. Clocks and
/// random stay (a Rust guest needs them for hash maps and ids). Stderr goes to an
/// in-memory tail so a panic message can be reported.
pub fn new_store(
    engine: &Engine,
    guest_memory_bytes: usize,
    call_budget: Duration,
    provider_config: Arc<str>,
) -> Store<GuestState> {
    let stderr = StderrTail::default();
    let wasi = WasiCtxBuilder::new()
        .stderr(stderr.clone())
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .build();
    let limits = StoreLimitsBuilder::new()
        .memory_size(guest_memory_bytes)
        .trap_on_grow_failure(true)
        .build();
    let state = GuestState {
        wasi,
        table: ResourceTable::new(),
        limits: MemoryCap { limits, bytes: 0 },
        stderr,
        provider_config,
        caller: Arc::from(""),
        call_started: Instant::now(),
        call_budget,
    };
    let mut store = Store::new(engine, state);
    store.limiter(|state| &mut state.limits);
    // At an epoch tick inside guest code:
    // - a call that started less than a tick ago goes on: the tick landed in one of the
    //   short calls every request makes (tens of µs), and yielding would send that
    //   request to the back of tokio's queue for nothing (under load, a delay of
    //   milliseconds for about one request in a hundred);
    // - a call that has run longer yields to tokio, so a runaway guest keeps a worker
    //   for at most two ticks at a stretch;
    // - once the call's budget is spent, it traps with a typed error.
    // `tokio::task::yield_now` rather than a plain yield: tokio defers its wake-up until
    // the scheduler has polled its timer and I/O drivers, so timers keep firing even on
    // a single busy worker.
    store.epoch_deadline_callback(|context| {
        let state = context.data();
        let running = state.call_started.elapsed();
        if running >= state.call_budget {
            Err(wasmtime::Error::new(DeadlineExceeded))
        } else if running < EPOCH_TICK {
            Ok(UpdateDeadline::Continue(1))
        } else {
            Ok(UpdateDeadline::YieldCustom(
                1,
                Box::pin(tokio::task::yield_now()),
            ))
        }
    });
    // With epoch interruption on, a store without a deadline traps at once.
    store.set_epoch_deadline(1);
    store
}

/// Give a store taken for a request that request's provider config (what
/// `host.config` returns). A waiting store holds `{}` until then.
pub fn set_provider_config(store: &mut Store<GuestState>, provider_config: Arc<str>) {
    store.data_mut().provider_config = provider_config;
}

/// Bytes of linear memory the store's instances hold now.
pub fn memory_bytes(store: &Store<GuestState>) -> usize {
    store.data().limits.bytes
}

/// Where a guest call's stderr output starts, so a panic message is read from the
/// bytes that call wrote and not from an earlier one.
#[derive(Clone, Copy)]
pub struct CallMark {
    stderr_written: u64,
}

/// Prepare the store for one guest call by `caller`: start its clock and deadline.
pub fn arm(store: &mut Store<GuestState>, caller: &Arc<str>) -> CallMark {
    let state = store.data_mut();
    if !Arc::ptr_eq(&state.caller, caller) {
        state.caller = caller.clone();
    }
    state.call_started = Instant::now();
    let mark = CallMark {
        stderr_written: state.stderr.mark(),
    };
    store.set_epoch_deadline(1);
    mark
}

/// The longest the host waits for one call, epochs or not.
pub fn host_timer(store: &Store<GuestState>) -> Duration {
    store.data().call_budget + HOST_TIMER_SLACK
}

/// Why a guarded call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The guest trapped (its instance must not be entered again).
    Trap(TrapReason),
    /// The host could not provide what the call needed (e.g. a pool slot).
    Host(String),
}

/// Run one guest call under both deadlines (epoch inside wasm, tokio timer around
/// it) and name the cause if it fails.
pub async fn guarded<T>(
    store: &mut Store<GuestState>,
    caller: &Arc<str>,
    call: impl AsyncFnOnce(&mut Store<GuestState>) -> wasmtime::Result<T>,
) -> Result<T, Failure> {
    let mark = arm(store, caller);
    let limit = host_timer(store);
    match tokio::time::timeout(limit, call(store)).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) if error.is::<PoolConcurrencyLimitError>() => Err(Failure::Host(format!(
            "instance pool exhausted ({error}); raise runtime.max_instances"
        ))),
        Ok(Err(error)) => Err(Failure::Trap(classify_trap(
            &error,
            &stderr_since(store, mark),
        ))),
        Err(_elapsed) => Err(Failure::Trap(TrapReason::Timeout)),
    }
}

fn stderr_since(store: &Store<GuestState>, mark: CallMark) -> String {
    store.data().stderr.since(mark.stderr_written)
}

/// Name the cause of a failed guest call.
///
/// A Rust guest's panic aborts with `unreachable` after printing
/// `panicked at <file>:<line>:<col>:\n<message>` to stderr; an allocation failure
/// prints `memory allocation of N bytes failed` and aborts the same way.
pub fn classify_trap(error: &wasmtime::Error, stderr: &str) -> TrapReason {
    if error.is::<DeadlineExceeded>() {
        return TrapReason::Timeout;
    }
    if error.is::<MemoryCapExceeded>() {
        return TrapReason::OutOfMemory;
    }
    if let Some(message) = panic_message(stderr) {
        return TrapReason::Panic(message);
    }
    if stderr.contains("memory allocation of") {
        return TrapReason::OutOfMemory;
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => TrapReason::Timeout,
        Some(Trap::UnreachableCodeReached) if !stderr.trim().is_empty() => {
            TrapReason::Other(format!("aborted: {}", stderr.trim()))
        }
        _ => TrapReason::Other(format!("{error:#}")),
    }
}

/// The message of a Rust panic from the guest's stderr, without the location line
/// and the `RUST_BACKTRACE` note.
fn panic_message(stderr: &str) -> Option<String> {
    let after = &stderr[stderr.find("panicked at ")?..];
    // Since Rust 1.73 the message follows the location line; before, it was quoted
    // on the same line (`panicked at 'msg', src/lib.rs:1:1`).
    let (location_line, rest) = after.split_once('\n').unwrap_or((after, ""));
    let message: Vec<&str> = rest
        .lines()
        .take_while(|line| !line.starts_with("note: "))
        .collect();
    let message = message.join("\n");
    let message = message.trim();
    Some(if message.is_empty() {
        location_line.trim().to_owned()
    } else {
        message.to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_modern_panic_message_is_read_without_location_or_note() {
        let stderr = "\nthread '<unnamed>' panicked at src/lib.rs:12:9:\ndeliberate panic in on-request\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n";
        assert_eq!(
            panic_message(stderr).as_deref(),
            Some("deliberate panic in on-request")
        );
    }

    #[test]
    fn typed_errors_win_over_stderr_text() {
        let timeout = wasmtime::Error::new(DeadlineExceeded).context("wasm backtrace");
        assert_eq!(classify_trap(&timeout, ""), TrapReason::Timeout);
        let oom = wasmtime::Error::new(MemoryCapExceeded);
        assert_eq!(classify_trap(&oom, ""), TrapReason::OutOfMemory);
    }

    #[test]
    fn an_unknown_trap_keeps_its_text() {
        let error = wasmtime::Error::new(Trap::IntegerDivisionByZero);
        assert!(
            matches!(classify_trap(&error, ""), TrapReason::Other(text) if text.contains("divide by zero"))
        );
    }

    #[test]
    fn long_log_lines_are_cut_on_a_char_boundary() {
        let line = "é".repeat(3000);
        let cut = cut_at_char_boundary(&line, LOG_LINE_LIMIT);
        assert!(cut.len() <= LOG_LINE_LIMIT && cut.len() >= LOG_LINE_LIMIT - 1);
    }
}
