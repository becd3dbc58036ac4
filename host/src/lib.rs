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
