//! The wasm runtime: one engine, components loaded from the adapters directory,
//! an atomically swapped registry, and one sandbox (store) per request.
//!
//! API CONTRACT (consumed by `pipeline`, `server`, `main`): the signatures below are
//! fixed; the bodies are being implemented in `runtime/*` submodules.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::ir::{
    AdapterError, ChatRequest, ClassifiedError, Dialect, HttpRequest, ResponseHead, StreamEvent,
};

/// Knobs of the runtime; defaults documented in `config.example.yaml`.
#[derive(Debug, Clone)]
pub struct RuntimeSettings {
    /// Where compiled components are cached (`None`: no disk cache).
    pub cache_dir: Option<PathBuf>,
    /// Most bytes one guest linear memory may grow to.
    pub guest_memory_bytes: usize,
    /// Longest one guest call may run before it is interrupted.
    pub guest_call_timeout: Duration,
    /// Most guest instances alive at once (pooling allocator slots).
    pub max_instances: u32,
}

impl Default for RuntimeSettings {
    fn default() -> Self {
        Self {
            cache_dir: None,
            guest_memory_bytes: 128 << 20,
            guest_call_timeout: Duration::from_secs(2),
            max_instances: 1000,
        }
    }
}

/// Provider or fixup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComponentKind {
    /// World `provider`.
    Provider,
    /// World `fixup`.
    Fixup,
}

/// How the host applies a credential (from the adapter's `info()`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthScheme {
    /// No credential.
    None,
    /// `Authorization: Bearer <secret>`.
    Bearer,
    /// A named header with an optional prefix.
    Header { name: String, prefix: Option<String> },
    /// A query parameter.
    Query(String),
}

/// A model an adapter knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelInfo {
    /// Upstream id.
    pub id: String,
    /// Display name.
    pub display_name: Option<String>,
    /// Context window.
    pub context_window: Option<u32>,
    /// Output limit.
    pub max_output_tokens: Option<u32>,
}

/// What a provider component says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderInfo {
    pub id: String,
    pub version: String,
    pub contract_version: String,
    pub description: String,
    pub models: Vec<ModelInfo>,
    pub native_dialects: Vec<Dialect>,
    pub auth: AuthScheme,
    pub hosts: Vec<String>,
    pub default_base_url: Option<String>,
    pub default_fixups: Vec<String>,
}

/// Which fixup hooks are implemented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Hooks {
    pub request: bool,
    pub upstream_request: bool,
    pub events: bool,
}

/// What a fixup component says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixupInfo {
    pub id: String,
    pub version: String,
    pub contract_version: String,
    pub description: String,
    pub hooks: Hooks,
}

/// One loaded component, for listings.
#[derive(Debug, Clone)]
pub struct ComponentSummary {
    pub kind: ComponentKind,
    pub id: String,
    pub version: String,
    pub contract_version: String,
    /// sha256 of the `.wasm` bytes, hex.
    pub hash: String,
    pub path: PathBuf,
    pub description: String,
}

/// A file that was refused, with the reason.
#[derive(Debug, Clone)]
pub struct LoadFailure {
    pub path: PathBuf,
    pub reason: String,
}

/// A loaded, validated provider component (shared by in-flight requests).
pub struct ProviderComponent {
    pub info: ProviderInfo,
    pub hash: String,
    // implementation: InstancePre etc.
}

/// A loaded, validated fixup component.
pub struct FixupComponent {
    pub info: FixupInfo,
    pub hash: String,
}

/// The set of components in force at one moment. Requests hold an `Arc` to the
/// snapshot they started with, so a swap never disturbs them.
#[derive(Default)]
pub struct Registry {
    pub providers: HashMap<String, Arc<ProviderComponent>>,
    pub fixups: HashMap<String, Arc<FixupComponent>>,
}

impl Registry {
    /// The provider with this adapter id.
    pub fn provider(&self, id: &str) -> Option<&Arc<ProviderComponent>> {
        self.providers.get(id)
    }
    /// The fixup with this id.
    pub fn fixup(&self, id: &str) -> Option<&Arc<FixupComponent>> {
        self.fixups.get(id)
    }
}

/// Facts a request sandbox needs.
#[derive(Debug, Clone)]
pub struct SandboxContext {
    /// The provider entry's `config:` block, as a JSON object text (`{}` when unset).
    pub provider_config: String,
    /// Name of the provider entry in config.
    pub provider_name: String,
    /// Upstream model id.
    pub model: String,
    /// Dialect the client speaks.
    pub client_dialect: Dialect,
}

/// The account serving a request (non-secret).
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub base_url: String,
    pub attributes: Vec<(String, String)>,
}

/// Per-request encode facts.
#[derive(Debug, Clone)]
pub struct EncodeContext {
    pub account: Account,
    pub model: String,
}

/// How to decode a response body.
#[derive(Debug, Clone)]
pub struct DecodeContext {
    pub head: ResponseHead,
    pub streaming: bool,
    pub passthrough: Option<Dialect>,
}

/// Why a guest stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrapReason {
    /// It ran past its deadline (endless loop).
    Timeout,
    /// It tried to grow memory past its cap.
    OutOfMemory,
    /// It panicked; the panic message when captured.
    Panic(String),
    /// Any other trap.
    Other(String),
}

/// A guest call that failed. `component` is `id@version`.
#[derive(Debug, thiserror::Error)]
pub enum GuestError {
    /// The guest returned an error value.
    #[error("{component}: {}", error.message)]
    Adapter { component: String, error: AdapterError },
    /// The guest trapped; its instance is discarded.
    #[error("{component} trapped: {reason:?}")]
    Trap { component: String, reason: TrapReason },
    /// The host could not set the sandbox up (e.g. pool exhausted).
    #[error("{component}: {message}")]
    Host { component: String, message: String },
}

/// The runtime: engine, loader, registry, watcher.
pub struct Runtime {
    _private: (),
}

impl Runtime {
    /// Build the engine (see `runtime::engine`).
    pub fn new(_settings: RuntimeSettings) -> anyhow::Result<Arc<Runtime>> {
        todo!("runtime::new")
    }

    /// Load every `.wasm` in `dir` (refusing bad files with a logged reason) and make
    /// the result the registry in force. Returns what was refused.
    pub async fn load_dir(&self, _dir: &Path) -> anyhow::Result<Vec<LoadFailure>> {
        todo!("runtime::load_dir")
    }

    /// Watch `dir`; validate-then-swap on add, change and removal. Runs until the
    /// returned guard is dropped.
    pub fn watch(self: &Arc<Self>, _dir: PathBuf) -> anyhow::Result<WatchGuard> {
        todo!("runtime::watch")
    }

    /// The registry in force now.
    pub fn registry(&self) -> Arc<Registry> {
        todo!("runtime::registry")
    }

    /// Every loaded component, sorted by kind then id.
    pub fn list(&self) -> Vec<ComponentSummary> {
        todo!("runtime::list")
    }

    /// Files refused since start (latest per path).
    pub fn failures(&self) -> Vec<LoadFailure> {
        todo!("runtime::failures")
    }

    /// One request's sandbox: a fresh store holding the provider and the fixups (in
    /// order). Instances are created lazily, so a chain of no-op hooks costs nothing.
    pub async fn sandbox(
        &self,
        _provider: &Arc<ProviderComponent>,
        _fixups: &[Arc<FixupComponent>],
        _ctx: SandboxContext,
    ) -> Result<RequestSandbox, GuestError> {
        todo!("runtime::sandbox")
    }
}

/// Keeps the directory watcher alive.
pub struct WatchGuard {
    _private: (),
}

/// One request's guests. Every call is bounded in time and memory; a trap becomes
/// `GuestError::Trap` naming the component.
pub struct RequestSandbox {
    _private: (),
}

impl RequestSandbox {
    /// Fixups' `on-request`, in order.
    pub async fn on_request(&mut self, _req: ChatRequest) -> Result<ChatRequest, GuestError> {
        todo!()
    }
    /// Provider `encode-request`.
    pub async fn encode_request(&mut self, _req: &ChatRequest, _ctx: &EncodeContext) -> Result<HttpRequest, GuestError> {
        todo!()
    }
    /// Provider `encode-native` (passthrough).
    pub async fn encode_native(&mut self, _dialect: Dialect, _body: &[u8], _ctx: &EncodeContext) -> Result<HttpRequest, GuestError> {
        todo!()
    }
    /// Fixups' `on-upstream-request`, in order.
    pub async fn on_upstream_request(&mut self, _req: HttpRequest) -> Result<HttpRequest, GuestError> {
        todo!()
    }
    /// Construct the provider's stream decoder for this response.
    pub async fn start_decoder(&mut self, _ctx: DecodeContext) -> Result<(), GuestError> {
        todo!()
    }
    /// Decoder `push`, then fixups' `on-events` (in order) over the batch.
    pub async fn push(&mut self, _chunk: &[u8]) -> Result<Vec<StreamEvent>, GuestError> {
        todo!()
    }
    /// Decoder `finish`, then fixups' `on-events`.
    pub async fn finish(&mut self) -> Result<Vec<StreamEvent>, GuestError> {
        todo!()
    }
    /// Provider `classify-error`.
    pub async fn classify_error(&mut self, _head: &ResponseHead, _body: &[u8]) -> Result<ClassifiedError, GuestError> {
        todo!()
    }
}
