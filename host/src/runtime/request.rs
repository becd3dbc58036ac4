//! One request's guests: a single store holding the provider instance and the
//! fixup instances, each created on first use. Every call goes through
//! [`sandbox::guarded`]; an instance that trapped is never entered again.
//!
//! Cost, measured with `runtime_provider::measure_request_overhead` (debug build of
//! the host, 2 busy cores, so only the proportions mean much): a fresh store ~15 µs,
//! each instantiation ~120-180 µs, each small call ~20-40 µs, dropping the store
//! ~50 µs; ~550 µs median for openai + two fixups. Instantiation dominates, which is
//! why it is lazy: a fixup whose hooks skip a phase is never instantiated for it.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::Store;
use wasmtime::component::ResourceAny;

use super::dispatch::{FixupInstance, GuestResult, ProviderInstance};
use super::sandbox::{self, Failure, GuestState};
use super::{
    DecodeContext, EncodeContext, FixupComponent, GuestError, ProviderComponent, SandboxContext,
    TrapReason,
};
use crate::ir::{ChatRequest, ClassifiedError, Dialect, HttpRequest, ResponseHead, StreamEvent};

/// Where one component's instance is in its life within the request.
enum Slot<I> {
    /// Not needed yet.
    Empty,
    /// Instantiated and healthy.
    Live(I),
    /// A call is running. Seen at the start of a call, it means the previous call's
    /// future was dropped mid-way, which leaves the instance unusable.
    InCall,
    /// It trapped; every later call reports the same trap.
    Broken(TrapReason),
}

/// A fixup and its slot.
struct FixupSlot {
    component: Arc<FixupComponent>,
    slot: Slot<FixupInstance>,
}

/// Pool slots held by this request, one per live instance; released on drop.
/// The semaphore is sized to the pool, so requests wait for a slot (back-pressure)
/// instead of failing inside wasmtime.
pub struct InstancePermits {
    pool: Arc<Semaphore>,
    held: Option<OwnedSemaphorePermit>,
    wait: Duration,
}

impl InstancePermits {
    /// Permits drawn from `pool`, waiting at most `wait` for each.
    pub fn new(pool: Arc<Semaphore>, wait: Duration) -> Self {
        Self {
            pool,
            held: None,
            wait,
        }
    }

    async fn take_one(&mut self, component: &str) -> Result<(), GuestError> {
        let permit = match self.pool.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                match tokio::time::timeout(self.wait, self.pool.clone().acquire_owned()).await {
                    Ok(Ok(permit)) => permit,
                    _ => {
                        return Err(GuestError::Host {
                        component: component.to_owned(),
                        message: "instance pool exhausted: every slot is in use (raise runtime.max_instances)".into(),
                    });
                    }
                }
            }
        };
        match &mut self.held {
            Some(held) => held.merge(permit),
            None => self.held = Some(permit),
        }
        Ok(())
    }
}

/// The implementation behind [`super::RequestSandbox`].
pub struct Sandbox {
    store: Store<GuestState>,
    ctx: SandboxContext,
    provider: Arc<ProviderComponent>,
    provider_slot: Slot<ProviderInstance>,
    decoder: Option<ResourceAny>,
    fixups: Vec<FixupSlot>,
    permits: InstancePermits,
}

fn trap(component: &Arc<str>, reason: TrapReason) -> GuestError {
    GuestError::Trap {
        component: component.to_string(),
        reason,
    }
}

fn failed(component: &Arc<str>, failure: Failure) -> GuestError {
    match failure {
        Failure::Trap(reason) => trap(component, reason),
        Failure::Host(message) => GuestError::Host {
            component: component.to_string(),
            message,
        },
    }
}

/// The state of a slot before a call: its live instance, or the error to report.
fn live<I: Clone>(slot: &mut Slot<I>, label: &Arc<str>) -> Result<Option<I>, GuestError> {
    match slot {
        Slot::Empty => Ok(None),
        Slot::Live(instance) => Ok(Some(instance.clone())),
        Slot::Broken(reason) => Err(trap(label, reason.clone())),
        Slot::InCall => {
            let reason = TrapReason::Other("a previous call was cancelled mid-way".into());
            *slot = Slot::Broken(reason.clone());
            Err(trap(label, reason))
        }
    }
}

/// Run `call` on `instance`, keeping the slot's state true to what happened.
async fn run<I, T>(
    store: &mut Store<GuestState>,
    slot: &mut Slot<I>,
    label: &Arc<str>,
    instance: I,
    call: impl AsyncFnOnce(&mut Store<GuestState>) -> GuestResult<T>,
) -> Result<T, GuestError> {
    *slot = Slot::InCall;
    match sandbox::guarded(store, label, call).await {
        Ok(result) => {
            *slot = Slot::Live(instance);
            result.map_err(|error| GuestError::Adapter {
                component: label.to_string(),
                error,
            })
        }
        Err(Failure::Trap(reason)) => {
            *slot = Slot::Broken(reason.clone());
            Err(trap(label, reason))
        }
        Err(Failure::Host(message)) => {
            *slot = Slot::Broken(TrapReason::Other(message.clone()));
            Err(GuestError::Host {
                component: label.to_string(),
                message,
            })
        }
    }
}

impl Sandbox {
    /// A fresh store for one request; no instance exists until a call needs it.
    pub fn new(
        engine: &wasmtime::Engine,
        settings: &super::RuntimeSettings,
        provider: &Arc<ProviderComponent>,
        fixups: &[Arc<FixupComponent>],
        ctx: SandboxContext,
        permits: InstancePermits,
    ) -> Self {
        let config: Arc<str> = Arc::from(ctx.provider_config.as_str());
        let store = sandbox::new_store(
            engine,
            settings.guest_memory_bytes,
            settings.guest_call_timeout,
            config,
        );
        Self {
            store,
            ctx,
            provider: provider.clone(),
            provider_slot: Slot::Empty,
            decoder: None,
            fixups: fixups
                .iter()
                .map(|f| FixupSlot {
                    component: f.clone(),
                    slot: Slot::Empty,
                })
                .collect(),
            permits,
        }
    }

    async fn provider_instance(&mut self) -> Result<ProviderInstance, GuestError> {
        let label = &self.provider.label;
        if let Some(instance) = live(&mut self.provider_slot, label)? {
            return Ok(instance);
        }
        self.permits.take_one(label).await?;
        let pre = &self.provider.pre;
        match sandbox::guarded(&mut self.store, label, async |store| {
            pre.instantiate(store).await
        })
        .await
        {
            Ok(instance) => {
                self.provider_slot = Slot::Live(instance.clone());
                Ok(instance)
            }
            Err(failure) => {
                if let Failure::Trap(reason) = &failure {
                    self.provider_slot = Slot::Broken(reason.clone());
                }
                Err(failed(label, failure))
            }
        }
    }

    async fn fixup_instance(&mut self, index: usize) -> Result<FixupInstance, GuestError> {
        let entry = &mut self.fixups[index];
        let label = &entry.component.label;
        if let Some(instance) = live(&mut entry.slot, label)? {
            return Ok(instance);
        }
        self.permits.take_one(label).await?;
        let (pre, provider_id, ctx) = (
            &entry.component.pre,
            self.provider.info.id.as_str(),
            &self.ctx,
        );
        let outcome = sandbox::guarded(&mut self.store, label, async |store| {
            pre.instantiate(store, provider_id, ctx).await
        })
        .await;
        match outcome {
            Ok(instance) => {
                entry.slot = Slot::Live(instance.clone());
                Ok(instance)
            }
            Err(failure) => {
                if let Failure::Trap(reason) = &failure {
                    entry.slot = Slot::Broken(reason.clone());
                }
                Err(failed(label, failure))
            }
        }
    }

    /// Run a provider call.
    async fn provider_call<T>(
        &mut self,
        call: impl AsyncFnOnce(&ProviderInstance, &mut Store<GuestState>) -> GuestResult<T>,
    ) -> Result<T, GuestError> {
        let instance = self.provider_instance().await?;
        let running = instance.clone();
        run(
            &mut self.store,
            &mut self.provider_slot,
            &self.provider.label,
            instance,
            async |store| call(&running, store).await,
        )
        .await
    }

    /// Run a call on fixup `index`.
    async fn fixup_call<T>(
        &mut self,
        index: usize,
        call: impl AsyncFnOnce(&FixupInstance, &mut Store<GuestState>) -> GuestResult<T>,
    ) -> Result<T, GuestError> {
        let instance = self.fixup_instance(index).await?;
        let running = instance.clone();
        let entry = &mut self.fixups[index];
        run(
            &mut self.store,
            &mut entry.slot,
            &entry.component.label,
            instance,
            async |store| call(&running, store).await,
        )
        .await
    }

    /// Fixups' `on-request`, in order; only those declaring the hook are called.
    pub async fn on_request(
        &mut self,
        mut request: ChatRequest,
    ) -> Result<ChatRequest, GuestError> {
        for index in 0..self.fixups.len() {
            if self.fixups[index].component.info.hooks.request {
                request = self
                    .fixup_call(index, async |f, store| f.on_request(store, request).await)
                    .await?;
            }
        }
        Ok(request)
    }

    /// Provider `encode-request`.
    pub async fn encode_request(
        &mut self,
        request: &ChatRequest,
        ctx: &EncodeContext,
    ) -> Result<HttpRequest, GuestError> {
        self.provider_call(async |p, store| p.encode_request(store, request, ctx).await)
            .await
    }

    /// Provider `encode-native`.
    pub async fn encode_native(
        &mut self,
        dialect: Dialect,
        body: &[u8],
        ctx: &EncodeContext,
    ) -> Result<HttpRequest, GuestError> {
        self.provider_call(async |p, store| p.encode_native(store, dialect, body, ctx).await)
            .await
    }

    /// Fixups' `on-upstream-request`, in order.
    pub async fn on_upstream_request(
        &mut self,
        mut request: HttpRequest,
    ) -> Result<HttpRequest, GuestError> {
        for index in 0..self.fixups.len() {
            if self.fixups[index].component.info.hooks.upstream_request {
                request = self
                    .fixup_call(index, async |f, store| {
                        f.on_upstream_request(store, request).await
                    })
                    .await?;
            }
        }
        Ok(request)
    }

    /// Construct the provider's stream decoder.
    pub async fn start_decoder(&mut self, ctx: DecodeContext) -> Result<(), GuestError> {
        let decoder = self
            .provider_call(async |p, store| Ok(Ok(p.start_decoder(store, ctx).await?)))
            .await?;
        self.decoder = Some(decoder);
        Ok(())
    }

    fn decoder(&self) -> Result<ResourceAny, GuestError> {
        self.decoder.ok_or_else(|| GuestError::Host {
            component: self.provider.label.to_string(),
            message: "no stream decoder: call start_decoder first".into(),
        })
    }

    /// Decoder `push`, then the fixups' `on-events` over the batch.
    pub async fn push(&mut self, chunk: &[u8]) -> Result<Vec<StreamEvent>, GuestError> {
        let decoder = self.decoder()?;
        let events = self
            .provider_call(async |p, store| p.push(store, decoder, chunk).await)
            .await?;
        self.filter_events(events).await
    }

    /// Decoder `finish`, then the fixups' `on-events`.
    pub async fn finish(&mut self) -> Result<Vec<StreamEvent>, GuestError> {
        let decoder = self.decoder()?;
        let events = self
            .provider_call(async |p, store| p.finish(store, decoder).await)
            .await?;
        self.filter_events(events).await
    }

    /// Each fixup with the events hook, in order. An empty batch is not sent: there
    /// is nothing in it to edit, and most upstream chunks complete no event.
    async fn filter_events(
        &mut self,
        mut events: Vec<StreamEvent>,
    ) -> Result<Vec<StreamEvent>, GuestError> {
        for index in 0..self.fixups.len() {
            if events.is_empty() {
                break;
            }
            if self.fixups[index].component.info.hooks.events {
                events = self
                    .fixup_call(index, async |f, store| {
                        Ok(Ok(f.on_events(store, events).await?))
                    })
                    .await?;
            }
        }
        Ok(events)
    }

    /// Provider `classify-error`.
    pub async fn classify_error(
        &mut self,
        head: &ResponseHead,
        body: &[u8],
    ) -> Result<ClassifiedError, GuestError> {
        self.provider_call(async |p, store| Ok(Ok(p.classify_error(store, head, body).await?)))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    /// Axum handlers need `Send` futures; a sandbox call held across `.await` must be one.
    #[allow(
        dead_code,
        unreachable_code,
        unused_variables,
        clippy::diverging_sub_expression
    )]
    fn sandbox_futures_are_send(sandbox: &mut Sandbox, request: ChatRequest, ctx: &EncodeContext) {
        assert_send(&sandbox.on_request(request.clone()));
        assert_send(&sandbox.encode_request(&request, ctx));
        assert_send(&sandbox.push(b""));
        assert_send(&sandbox.finish());
        assert_send(&sandbox.on_upstream_request(HttpRequest::default()));
        assert_send(&sandbox.classify_error(&ResponseHead::default(), b""));
    }

    #[test]
    fn a_cancelled_call_breaks_the_instance_for_good() {
        let label: Arc<str> = Arc::from("x@1");
        let mut slot: Slot<u8> = Slot::InCall;
        assert!(matches!(
            live(&mut slot, &label),
            Err(GuestError::Trap { .. })
        ));
        assert!(matches!(slot, Slot::Broken(_)));
        assert!(
            matches!(live(&mut slot, &label), Err(GuestError::Trap { component, .. }) if component == "x@1")
        );
    }
}
