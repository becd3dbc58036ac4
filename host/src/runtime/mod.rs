//! The wasm runtime: one engine, components loaded from the adapters directory,
//! an atomically swapped registry, and one sandbox (store) per request.
//!
//! The facade the rest of the host uses is in this file; the work is in the submodules:
//!
//! - [`engine`]: THE engine configuration, the linkers, the epoch ticker;
//! - [`bindings`] and [`dispatch`]: generated bindings per contract version, and the
//!   one enum per world that a new contract version adds a variant to;
//! - [`convert`]: host IR <-> WIT types, per contract version;
//! - [`loader`]: read, hash, compile (with the on-disk [`compile_cache`], whose entries
//!   are sealed with a per-install key), find the world, validate;
//! - [`registry`]: the registry in force and the validate-then-swap rescan;
//! - [`watcher`]: directory events -> debounced rescans;
//! - [`sandbox`] and [`request`]: the per-instance store, its limits, deadlines and
//!   trap mapping, and the calls of one request; [`guest_stderr`]: where a panic
//!   message is caught;
//! - [`pool`]: per component, fresh instances made ahead of requests and instances
//!   kept for their caller's next request.

pub mod bindings;
pub mod compile_cache;
pub mod convert;
pub mod dispatch;
pub mod engine;
pub mod guest_stderr;
pub mod loader;
pub mod pool;
pub mod registry;
pub mod request;
pub mod sandbox;
pub mod watcher;

pub use dispatch::Carried as FixedRequest;
pub use registry::summary_table;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::ir::{
    AdapterError, ChatRequest, Dialect, HttpRequest, ResponseHead, StreamEvent, UpstreamError,
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
    /// Bytes of each guest linear memory (and, up to 1 MiB, each table) that a freed
    /// pool slot resets in place and keeps resident for its next instance, instead of
    /// handing them back to the OS with `madvise` (see [`RuntimeTuning::pagemap_scan`]).
    pub keep_resident_bytes: usize,
    /// Most requests one contract 0.2 instance serves, all of one caller under one
    /// provider config (`pool::Tenant`), before it is dropped; 1: a fresh instance
    /// for every request.
    pub instance_requests: u32,
    /// Compile new components in a child process running this executable
    /// (`<compiler> compile-component`, see [`loader::compile_to_artifact`]) instead
    /// of in this one. `None`: compile in-process (tests, benches).
    pub compiler: Option<PathBuf>,
}

impl Default for RuntimeSettings {
    fn default() -> Self {
        Self {
            cache_dir: None,
            guest_memory_bytes: 128 << 20,
            guest_call_timeout: Duration::from_secs(2),
            max_instances: 4000,
            keep_resident_bytes: 1 << 20,
            instance_requests: 1000,
            compiler: None,
        }
    }
}

/// How much work the runtime does ahead of, and after, a request's response path.
/// Not part of the config file: the defaults are the measured best; benchmarks
/// and tests turn the pieces off to compare (see docs/architecture.md, "Instances
/// made ahead of time").
#[derive(Debug, Clone)]
pub struct RuntimeTuning {
    /// Fresh, never-entered instances kept waiting per loaded component (0: every
    /// instance is made on the request's path).
    pub ready_instances: usize,
    /// Call each waiting instance's `info()` once while it waits (request-independent:
    /// it runs the guest's initialisers and touches its first heap pages early).
    pub warm_ready: bool,
    /// Drop a finished request's stores on a background task instead of in place.
    pub background_teardown: bool,
    /// `PoolingAllocationConfig::pagemap_scan` (Linux 6.7+, else ignored): find the
    /// pages a guest wrote with the `PAGEMAP_SCAN` ioctl and reset only those, so a
    /// slot whose dirty set fits [`RuntimeSettings::keep_resident_bytes`] is recycled
    /// without `madvise` (no TLB-shootdown IPIs, no page faults on its next use).
    /// Without it, keeping memory resident means `memset`ting all of it.
    pub pagemap_scan: bool,
}

impl Default for RuntimeTuning {
    fn default() -> Self {
        Self {
            ready_instances: 2,
            warm_ready: true,
            background_teardown: true,
            pagemap_scan: true,
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

/// Where the host puts an account's secret on an outgoing request (a credential
/// kind's `placement`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// No credential.
    None,
    /// `Authorization: Bearer <secret>`.
    Bearer,
    /// A named header holding the secret after an optional prefix.
    Header {
        /// Header name, e.g. `x-api-key`.
        name: String,
        /// Text before the secret, e.g. `token `.
        prefix: Option<String>,
    },
    /// A query parameter holding the secret.
    Query(String),
}

/// The credential specs as contract 0.2 declares them (`credentials.wit`), used as
/// the host's own types: what `plugboard adapters show` prints and the login code
/// runs. A 0.1 adapter's `auth-scheme` arrives as one kind of these.
pub mod spec {
    pub use super::bindings::v0_2::credentials::{
        AccountRead, AuthorizationCodeSpec, BodyEncoding, ClientRegistration, CredentialKind,
        DeviceCodeSpec, ExchangeSpec, HeaderPlacement, LoginInput, Obtain, Placement, PollPending,
        RefreshSpec, SetupAnswer, SetupContext, SetupRequest, SetupStep, TokenAnswer, TokenCall,
        TokenValue,
    };
    pub use super::bindings::v0_2::provider::exports::plugboard::adapter::translator::{
        AccountFacts, QuotaWindow, ReadContext,
    };
}

/// One way an account of an adapter holds its secret: its id and placement in host
/// form, and the whole declaration (obtain, inputs, refresh, exchange, setup).
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialKind {
    /// Stable name accounts record, e.g. `api-key`.
    pub id: String,
    /// One line for humans.
    pub description: String,
    /// Where the secret goes on a request.
    pub placement: Placement,
    /// Everything the adapter declared about the kind.
    pub declared: spec::CredentialKind,
}

impl CredentialKind {
    /// Whether the operator supplies the secret (an API key).
    pub fn is_key(&self) -> bool {
        matches!(self.declared.obtain, spec::Obtain::Key)
    }
}

/// A URL an adapter uses, by name (`base` is the upstream's base URL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Name, e.g. `base`, `token`.
    pub name: String,
    /// Default URL; may hold `{attribute}` placeholders.
    pub url: String,
    /// One line for humans.
    pub description: String,
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
    /// API routes the upstream serves it on (Copilot's `supported_endpoints`); empty
    /// when unknown.
    pub routes: Vec<String>,
}

/// What a provider component says about itself, in the newest contract's terms
/// (a 0.1 adapter's info is converted up: see `convert::v0_1`).
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderInfo {
    /// Stable id config refers to.
    pub id: String,
    /// The adapter's own version.
    pub version: String,
    /// The contract it was built against, from the world it exports (`0.1.0`, `0.2.0`).
    pub contract_version: String,
    /// One line for humans.
    pub description: String,
    /// Models it knows by default.
    pub models: Vec<ModelInfo>,
    /// Client dialects the upstream speaks natively (passthrough).
    pub native_dialects: Vec<Dialect>,
    /// The ways an account may hold its secret.
    pub credential_kinds: Vec<CredentialKind>,
    /// Every URL it uses, by name; `base` included.
    pub endpoints: Vec<Endpoint>,
    /// Hosts it needs to reach.
    pub hosts: Vec<String>,
    /// Fixup ids applied before configured ones.
    pub default_fixups: Vec<String>,
}

impl ProviderInfo {
    /// The default URL of the endpoint `name`.
    pub fn endpoint(&self, name: &str) -> Option<&str> {
        self.endpoints
            .iter()
            .find(|endpoint| endpoint.name == name)
            .map(|endpoint| endpoint.url.as_str())
    }

    /// The credential kind `id`.
    pub fn credential_kind(&self, id: &str) -> Option<&CredentialKind> {
        self.credential_kinds.iter().find(|kind| kind.id == id)
    }

    /// The kind that serves a provider entry's `api-keys`: the first whose secret the
    /// operator supplies.
    pub fn default_key_kind(&self) -> Option<&CredentialKind> {
        self.credential_kinds.iter().find(|kind| kind.is_key())
    }

    /// The kind an account holds: the one it names, else [`Self::default_key_kind`].
    pub fn account_kind(&self, named: Option<&str>) -> Option<&CredentialKind> {
        match named {
            Some(id) => self.credential_kind(id),
            None => self.default_key_kind(),
        }
    }

    /// The declared kind ids, comma-separated (`none` when there are none), for
    /// messages that name what an account could hold.
    pub fn kind_ids(&self) -> String {
        let ids: Vec<&str> = self
            .credential_kinds
            .iter()
            .map(|k| k.id.as_str())
            .collect();
        if ids.is_empty() {
            "none".to_owned()
        } else {
            ids.join(", ")
        }
    }
}

/// Which fixup hooks are implemented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Hooks {
    /// `on-request`.
    pub request: bool,
    /// `on-upstream-request`.
    pub upstream_request: bool,
    /// `on-events`.
    pub events: bool,
}

/// Which requests a fixup is for; each empty list admits anything. Checked by the
/// host before any guest is entered.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AppliesTo {
    /// Client dialects.
    pub dialects: Vec<Dialect>,
    /// Adapter ids of the provider serving the request.
    pub adapters: Vec<String>,
    /// Upstream model ids; a trailing `*` matches any suffix.
    pub models: Vec<String>,
}

impl AppliesTo {
    /// Whether a request in `dialect`, served by adapter `adapter_id`, for upstream
    /// model `model`, is one the fixup is for.
    pub fn admits(&self, dialect: Dialect, adapter_id: &str, model: &str) -> bool {
        let model_matches = |pattern: &String| match pattern.strip_suffix('*') {
            Some(prefix) => model.starts_with(prefix),
            None => pattern == model,
        };
        (self.dialects.is_empty() || self.dialects.contains(&dialect))
            && (self.adapters.is_empty() || self.adapters.iter().any(|a| a == adapter_id))
            && (self.models.is_empty() || self.models.iter().any(model_matches))
    }
}

/// What a fixup component says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixupInfo {
    /// Stable id config refers to.
    pub id: String,
    /// The fixup's own version.
    pub version: String,
    /// The contract it was built against, from the world it exports.
    pub contract_version: String,
    /// One line for humans.
    pub description: String,
    /// Hooks implemented.
    pub hooks: Hooks,
    /// Which requests it is for (a 0.1 fixup admits all).
    pub applies_to: AppliesTo,
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
    /// The file it was loaded from.
    pub(crate) path: PathBuf,
    /// `id@version`, the name every error and log line uses.
    pub(crate) label: Arc<str>,
    /// Linked and type-checked, with fresh instances waiting for requests.
    pub(crate) ready: Arc<pool::ReadyPool<dispatch::ProviderPre>>,
}

/// A loaded, validated fixup component.
pub struct FixupComponent {
    pub info: FixupInfo,
    pub hash: String,
    /// The file it was loaded from.
    pub(crate) path: PathBuf,
    /// `id@version`.
    pub(crate) label: Arc<str>,
    /// Linked and type-checked, with fresh instances waiting for requests.
    pub(crate) ready: Arc<pool::ReadyPool<dispatch::FixupPre>>,
}

impl ProviderComponent {
    /// `id@version`.
    pub fn label(&self) -> &str {
        &self.label
    }
    /// The file it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl FixupComponent {
    /// `id@version`.
    pub fn label(&self) -> &str {
        &self.label
    }
    /// The file it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }
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

/// Facts a request sandbox needs: one attempt of one request.
#[derive(Debug, Clone)]
pub struct SandboxContext {
    /// The provider entry's `config:` block, as a JSON object text (`{}` when unset).
    pub provider_config: Arc<str>,
    /// Name of the provider entry in config.
    pub provider_name: String,
    /// The attempt, as the provider's `call` sees it.
    pub call: CallContext,
    /// The caller (client key name; empty for the plain `api-keys` list) when the
    /// request may take, and leave behind, an instance that served an earlier request
    /// of the same caller under the same provider config; `None`: fresh instances,
    /// dropped after (account reads and setup, tests).
    pub reuse_for: Option<Arc<str>>,
}

/// The account serving an attempt (non-secret facts only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Account name.
    pub id: String,
    /// Non-secret attributes (project id, region...).
    pub attributes: Vec<(String, String)>,
}

/// Everything one attempt of one request is, said once (contract 0.2's
/// `call-context`; a 0.1 provider gets its `encode-context` built from it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallContext {
    /// The account serving it.
    pub account: Account,
    /// The id of the credential kind the account holds.
    pub credential_kind: String,
    /// The upstream model id.
    pub model: String,
    /// The dialect the client speaks.
    pub client_dialect: Dialect,
    /// Whether the client wants a stream.
    pub stream: bool,
    /// The client's headers minus credentials and hop-by-hop ones (see
    /// `pipeline::client_headers::forwardable`).
    pub client_headers: Vec<(String, String)>,
    /// The adapter's endpoints resolved for this attempt (name, URL), `base` included.
    pub endpoints: Vec<(String, String)>,
    /// What is known about the model (the account's `models` read, else the adapter's
    /// own list).
    pub model_info: Option<ModelInfo>,
}

impl CallContext {
    /// The resolved URL of endpoint `name`.
    pub fn endpoint(&self, name: &str) -> Option<&str> {
        self.endpoints
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, url)| url.as_str())
    }
}

/// Which request a fixup hook is filtering (contract 0.2's `fixup-context`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixupContext {
    /// Name of the provider entry in config.
    pub provider: String,
    /// Adapter id of that entry.
    pub adapter: String,
    /// The account serving the attempt.
    pub account: String,
    /// The upstream model id.
    pub model: String,
    /// The dialect the client speaks.
    pub client_dialect: Dialect,
    /// On a retry of a request refused as too long, the size (estimated tokens) the
    /// entry's reducing fixup should cut the conversation to.
    pub token_budget: Option<u32>,
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
    Adapter {
        component: String,
        error: AdapterError,
    },
    /// The guest trapped; its instance is discarded.
    #[error("{component} trapped: {reason:?}")]
    Trap {
        component: String,
        reason: TrapReason,
    },
    /// The host could not set the sandbox up (e.g. pool exhausted).
    #[error("{component}: {message}")]
    Host { component: String, message: String },
}

/// The runtime: engine, loader, registry, watcher.
pub struct Runtime {
    tools: Arc<loader::Toolchain>,
    registry: registry::RegistryCell,
    _ticker: engine::EpochTicker,
}

impl Runtime {
    /// Build the engine (see `runtime::engine`).
    pub fn new(settings: RuntimeSettings) -> anyhow::Result<Arc<Runtime>> {
        Self::with_tuning(settings, RuntimeTuning::default())
    }

    /// Like [`Runtime::new`] with explicit [`RuntimeTuning`] (benchmarks compare).
    pub fn with_tuning(
        settings: RuntimeSettings,
        tuning: RuntimeTuning,
    ) -> anyhow::Result<Arc<Runtime>> {
        let engine = engine::build_engine(&settings, &tuning)
            .map_err(|e| anyhow::anyhow!("cannot build the wasm engine: {e:#}"))?;
        let ticker = engine::EpochTicker::start(engine.clone())?;
        let tools = loader::Toolchain::new(engine, settings, tuning)
            .map_err(|e| anyhow::anyhow!("cannot link the host interfaces: {e:#}"))?;
        Ok(Arc::new(Runtime {
            tools: Arc::new(tools),
            registry: registry::RegistryCell::default(),
            _ticker: ticker,
        }))
    }

    /// Load every `.wasm` in `dir` (refusing bad files with a logged reason) and make
    /// the result the registry in force. Returns what was refused.
    pub async fn load_dir(&self, dir: &Path) -> anyhow::Result<Vec<LoadFailure>> {
        self.registry.rescan(&self.tools, dir).await
    }

    /// Watch `dir`; validate-then-swap on add, change and removal. Runs until the
    /// returned guard is dropped.
    pub fn watch(self: &Arc<Self>, dir: PathBuf) -> anyhow::Result<WatchGuard> {
        Ok(WatchGuard {
            _watch: watcher::watch(Arc::downgrade(self), dir)?,
        })
    }

    /// The registry in force now.
    pub fn registry(&self) -> Arc<Registry> {
        self.registry.current()
    }

    /// Every loaded component, sorted by kind then id.
    pub fn list(&self) -> Vec<ComponentSummary> {
        registry::summaries(&self.registry())
    }

    /// Files refused since start (latest per path).
    pub fn failures(&self) -> Vec<LoadFailure> {
        self.registry.failures()
    }

    /// One attempt's sandbox: the provider and the fixups (in order), each taken on
    /// first use in its own store (see `runtime::request`): an instance the same
    /// caller's earlier request left behind when the context allows it
    /// ([`SandboxContext::reuse_for`], `pool::Tenant`), else a fresh one. A
    /// fixup is entered only for the hooks it implements and only when its
    /// `applies_to` admits the call's dialect, adapter and model, so a chain of no-op
    /// or guarded-out hooks costs nothing.
    pub async fn sandbox(
        &self,
        provider: &Arc<ProviderComponent>,
        fixups: &[Arc<FixupComponent>],
        mut ctx: SandboxContext,
    ) -> Result<RequestSandbox, GuestError> {
        // One request per instance: nothing is ever kept, so nothing is looked for.
        if self.tools.settings.instance_requests <= 1 {
            ctx.reuse_for = None;
        }
        let inner =
            request::Sandbox::new(provider, fixups, ctx, self.tools.tuning.background_teardown);
        Ok(RequestSandbox { inner })
    }

    /// Make one fresh instance of the component `id` (provider or fixup) in a new
    /// store, bypassing waiting instances, and tear it down: what a cold instance
    /// costs. For benchmarks and diagnostics; never used on a request's path.
    pub async fn instantiate_cold(&self, id: &str) -> Result<(), GuestError> {
        let registry = self.registry();
        let outcome = if let Some(provider) = registry.provider(id) {
            provider.ready.make_now().await.map(drop)
        } else if let Some(fixup) = registry.fixup(id) {
            fixup.ready.make_now().await.map(drop)
        } else {
            return Err(GuestError::Host {
                component: id.to_owned(),
                message: "no such component".into(),
            });
        };
        outcome.map_err(|failure| pool::take_error(&Arc::from(id), failure))
    }
}

/// Keeps the directory watcher alive.
pub struct WatchGuard {
    _watch: watcher::DirectoryWatch,
}

/// One request's guests. Every call is bounded in time and memory; a trap becomes
/// `GuestError::Trap` naming the component.
pub struct RequestSandbox {
    inner: request::Sandbox,
}

impl RequestSandbox {
    /// Tell the fixups the size, in estimated tokens, to cut the conversation to
    /// (`fixup-context.token-budget`, `None` by default): the pipeline sets it on the
    /// retry of a request refused as too long, before any hook runs.
    pub fn set_token_budget(&mut self, budget: Option<u32>) {
        self.inner.set_token_budget(budget);
    }
    /// Fixups' `on-request`, in order: only those that implement it and whose
    /// `applies-to` admits the request are entered. The request comes back in the form
    /// the last hop left it, for [`Self::encode`] ([`FixedRequest::into_host`] for the
    /// host IR).
    pub async fn on_request(&mut self, req: ChatRequest) -> Result<FixedRequest, GuestError> {
        self.inner.on_request(req).await
    }
    /// Provider encode (0.2: `call.encode`, 0.1: `encode-request`) of a request as the
    /// fixups left it (or host IR, `request.into()`): a 0.2 request reaches a 0.2
    /// provider without a conversion back to the host IR and forth.
    pub async fn encode(&mut self, req: FixedRequest) -> Result<HttpRequest, GuestError> {
        self.inner.encode(req).await
    }
    /// Provider native passthrough encode of the client's body, in the call's client
    /// dialect (0.2: `call.encode-native`, 0.1: `encode-native`).
    pub async fn encode_native(&mut self, body: &[u8]) -> Result<HttpRequest, GuestError> {
        self.inner.encode_native(body).await
    }
    /// Fixups' `on-upstream-request`, in order.
    pub async fn on_upstream_request(
        &mut self,
        req: HttpRequest,
    ) -> Result<HttpRequest, GuestError> {
        self.inner.on_upstream_request(req).await
    }
    /// A 2xx answer arrived: `streaming` when its body is an event stream (0.2:
    /// `call.respond`; 0.1: its stream decoder is constructed, in passthrough mode
    /// when `encode_native` was used).
    pub async fn respond(
        &mut self,
        head: &ResponseHead,
        streaming: bool,
    ) -> Result<(), GuestError> {
        self.inner.respond(head, streaming).await
    }
    /// Provider decode of the next body chunk, then fixups' `on-events` over the batch.
    pub async fn push(&mut self, chunk: &[u8]) -> Result<Vec<StreamEvent>, GuestError> {
        self.inner.push(chunk).await
    }
    /// Provider end of body, then fixups' `on-events`.
    pub async fn finish(&mut self) -> Result<Vec<StreamEvent>, GuestError> {
        self.inner.finish().await
    }
    /// The attempt is over (its body decoded to the end, or its refusal classified):
    /// the provider's per-attempt state is dropped in the guest now, so its instance
    /// can go straight back to its pool when the sandbox drops. Optional: a sandbox
    /// dropped without it ends the attempt on a background task.
    pub async fn end(&mut self) {
        self.inner.end().await
    }
    /// Provider `account-setup`: the next step of an account's setup (sans-IO; the
    /// host sends what it asks for). The sandbox's call context is not used.
    pub async fn account_setup(
        &mut self,
        ctx: &spec::SetupContext,
    ) -> Result<spec::SetupStep, GuestError> {
        self.inner.account_setup(ctx).await
    }
    /// Provider `read-account`: the facts in the answer of one of an account's reads
    /// (sans-IO; the host made the call). The sandbox's call context is not used.
    pub async fn read_account(
        &mut self,
        ctx: &spec::ReadContext,
    ) -> Result<spec::AccountFacts, GuestError> {
        self.inner.read_account(ctx).await
    }
    /// Provider `classify-error` of a non-2xx answer.
    pub async fn classify_error(
        &mut self,
        head: &ResponseHead,
        body: &[u8],
    ) -> Result<UpstreamError, GuestError> {
        self.inner.classify_error(head, body).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(dialects: &[Dialect], adapters: &[&str], models: &[&str]) -> AppliesTo {
        AppliesTo {
            dialects: dialects.to_vec(),
            adapters: adapters.iter().map(|a| a.to_string()).collect(),
            models: models.iter().map(|m| m.to_string()).collect(),
        }
    }

    #[test]
    fn an_empty_guard_admits_every_request() {
        assert!(AppliesTo::default().admits(Dialect::OpenaiChat, "openai", "gpt-4o"));
    }

    #[test]
    fn a_trailing_star_matches_any_suffix_and_nothing_else_does() {
        let gemini = guard(&[], &[], &["gemini-*", "exact-model"]);
        assert!(gemini.admits(Dialect::Gemini, "gemini", "gemini-2.5-pro"));
        assert!(gemini.admits(Dialect::Gemini, "gemini", "gemini-"));
        assert!(gemini.admits(Dialect::Gemini, "gemini", "exact-model"));
        assert!(!gemini.admits(Dialect::Gemini, "gemini", "exact-model-2"));
        assert!(!gemini.admits(Dialect::Gemini, "gemini", "gpt-4o"));
        assert!(!gemini.admits(Dialect::Gemini, "gemini", "gemini"));
    }

    #[test]
    fn every_listed_dimension_must_admit() {
        let narrow = guard(&[Dialect::AnthropicMessages], &["anthropic"], &["claude-*"]);
        assert!(narrow.admits(Dialect::AnthropicMessages, "anthropic", "claude-sonnet"));
        assert!(!narrow.admits(Dialect::OpenaiChat, "anthropic", "claude-sonnet"));
        assert!(!narrow.admits(Dialect::AnthropicMessages, "bedrock", "claude-sonnet"));
        assert!(!narrow.admits(Dialect::AnthropicMessages, "anthropic", "gpt-4o"));
    }

    #[test]
    fn the_key_kind_is_the_first_whose_secret_the_operator_supplies() {
        let kind = |id: &str, obtain: spec::Obtain| CredentialKind {
            id: id.into(),
            description: String::new(),
            placement: Placement::Bearer,
            declared: spec::CredentialKind {
                id: id.into(),
                description: String::new(),
                placement: spec::Placement::Bearer,
                obtain,
                inputs: vec![],
                refresh: None,
                exchange: None,
                setup: false,
                reads: vec![],
            },
        };
        let device = spec::Obtain::DeviceCode(spec::DeviceCodeSpec {
            client_id: "c".into(),
            client_secret: None,
            scopes: vec![],
            scope_separator: " ".into(),
            registration: None,
            start: token_call(),
            user_code: "/user_code".into(),
            verification_uri: "/verification_uri".into(),
            verification_uri_complete: None,
            device_code: None,
            interval: None,
            expires_in: None,
            poll: token_call(),
            pending: spec::PollPending {
                error_code: "/error".into(),
                pending: vec![],
                slow_down: vec![],
                pending_statuses: vec![],
            },
            then: None,
            answer: spec::TokenAnswer {
                access_token: "/access_token".into(),
                refresh_token: None,
                id_token: None,
                expires_in: None,
                expires_at: None,
                base_url: None,
                attributes: vec![],
            },
        });
        let info = ProviderInfo {
            id: "p".into(),
            version: "1.0.0".into(),
            contract_version: "0.2.0".into(),
            description: String::new(),
            models: vec![],
            native_dialects: vec![],
            credential_kinds: vec![
                kind("oauth", device),
                kind("api-key", spec::Obtain::Key),
                kind("other-key", spec::Obtain::Key),
            ],
            endpoints: vec![Endpoint {
                name: "base".into(),
                url: "https://api.example.com".into(),
                description: String::new(),
            }],
            hosts: vec![],
            default_fixups: vec![],
        };
        assert_eq!(info.default_key_kind().unwrap().id, "api-key");
        assert!(info.credential_kind("oauth").is_some_and(|k| !k.is_key()));
        assert_eq!(info.endpoint("base"), Some("https://api.example.com"));
        assert_eq!(info.endpoint("token"), None);
    }

    fn token_call() -> spec::TokenCall {
        spec::TokenCall {
            endpoint: "device".into(),
            method: "POST".into(),
            encoding: spec::BodyEncoding::Form,
            fields: vec![("client_id".into(), spec::TokenValue::ClientId)],
            headers: vec![],
            present: spec::Placement::None,
        }
    }
}
