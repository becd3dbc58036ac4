//! Version dispatch: one enum variant per supported contract version, one `match`
//! per call (the pattern of Zed's extension host). Nothing outside this file and
//! `convert` learns about versions.
//!
//! The calls follow contract 0.2's shape (a per-attempt `call` resource, stateless
//! fixups); a 0.1 component is driven through the same calls: its encode functions
//! get an `encode-context` built from the [`CallContext`], its `stream-decoder` is
//! constructed at `respond`, and its fixups' `filter` resource is opened on first use.

use std::sync::Arc;

use wasmtime::Store;
use wasmtime::component::{InstancePre, ResourceAny};

use crate::ir;
use crate::runtime::bindings::{v0_1, v0_2};
use crate::runtime::convert::{v0_1 as convert_v0_1, v0_2 as convert_v0_2};
use crate::runtime::sandbox::GuestState;
use crate::runtime::{CallContext, FixupContext, FixupInfo, ProviderInfo};

/// What a guest call returns: a trap (outer) or the guest's own error value (inner).
pub type GuestResult<T> = wasmtime::Result<Result<T, ir::AdapterError>>;

/// The 0.2 `fixup-context` in generated form.
type FixupContextV0_2 = v0_2::fixup::exports::plugboard::adapter::filter::FixupContext;

/// A pre-linked provider component, ready to instantiate into any store.
#[derive(Clone)]
pub enum ProviderPre {
    /// Built against `plugboard:adapter@0.1.x`.
    V0_1(v0_1::provider::ProviderPre<GuestState>),
    /// Built against `plugboard:adapter@0.2.x`.
    V0_2(v0_2::provider::ProviderPre<GuestState>),
}

/// A pre-linked fixup component.
#[derive(Clone)]
pub enum FixupPre {
    /// Built against `plugboard:adapter@0.1.x`.
    V0_1(v0_1::fixup::FixupPre<GuestState>),
    /// Built against `plugboard:adapter@0.2.x`.
    V0_2(v0_2::fixup::FixupPre<GuestState>),
}

/// A live provider instance inside one attempt's store. The bindings are export
/// handles into the store, shared (`Arc`) so a call can hold them while the
/// sandbox updates the instance's slot.
#[derive(Clone)]
pub enum ProviderInstance {
    /// Contract 0.1.
    V0_1(Arc<v0_1::provider::Provider>),
    /// Contract 0.2.
    V0_2(Arc<v0_2::provider::Provider>),
}

/// The guest resources one attempt has opened in its provider instance.
#[derive(Debug, Clone, Copy, Default)]
pub struct AttemptState {
    /// 0.2: the attempt's `call`, constructed on first use.
    call: Option<ResourceAny>,
    /// 0.1: the `stream-decoder`, constructed at `respond`.
    decoder: Option<ResourceAny>,
    /// 0.1: the request went out through `encode-native` (the decoder passes through).
    native: bool,
}

/// A live fixup instance, ready for its hooks.
#[derive(Clone)]
pub enum FixupInstance {
    /// Contract 0.1, with the request's `filter` resource.
    V0_1 {
        /// Export handles.
        bindings: Arc<v0_1::fixup::Fixup>,
        /// The request's filter.
        filter: ResourceAny,
    },
    /// Contract 0.2: stateless functions, nothing to open.
    V0_2(Arc<v0_2::fixup::Fixup>),
}

impl AttemptState {
    /// Whether the attempt holds no guest resource (none was made, or all were dropped).
    pub fn is_clear(&self) -> bool {
        self.call.is_none() && self.decoder.is_none()
    }
}

impl ProviderPre {
    /// Type-check `pre` against the 0.1 provider world.
    pub fn v0_1(pre: InstancePre<GuestState>) -> wasmtime::Result<Self> {
        Ok(Self::V0_1(v0_1::provider::ProviderPre::new(pre)?))
    }

    /// Type-check `pre` against the 0.2 provider world.
    pub fn v0_2(pre: InstancePre<GuestState>) -> wasmtime::Result<Self> {
        Ok(Self::V0_2(v0_2::provider::ProviderPre::new(pre)?))
    }

    /// A fresh instance in `store`.
    pub async fn instantiate(
        &self,
        store: &mut Store<GuestState>,
    ) -> wasmtime::Result<ProviderInstance> {
        match self {
            Self::V0_1(pre) => Ok(ProviderInstance::V0_1(Arc::new(
                pre.instantiate_async(store).await?,
            ))),
            Self::V0_2(pre) => Ok(ProviderInstance::V0_2(Arc::new(
                pre.instantiate_async(store).await?,
            ))),
        }
    }
}

impl FixupPre {
    /// Type-check `pre` against the 0.1 fixup world.
    pub fn v0_1(pre: InstancePre<GuestState>) -> wasmtime::Result<Self> {
        Ok(Self::V0_1(v0_1::fixup::FixupPre::new(pre)?))
    }

    /// Type-check `pre` against the 0.2 fixup world.
    pub fn v0_2(pre: InstancePre<GuestState>) -> wasmtime::Result<Self> {
        Ok(Self::V0_2(v0_2::fixup::FixupPre::new(pre)?))
    }

    /// A fresh instance in `store`, with nothing request-specific in it: what a pool
    /// can make before any request is known.
    pub async fn instantiate_bare(
        &self,
        store: &mut Store<GuestState>,
    ) -> wasmtime::Result<FixupBare> {
        match self {
            Self::V0_1(pre) => Ok(FixupBare::V0_1(pre.instantiate_async(store).await?)),
            Self::V0_2(pre) => Ok(FixupBare::V0_2(Arc::new(
                pre.instantiate_async(store).await?,
            ))),
        }
    }

    /// Describe the component (load-time validation): instantiate and call `info`.
    pub async fn info(
        &self,
        store: &mut Store<GuestState>,
        contract_version: &str,
    ) -> wasmtime::Result<FixupInfo> {
        let bare = self.instantiate_bare(store).await?;
        bare.info(store, contract_version).await
    }
}

/// A fixup instance before any request.
pub enum FixupBare {
    /// Contract 0.1.
    V0_1(v0_1::fixup::Fixup),
    /// Contract 0.2.
    V0_2(Arc<v0_2::fixup::Fixup>),
}

impl FixupBare {
    /// `info()`: request-independent (used to warm a waiting instance).
    pub async fn info(
        &self,
        store: &mut Store<GuestState>,
        contract_version: &str,
    ) -> wasmtime::Result<FixupInfo> {
        match self {
            Self::V0_1(bindings) => {
                let info = bindings.plugboard_adapter_filter().call_info(store).await?;
                Ok(convert_v0_1::fixup_info(info, contract_version))
            }
            Self::V0_2(bindings) => {
                let info = bindings.plugboard_adapter_filter().call_info(store).await?;
                Ok(convert_v0_2::fixup_info(info, contract_version))
            }
        }
    }

    /// Make the instance ready for the request's hooks: a 0.1 fixup's `filter` is
    /// constructed (its first call); a 0.2 fixup needs nothing.
    pub async fn open(
        self,
        store: &mut Store<GuestState>,
        ctx: &FixupContext,
    ) -> wasmtime::Result<FixupInstance> {
        match self {
            Self::V0_1(bindings) => {
                let context = convert_v0_1::fixup_context(ctx);
                let filter = bindings
                    .plugboard_adapter_filter()
                    .filter()
                    .call_constructor(&mut *store, &context)
                    .await?;
                Ok(FixupInstance::V0_1 {
                    bindings: Arc::new(bindings),
                    filter,
                })
            }
            Self::V0_2(bindings) => Ok(FixupInstance::V0_2(bindings)),
        }
    }
}

impl ProviderInstance {
    /// `info()`, reported as contract `contract_version`.
    pub async fn info(
        &self,
        store: &mut Store<GuestState>,
        contract_version: &str,
    ) -> wasmtime::Result<ProviderInfo> {
        match self {
            Self::V0_1(p) => {
                let info = p.plugboard_adapter_translator().call_info(store).await?;
                Ok(convert_v0_1::provider_info(info, contract_version))
            }
            Self::V0_2(p) => {
                let info = p.plugboard_adapter_translator().call_info(store).await?;
                Ok(convert_v0_2::provider_info(info, contract_version))
            }
        }
    }

    /// Whether the instance may serve another request once its attempt is closed:
    /// a 0.2 instance (a 0.1 instance's resources are never handed back).
    pub fn is_reusable(&self) -> bool {
        matches!(self, Self::V0_2(_))
    }

    /// End the attempt in this instance so another request may use it: its 0.2 `call`
    /// resource is dropped (the guest frees its state). A 0.1 instance is left as it is.
    pub async fn close(
        &self,
        store: &mut Store<GuestState>,
        state: &mut AttemptState,
    ) -> wasmtime::Result<()> {
        if let (Self::V0_2(_), Some(call)) = (self, state.call.take()) {
            call.resource_drop_async(store).await?;
        }
        Ok(())
    }

    /// The attempt's 0.2 `call`, constructed on first use.
    async fn call_v0_2(
        p: &v0_2::provider::Provider,
        store: &mut Store<GuestState>,
        state: &mut AttemptState,
        ctx: &CallContext,
    ) -> wasmtime::Result<ResourceAny> {
        if let Some(call) = state.call {
            return Ok(call);
        }
        let context = convert_v0_2::call_context(ctx);
        let call = p
            .plugboard_adapter_translator()
            .call()
            .call_constructor(store, &context)
            .await?;
        state.call = Some(call);
        Ok(call)
    }

    /// Encode an IR request (0.2 `call.encode`, 0.1 `encode-request`), taking it in
    /// the form the fixup chain left it: a 0.2 request goes to a 0.2 provider as it is.
    pub async fn encode(
        &self,
        store: &mut Store<GuestState>,
        state: &mut AttemptState,
        ctx: &CallContext,
        request: Carried,
    ) -> GuestResult<ir::HttpRequest> {
        match self {
            Self::V0_1(p) => {
                let request = request.into_v0_1(&ctx.model);
                let context = convert_v0_1::encode_context(ctx);
                let out = p
                    .plugboard_adapter_translator()
                    .call_encode_request(store, &request, &context)
                    .await?;
                Ok(out.map(Into::into).map_err(Into::into))
            }
            Self::V0_2(p) => {
                let call = Self::call_v0_2(p, store, state, ctx).await?;
                let request = request.into_v0_2();
                let out = p
                    .plugboard_adapter_translator()
                    .call()
                    .call_encode(store, call, &request)
                    .await?;
                Ok(out.map(Into::into).map_err(Into::into))
            }
        }
    }

    /// Native passthrough of the client's body (0.2 `call.encode-native`, 0.1
    /// `encode-native` in the call's client dialect).
    pub async fn encode_native(
        &self,
        store: &mut Store<GuestState>,
        state: &mut AttemptState,
        ctx: &CallContext,
        body: &[u8],
    ) -> GuestResult<ir::HttpRequest> {
        match self {
            Self::V0_1(p) => {
                state.native = true;
                let context = convert_v0_1::encode_context(ctx);
                let out = p
                    .plugboard_adapter_translator()
                    .call_encode_native(store, ctx.client_dialect.into(), body, &context)
                    .await?;
                Ok(out.map(Into::into).map_err(Into::into))
            }
            Self::V0_2(p) => {
                let call = Self::call_v0_2(p, store, state, ctx).await?;
                let out = p
                    .plugboard_adapter_translator()
                    .call()
                    .call_encode_native(store, call, body)
                    .await?;
                Ok(out.map(Into::into).map_err(Into::into))
            }
        }
    }

    /// A 2xx answer arrived (0.2 `call.respond`; 0.1: the `stream-decoder` is made).
    pub async fn respond(
        &self,
        store: &mut Store<GuestState>,
        state: &mut AttemptState,
        ctx: &CallContext,
        head: &ir::ResponseHead,
        streaming: bool,
    ) -> wasmtime::Result<()> {
        match self {
            Self::V0_1(p) => {
                let passthrough = state.native.then_some(ctx.client_dialect);
                let context = convert_v0_1::decode_context(head, streaming, passthrough);
                let decoder = p
                    .plugboard_adapter_translator()
                    .stream_decoder()
                    .call_constructor(store, &context)
                    .await?;
                state.decoder = Some(decoder);
                Ok(())
            }
            Self::V0_2(p) => {
                let call = Self::call_v0_2(p, store, state, ctx).await?;
                let head = head.clone().into();
                p.plugboard_adapter_translator()
                    .call()
                    .call_respond(store, call, &head, streaming)
                    .await
            }
        }
    }

    /// The 0.1 decoder, or a clear error when `respond` was never called.
    fn decoder(state: &AttemptState) -> wasmtime::Result<ResourceAny> {
        state
            .decoder
            .ok_or_else(|| wasmtime::Error::msg("no stream decoder: call respond first"))
    }

    /// Decode the next body chunk (0.2 `call.decode`, 0.1 `stream-decoder.push`).
    pub async fn decode(
        &self,
        store: &mut Store<GuestState>,
        state: &mut AttemptState,
        ctx: &CallContext,
        chunk: &[u8],
    ) -> GuestResult<Vec<ir::StreamEvent>> {
        match self {
            Self::V0_1(p) => {
                let decoder = Self::decoder(state)?;
                let out = p
                    .plugboard_adapter_translator()
                    .stream_decoder()
                    .call_push(store, decoder, chunk)
                    .await?;
                Ok(out.map(convert_v0_1::events_from_wit).map_err(Into::into))
            }
            Self::V0_2(p) => {
                let call = Self::call_v0_2(p, store, state, ctx).await?;
                let out = p
                    .plugboard_adapter_translator()
                    .call()
                    .call_decode(store, call, chunk)
                    .await?;
                Ok(out.map(convert_v0_2::events_from_wit).map_err(Into::into))
            }
        }
    }

    /// The body ended (0.2 `call.decode-end`, 0.1 `stream-decoder.finish`).
    pub async fn decode_end(
        &self,
        store: &mut Store<GuestState>,
        state: &mut AttemptState,
        ctx: &CallContext,
    ) -> GuestResult<Vec<ir::StreamEvent>> {
        match self {
            Self::V0_1(p) => {
                let decoder = Self::decoder(state)?;
                let out = p
                    .plugboard_adapter_translator()
                    .stream_decoder()
                    .call_finish(store, decoder)
                    .await?;
                Ok(out.map(convert_v0_1::events_from_wit).map_err(Into::into))
            }
            Self::V0_2(p) => {
                let call = Self::call_v0_2(p, store, state, ctx).await?;
                let out = p
                    .plugboard_adapter_translator()
                    .call()
                    .call_decode_end(store, call)
                    .await?;
                Ok(out.map(convert_v0_2::events_from_wit).map_err(Into::into))
            }
        }
    }

    /// `account-setup` (0.2): the next step of an account's setup. A 0.1 adapter has
    /// none (its kinds never ask for one).
    pub async fn account_setup(
        &self,
        store: &mut Store<GuestState>,
        ctx: &super::spec::SetupContext,
    ) -> GuestResult<super::spec::SetupStep> {
        match self {
            Self::V0_1(_) => Ok(Err(ir::AdapterError {
                kind: ir::ErrorKind::Unsupported,
                message: "a contract 0.1 adapter has no account-setup".into(),
            })),
            Self::V0_2(p) => Ok(p
                .plugboard_adapter_translator()
                .call_account_setup(store, ctx)
                .await?
                .map_err(Into::into)),
        }
    }

    /// `read-account` (0.2): the facts in the answer of an account read. A 0.1 adapter
    /// has none (its kinds declare no reads).
    pub async fn read_account(
        &self,
        store: &mut Store<GuestState>,
        ctx: &super::spec::ReadContext,
    ) -> GuestResult<super::spec::AccountFacts> {
        match self {
            Self::V0_1(_) => Ok(Err(ir::AdapterError {
                kind: ir::ErrorKind::Unsupported,
                message: "a contract 0.1 adapter has no read-account".into(),
            })),
            Self::V0_2(p) => Ok(p
                .plugboard_adapter_translator()
                .call_read_account(store, ctx)
                .await?
                .map_err(Into::into)),
        }
    }

    /// Classify a non-2xx answer (0.2 `call.classify-error`, 0.1 `classify-error`).
    pub async fn classify_error(
        &self,
        store: &mut Store<GuestState>,
        state: &mut AttemptState,
        ctx: &CallContext,
        head: &ir::ResponseHead,
        body: &[u8],
    ) -> wasmtime::Result<ir::UpstreamError> {
        let head = head.clone();
        match self {
            Self::V0_1(p) => Ok(p
                .plugboard_adapter_translator()
                .call_classify_error(store, &head.into(), body)
                .await?
                .into()),
            Self::V0_2(p) => {
                let call = Self::call_v0_2(p, store, state, ctx).await?;
                Ok(p.plugboard_adapter_translator()
                    .call()
                    .call_classify_error(store, call, &head.into(), body)
                    .await?
                    .into())
            }
        }
    }
}

/// A request on its way through the fixup chain to the provider's encode, in the form
/// the last hop left it: consecutive components of one contract version pass it on in
/// generated form, so it is converted from and back to the host IR (`options`
/// serialised and parsed) once per run of same-version components, not once per hop,
/// and a 0.2 chain hands it to a 0.2 provider without a conversion at all.
#[derive(Debug)]
pub enum Carried {
    /// Host IR.
    Host(ir::ChatRequest),
    /// Contract 0.1's `chat-request`.
    V0_1(v0_1::types::ChatRequest),
    /// Contract 0.2's `chat-request`.
    V0_2(v0_2::types::ChatRequest),
}

impl From<ir::ChatRequest> for Carried {
    fn from(request: ir::ChatRequest) -> Self {
        Self::Host(request)
    }
}

impl Carried {
    /// The request as host IR.
    pub fn into_host(self) -> ir::ChatRequest {
        match self {
            Self::Host(request) => request,
            Self::V0_1(request) => request.into(),
            Self::V0_2(request) => request.into(),
        }
    }

    /// In 0.1 form, whose request carries the upstream `model`.
    fn into_v0_1(self, model: &str) -> v0_1::types::ChatRequest {
        match self {
            Self::V0_1(request) => request,
            other => convert_v0_1::chat_request_to_wit(other.into_host(), model.to_owned()),
        }
    }

    fn into_v0_2(self) -> v0_2::types::ChatRequest {
        match self {
            Self::V0_2(request) => request,
            other => other.into_host().into(),
        }
    }
}

/// The contexts a request's fixups receive, built once per sandbox.
pub struct FixupContexts {
    /// Host form (0.1's constructor argument is built from it).
    pub host: FixupContext,
    /// 0.2 form, passed to every 0.2 hook.
    v0_2: FixupContextV0_2,
}

impl FixupContexts {
    /// Both forms of `ctx`.
    pub fn new(ctx: FixupContext) -> Self {
        Self {
            v0_2: convert_v0_2::fixup_context(&ctx),
            host: ctx,
        }
    }
}

impl FixupInstance {
    /// The instance as another request may take it: a 0.2 fixup is stateless between
    /// hooks; a 0.1 fixup's `filter` belongs to this request, so it is not handed on.
    pub fn reusable(&self) -> Option<FixupBare> {
        match self {
            Self::V0_1 { .. } => None,
            Self::V0_2(bindings) => Some(FixupBare::V0_2(bindings.clone())),
        }
    }

    /// `on-request`.
    pub async fn on_request(
        &self,
        store: &mut Store<GuestState>,
        ctx: &FixupContexts,
        request: Carried,
    ) -> GuestResult<Carried> {
        match self {
            Self::V0_1 { bindings, filter } => {
                let request = request.into_v0_1(&ctx.host.model);
                let out = bindings
                    .plugboard_adapter_filter()
                    .filter()
                    .call_on_request(store, *filter, &request)
                    .await?;
                Ok(out.map(Carried::V0_1).map_err(Into::into))
            }
            Self::V0_2(bindings) => {
                let request = request.into_v0_2();
                let out = bindings
                    .plugboard_adapter_filter()
                    .call_on_request(store, &ctx.v0_2, &request)
                    .await?;
                Ok(out.map(Carried::V0_2).map_err(Into::into))
            }
        }
    }

    /// `on-upstream-request`.
    pub async fn on_upstream_request(
        &self,
        store: &mut Store<GuestState>,
        ctx: &FixupContexts,
        request: ir::HttpRequest,
    ) -> GuestResult<ir::HttpRequest> {
        match self {
            Self::V0_1 { bindings, filter } => {
                let request = request.into();
                let out = bindings
                    .plugboard_adapter_filter()
                    .filter()
                    .call_on_upstream_request(store, *filter, &request)
                    .await?;
                Ok(out.map(Into::into).map_err(Into::into))
            }
            Self::V0_2(bindings) => {
                let request = request.into();
                let out = bindings
                    .plugboard_adapter_filter()
                    .call_on_upstream_request(store, &ctx.v0_2, &request)
                    .await?;
                Ok(out.map(Into::into).map_err(Into::into))
            }
        }
    }

    /// `on-events`.
    pub async fn on_events(
        &self,
        store: &mut Store<GuestState>,
        ctx: &FixupContexts,
        events: Vec<ir::StreamEvent>,
    ) -> wasmtime::Result<Vec<ir::StreamEvent>> {
        match self {
            Self::V0_1 { bindings, filter } => {
                let events = convert_v0_1::events_to_wit(events);
                let out = bindings
                    .plugboard_adapter_filter()
                    .filter()
                    .call_on_events(store, *filter, &events)
                    .await?;
                Ok(convert_v0_1::events_from_wit(out))
            }
            Self::V0_2(bindings) => {
                let events = convert_v0_2::events_to_wit(events);
                let out = bindings
                    .plugboard_adapter_filter()
                    .call_on_events(store, &ctx.v0_2, &events)
                    .await?;
                Ok(convert_v0_2::events_from_wit(out))
            }
        }
    }
}
