//! Version dispatch: one enum variant per supported contract version, one `match`
//! per call (the pattern of Zed's extension host). Supporting contract 0.2.0 means
//! a `V0_2` variant in each enum and one more arm in each method; nothing outside
//! this file and `convert` learns about versions.

use std::sync::Arc;

use wasmtime::Store;
use wasmtime::component::{InstancePre, ResourceAny};

use crate::ir;
use crate::runtime::bindings::v0_1;
use crate::runtime::convert::v0_1 as convert_v0_1;
use crate::runtime::sandbox::GuestState;
use crate::runtime::{DecodeContext, EncodeContext, FixupInfo, ProviderInfo, SandboxContext};

/// What a guest call returns: a trap (outer) or the guest's own error value (inner).
pub type GuestResult<T> = wasmtime::Result<Result<T, ir::AdapterError>>;

/// A pre-linked provider component, ready to instantiate into any store.
#[derive(Clone)]
pub enum ProviderPre {
    /// Built against `plugboard:adapter@0.1.x`.
    V0_1(v0_1::provider::ProviderPre<GuestState>),
}

/// A pre-linked fixup component.
#[derive(Clone)]
pub enum FixupPre {
    /// Built against `plugboard:adapter@0.1.x`.
    V0_1(v0_1::fixup::FixupPre<GuestState>),
}

/// A live provider instance inside one request's store. The bindings are export
/// handles into the store, shared (`Arc`) so a call can hold them while the
/// sandbox updates the instance's slot.
#[derive(Clone)]
pub enum ProviderInstance {
    /// Contract 0.1.
    V0_1(Arc<v0_1::provider::Provider>),
}

/// A live fixup instance and its per-request `filter` resource.
#[derive(Clone)]
pub enum FixupInstance {
    /// Contract 0.1.
    V0_1 {
        bindings: Arc<v0_1::fixup::Fixup>,
        filter: ResourceAny,
    },
}

impl ProviderPre {
    /// Type-check `pre` against the 0.1 provider world.
    pub fn v0_1(pre: InstancePre<GuestState>) -> wasmtime::Result<Self> {
        Ok(Self::V0_1(v0_1::provider::ProviderPre::new(pre)?))
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
        }
    }
}

impl FixupPre {
    /// Type-check `pre` against the 0.1 fixup world.
    pub fn v0_1(pre: InstancePre<GuestState>) -> wasmtime::Result<Self> {
        Ok(Self::V0_1(v0_1::fixup::FixupPre::new(pre)?))
    }

    /// A fresh instance in `store`, without its `filter` resource: what a pool can
    /// make before any request is known.
    pub async fn instantiate_bare(
        &self,
        store: &mut Store<GuestState>,
    ) -> wasmtime::Result<FixupBare> {
        match self {
            Self::V0_1(pre) => Ok(FixupBare::V0_1(pre.instantiate_async(store).await?)),
        }
    }

    /// Describe the component (load-time validation): instantiate and call `info`.
    pub async fn info(&self, store: &mut Store<GuestState>) -> wasmtime::Result<FixupInfo> {
        match self.instantiate_bare(store).await? {
            FixupBare::V0_1(bindings) => {
                let info = bindings.plugboard_adapter_filter().call_info(store).await?;
                Ok(info.into())
            }
        }
    }

    /// A fresh instance in `store` with its `filter` constructed for this request.
    pub async fn instantiate(
        &self,
        store: &mut Store<GuestState>,
        provider_id: &str,
        ctx: &SandboxContext,
    ) -> wasmtime::Result<FixupInstance> {
        self.instantiate_bare(store)
            .await?
            .open_filter(store, provider_id, ctx)
            .await
    }
}

/// A fixup instance before its per-request `filter` exists.
pub enum FixupBare {
    /// Contract 0.1.
    V0_1(v0_1::fixup::Fixup),
}

impl FixupBare {
    /// `info()`: request-independent (used to warm a waiting instance).
    pub async fn info(&self, store: &mut Store<GuestState>) -> wasmtime::Result<FixupInfo> {
        match self {
            Self::V0_1(bindings) => Ok(bindings
                .plugboard_adapter_filter()
                .call_info(store)
                .await?
                .into()),
        }
    }

    /// Construct the request's `filter` (the first call into the instance).
    pub async fn open_filter(
        self,
        store: &mut Store<GuestState>,
        provider_id: &str,
        ctx: &SandboxContext,
    ) -> wasmtime::Result<FixupInstance> {
        match self {
            Self::V0_1(bindings) => {
                let context = convert_v0_1::fixup_context(provider_id, ctx);
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
        }
    }
}

impl ProviderInstance {
    /// `info()`.
    pub async fn info(&self, store: &mut Store<GuestState>) -> wasmtime::Result<ProviderInfo> {
        match self {
            Self::V0_1(p) => Ok(p
                .plugboard_adapter_translator()
                .call_info(store)
                .await?
                .into()),
        }
    }

    /// `encode-request`.
    pub async fn encode_request(
        &self,
        store: &mut Store<GuestState>,
        request: &ir::ChatRequest,
        ctx: &EncodeContext,
    ) -> GuestResult<ir::HttpRequest> {
        match self {
            Self::V0_1(p) => {
                let request = request.clone().into();
                let ctx = ctx.into();
                let out = p
                    .plugboard_adapter_translator()
                    .call_encode_request(store, &request, &ctx)
                    .await?;
                Ok(out.map(Into::into).map_err(Into::into))
            }
        }
    }

    /// `encode-native`.
    pub async fn encode_native(
        &self,
        store: &mut Store<GuestState>,
        dialect: ir::Dialect,
        body: &[u8],
        ctx: &EncodeContext,
    ) -> GuestResult<ir::HttpRequest> {
        match self {
            Self::V0_1(p) => {
                let ctx = ctx.into();
                let out = p
                    .plugboard_adapter_translator()
                    .call_encode_native(store, dialect.into(), body, &ctx)
                    .await?;
                Ok(out.map(Into::into).map_err(Into::into))
            }
        }
    }

    /// The `stream-decoder` constructor.
    pub async fn start_decoder(
        &self,
        store: &mut Store<GuestState>,
        ctx: DecodeContext,
    ) -> wasmtime::Result<ResourceAny> {
        match self {
            Self::V0_1(p) => {
                let ctx = ctx.into();
                p.plugboard_adapter_translator()
                    .stream_decoder()
                    .call_constructor(store, &ctx)
                    .await
            }
        }
    }

    /// `stream-decoder.push`.
    pub async fn push(
        &self,
        store: &mut Store<GuestState>,
        decoder: ResourceAny,
        chunk: &[u8],
    ) -> GuestResult<Vec<ir::StreamEvent>> {
        match self {
            Self::V0_1(p) => {
                let out = p
                    .plugboard_adapter_translator()
                    .stream_decoder()
                    .call_push(store, decoder, chunk)
                    .await?;
                Ok(out.map(convert_v0_1::events_from_wit).map_err(Into::into))
            }
        }
    }

    /// `stream-decoder.finish`.
    pub async fn finish(
        &self,
        store: &mut Store<GuestState>,
        decoder: ResourceAny,
    ) -> GuestResult<Vec<ir::StreamEvent>> {
        match self {
            Self::V0_1(p) => {
                let out = p
                    .plugboard_adapter_translator()
                    .stream_decoder()
                    .call_finish(store, decoder)
                    .await?;
                Ok(out.map(convert_v0_1::events_from_wit).map_err(Into::into))
            }
        }
    }

    /// `classify-error`.
    pub async fn classify_error(
        &self,
        store: &mut Store<GuestState>,
        head: &ir::ResponseHead,
        body: &[u8],
    ) -> wasmtime::Result<ir::ClassifiedError> {
        match self {
            Self::V0_1(p) => {
                let head = head.clone().into();
                Ok(p.plugboard_adapter_translator()
                    .call_classify_error(store, &head, body)
                    .await?
                    .into())
            }
        }
    }
}

impl FixupInstance {
    /// `filter.on-request`.
    pub async fn on_request(
        &self,
        store: &mut Store<GuestState>,
        request: ir::ChatRequest,
    ) -> GuestResult<ir::ChatRequest> {
        match self {
            Self::V0_1 { bindings, filter } => {
                let request = request.into();
                let out = bindings
                    .plugboard_adapter_filter()
                    .filter()
                    .call_on_request(store, *filter, &request)
                    .await?;
                Ok(out.map(Into::into).map_err(Into::into))
            }
        }
    }

    /// `filter.on-upstream-request`.
    pub async fn on_upstream_request(
        &self,
        store: &mut Store<GuestState>,
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
        }
    }

    /// `filter.on-events`.
    pub async fn on_events(
        &self,
        store: &mut Store<GuestState>,
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
        }
    }
}
