//! Plugboard: one base URL for every LLM subscription.
//!
//! The host owns HTTP serving, credentials and routing; every provider translator and
//! request fixup is a sandboxed WebAssembly component (see `wit/`). Read
//! [`pipeline`] first: it is the phase order of one request, top to bottom.

pub mod accounts;
pub mod config;
pub mod credentials;
pub mod describe;
pub mod failure;
pub mod governance;
pub mod ir;
pub mod management;
pub mod metrics;
pub mod pipeline;
pub mod reload;
pub mod routing;
pub mod runtime;
pub mod server;
pub mod surfaces;
pub mod upstream;
pub mod usage;

/// jemalloc serves every heap allocation of the host (its tests and benches included),
/// instead of glibc's malloc. At saturation glibc's malloc and free were ~16% of the
/// process's samples, its arena locks contended across the two request threads, and
/// jemalloc served ~16% more requests at the same resident set (docs/benchmarks.md,
/// "The allocator and fewer allocations").
#[cfg(all(target_os = "linux", not(miri)))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
