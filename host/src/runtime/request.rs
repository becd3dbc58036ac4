//! One request's guests: the provider and each fixup get their own instance, each
//! in its own store, taken on first use from the component's pool ([`super::pool`]):
//! an instance an earlier request of the same caller left behind, else one made ahead
//! of time. Every call goes through [`sandbox::guarded`]; an instance that trapped is
//! never entered again. When the request ends (`Drop` below, off the response path),
//! each healthy contract 0.2 instance has the request's guest resources dropped and
//! goes back to its pool for the same tenant; the others are dropped with their store.
//!
//! Why one store per instance (and not one per request): a store can only be made
//! with its instances ahead of time if it belongs to no request yet, and one instance
//! goes back to its pool alone. The request's provider config goes into each store
//! when it is taken.
//!
//! Measured side by side in one run (`cargo bench -p plugboard --bench
//! request_overhead`, release, openai + first-user-turn + merge-turns, shared 2-core
//! VM, 600 requests per tuning, interleaved; 2026-12-07):
//!
//! | tuning                                                | median | p90    |
//! | ----------------------------------------------------- | ------ | ------ |
//! | cold: instantiate on the path, drop inline, madvise   | 205 µs | 377 µs |
//! | fresh instances made ahead, bg teardown, pagemap scan | 114 µs | 217 µs |
//! | default: instances reused within the caller           | 35 µs  | 66 µs  |
//! | default, no fixups                                    | 24 µs  | 46 µs  |
//!
//! docs/architecture.md has the per-phase numbers and the reasoning.

use std::sync::Arc;

use tokio::sync::OwnedSemaphorePermit;
use wasmtime::Store;

use super::dispatch::{
    AttemptState, Carried, FixupContexts, FixupInstance, GuestResult, ProviderInstance,
};
use super::pool::{self, Life, Ready, Tenant};
use super::sandbox::{self, Failure, GuestState};
use super::{
    CallContext, FixupComponent, FixupContext, GuestError, ProviderComponent, SandboxContext,
    TrapReason,
};
use crate::ir::{ChatRequest, HttpRequest, ResponseHead, StreamEvent, UpstreamError};

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

/// One component's place in the request: its instance's state, and once taken,
/// the store the instance lives in and the pool slot it holds.
struct Seat<I> {
    slot: Slot<I>,
    taken: Option<Taken>,
}

/// What a seat holds besides the instance once it has taken one. Dropping it drops
/// the store before the permit, so a freed permit always means a free wasmtime slot.
struct Taken {
    store: Store<GuestState>,
    permit: OwnedSemaphorePermit,
    life: Life,
}

impl Taken {
    /// With its instance again, as a pool holds it.
    fn with<B>(self, bare: B) -> Ready<B> {
        Ready {
            store: self.store,
            bare,
            permit: self.permit,
            life: self.life,
        }
    }
}

impl<B> From<Ready<B>> for Taken {
    fn from(ready: Ready<B>) -> Self {
        Taken {
            store: ready.store,
            permit: ready.permit,
            life: ready.life,
        }
    }
}

impl<I> Seat<I> {
    fn empty() -> Self {
        Self {
            slot: Slot::Empty,
            taken: None,
        }
    }

    /// The instance's store; only called once the seat holds an instance.
    fn store(&mut self) -> &mut Store<GuestState> {
        &mut self
            .taken
            .as_mut()
            .expect("a live or broken instance has its store")
            .store
    }

    /// Take the instance's store and slot out of the seat, with the instance itself
    /// when it is healthy.
    fn vacate(&mut self) -> Option<(Taken, Option<I>)>
    where
        I: Clone,
    {
        let taken = self.taken.take()?;
        let live = match &self.slot {
            Slot::Live(instance) => Some(instance.clone()),
            _ => None,
        };
        Some((taken, live))
    }
}

/// A fixup and its seat.
struct FixupSeat {
    component: Arc<FixupComponent>,
    /// Whether its `applies-to` admits this request; a fixup that does not is never
    /// entered (no instance is taken for it).
    admitted: bool,
    seat: Seat<FixupInstance>,
}

/// The implementation behind [`super::RequestSandbox`].
pub struct Sandbox {
    /// The attempt, as the provider's `call` sees it.
    call: CallContext,
    /// What every fixup hook is told, in each contract's form.
    fixup_contexts: FixupContexts,
    /// The provider entry's config, put into each store as it is taken.
    config: Arc<str>,
    provider: Arc<ProviderComponent>,
    provider_seat: Seat<ProviderInstance>,
    /// The guest resources the attempt opened in the provider instance.
    attempt: AttemptState,
    fixups: Vec<FixupSeat>,
    /// Whose instances this request may take and leave behind (`None`: fresh ones,
    /// dropped after).
    tenant: Option<Tenant>,
    /// Drop stores on a background task (see [`Sandbox`]'s `Drop`).
    background_teardown: bool,
}

fn trap(component: &Arc<str>, reason: TrapReason) -> GuestError {
    GuestError::Trap {
        component: component.to_string(),
        reason,
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

/// Record a failed take: a trap while instantiating breaks the seat for good; a
/// host failure (no slot) leaves it empty so a later call may try again.
fn take_failed<I>(seat: &mut Seat<I>, label: &Arc<str>, failure: Failure) -> GuestError {
    if let Failure::Trap(reason) = &failure {
        seat.slot = Slot::Broken(reason.clone());
    }
    pool::take_error(label, failure)
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
    /// The request's seats; no instance is taken until a call needs it, and none
    /// ever for a fixup whose `applies-to` does not admit the request.
    pub fn new(
        provider: &Arc<ProviderComponent>,
        fixups: &[Arc<FixupComponent>],
        ctx: SandboxContext,
        background_teardown: bool,
    ) -> Self {
        let SandboxContext {
            provider_config,
            provider_name,
            call,
            reuse_for,
        } = ctx;
        let tenant = reuse_for.map(|caller| Tenant {
            caller,
            config: provider_config.clone(),
        });
        let adapter = &provider.info.id;
        let fixups = fixups
            .iter()
            .map(|f| FixupSeat {
                component: f.clone(),
                admitted: f
                    .info
                    .applies_to
                    .admits(call.client_dialect, adapter, &call.model),
                seat: Seat::empty(),
            })
            .collect();
        let fixup_contexts = FixupContexts::new(FixupContext {
            provider: provider_name,
            adapter: adapter.clone(),
            account: call.account.id.clone(),
            model: call.model.clone(),
            client_dialect: call.client_dialect,
            token_budget: None,
        });
        Self {
            call,
            fixup_contexts,
            config: provider_config,
            provider: provider.clone(),
            provider_seat: Seat::empty(),
            attempt: AttemptState::default(),
            fixups,
            tenant,
            background_teardown,
        }
    }

    /// Tell every fixup the size to cut the conversation to, in estimated tokens
    /// (`fixup-context.token-budget`): set on a context-recovery retry, before any hook
    /// runs.
    pub fn set_token_budget(&mut self, budget: Option<u32>) {
        let ctx = FixupContext {
            token_budget: budget,
            ..self.fixup_contexts.host.clone()
        };
        self.fixup_contexts = FixupContexts::new(ctx);
    }

    /// Whether fixup `index` is entered for `hook` of this request.
    fn enters(&self, index: usize, hook: impl Fn(&super::Hooks) -> bool) -> bool {
        let entry = &self.fixups[index];
        entry.admitted && hook(&entry.component.info.hooks)
    }

    async fn provider_instance(&mut self) -> Result<ProviderInstance, GuestError> {
        let label = &self.provider.label;
        let seat = &mut self.provider_seat;
        if let Some(instance) = live(&mut seat.slot, label)? {
            return Ok(instance);
        }
        let Ready {
            mut store,
            bare,
            permit,
            life,
        } = match self.provider.ready.take(self.tenant.as_ref()).await {
            Ok(ready) => ready,
            Err(failure) => return Err(take_failed(seat, label, failure)),
        };
        sandbox::set_provider_config(&mut store, self.config.clone());
        seat.taken = Some(Taken {
            store,
            permit,
            life,
        });
        seat.slot = Slot::Live(bare.clone());
        Ok(bare)
    }

    async fn fixup_instance(&mut self, index: usize) -> Result<FixupInstance, GuestError> {
        let entry = &mut self.fixups[index];
        let label = &entry.component.label;
        let seat = &mut entry.seat;
        if let Some(instance) = live(&mut seat.slot, label)? {
            return Ok(instance);
        }
        let Ready {
            mut store,
            bare,
            permit,
            life,
        } = match entry.component.ready.take(self.tenant.as_ref()).await {
            Ok(ready) => ready,
            Err(failure) => return Err(take_failed(seat, label, failure)),
        };
        sandbox::set_provider_config(&mut store, self.config.clone());
        seat.taken = Some(Taken {
            store,
            permit,
            life,
        });
        let ctx = &self.fixup_contexts.host;
        let opened = sandbox::guarded(seat.store(), label, async |store| {
            bare.open(store, ctx).await
        })
        .await;
        match opened {
            Ok(instance) => {
                seat.slot = Slot::Live(instance.clone());
                Ok(instance)
            }
            Err(failure) => {
                let reason = match &failure {
                    Failure::Trap(reason) => reason.clone(),
                    Failure::Host(message) => TrapReason::Other(message.clone()),
                };
                seat.slot = Slot::Broken(reason);
                Err(pool::take_error(label, failure))
            }
        }
    }

    /// Run a provider call, with the attempt's guest resources and context.
    async fn provider_call<T>(
        &mut self,
        call: impl AsyncFnOnce(
            &ProviderInstance,
            &mut Store<GuestState>,
            &mut AttemptState,
            &CallContext,
        ) -> GuestResult<T>,
    ) -> Result<T, GuestError> {
        let instance = self.provider_instance().await?;
        let running = instance.clone();
        let Self {
            provider_seat: seat,
            attempt,
            call: ctx,
            provider,
            ..
        } = self;
        let store = &mut seat
            .taken
            .as_mut()
            .expect("a live instance has its store")
            .store;
        run(
            store,
            &mut seat.slot,
            &provider.label,
            instance,
            async |store| call(&running, store, attempt, ctx).await,
        )
        .await
    }

    /// Run a call on fixup `index`, with the request's fixup contexts.
    async fn fixup_call<T>(
        &mut self,
        index: usize,
        call: impl AsyncFnOnce(&FixupInstance, &mut Store<GuestState>, &FixupContexts) -> GuestResult<T>,
    ) -> Result<T, GuestError> {
        let instance = self.fixup_instance(index).await?;
        let running = instance.clone();
        let contexts = &self.fixup_contexts;
        let entry = &mut self.fixups[index];
        let seat = &mut entry.seat;
        let store = &mut seat
            .taken
            .as_mut()
            .expect("a live instance has its store")
            .store;
        run(
            store,
            &mut seat.slot,
            &entry.component.label,
            instance,
            async |store| call(&running, store, contexts).await,
        )
        .await
    }

    /// Fixups' `on-request`, in order; only those implementing the hook whose
    /// `applies-to` admits the request are entered. The request goes from hop to hop
    /// in the form the last one left it ([`Carried`]).
    pub async fn on_request(&mut self, request: ChatRequest) -> Result<Carried, GuestError> {
        let mut carried = Carried::Host(request);
        for index in 0..self.fixups.len() {
            if self.enters(index, |hooks| hooks.request) {
                carried = self
                    .fixup_call(index, async |f, store, ctx| {
                        f.on_request(store, ctx, carried).await
                    })
                    .await?;
            }
        }
        Ok(carried)
    }

    /// Provider encode of an IR request, in the form the fixups left it.
    pub async fn encode(&mut self, request: Carried) -> Result<HttpRequest, GuestError> {
        self.provider_call(async |p, store, attempt, ctx| {
            p.encode(store, attempt, ctx, request).await
        })
        .await
    }

    /// Provider native passthrough encode.
    pub async fn encode_native(&mut self, body: &[u8]) -> Result<HttpRequest, GuestError> {
        self.provider_call(async |p, store, attempt, ctx| {
            p.encode_native(store, attempt, ctx, body).await
        })
        .await
    }

    /// Fixups' `on-upstream-request`, in order.
    pub async fn on_upstream_request(
        &mut self,
        mut request: HttpRequest,
    ) -> Result<HttpRequest, GuestError> {
        for index in 0..self.fixups.len() {
            if self.enters(index, |hooks| hooks.upstream_request) {
                request = self
                    .fixup_call(index, async |f, store, ctx| {
                        f.on_upstream_request(store, ctx, request).await
                    })
                    .await?;
            }
        }
        Ok(request)
    }

    /// A 2xx answer arrived.
    pub async fn respond(
        &mut self,
        head: &ResponseHead,
        streaming: bool,
    ) -> Result<(), GuestError> {
        self.provider_call(async |p, store, attempt, ctx| {
            Ok(Ok(p.respond(store, attempt, ctx, head, streaming).await?))
        })
        .await
    }

    /// Provider decode of a chunk, then the fixups' `on-events` over the batch.
    pub async fn push(&mut self, chunk: &[u8]) -> Result<Vec<StreamEvent>, GuestError> {
        let events = self
            .provider_call(async |p, store, attempt, ctx| {
                p.decode(store, attempt, ctx, chunk).await
            })
            .await?;
        self.filter_events(events).await
    }

    /// Provider end of body, then the fixups' `on-events`.
    pub async fn finish(&mut self) -> Result<Vec<StreamEvent>, GuestError> {
        let events = self
            .provider_call(async |p, store, attempt, ctx| p.decode_end(store, attempt, ctx).await)
            .await?;
        self.filter_events(events).await
    }

    /// Each admitted fixup with the events hook, in order. An empty batch is not
    /// sent: there is nothing in it to edit, and most upstream chunks complete no event.
    async fn filter_events(
        &mut self,
        mut events: Vec<StreamEvent>,
    ) -> Result<Vec<StreamEvent>, GuestError> {
        for index in 0..self.fixups.len() {
            if events.is_empty() {
                break;
            }
            if self.enters(index, |hooks| hooks.events) {
                events = self
                    .fixup_call(index, async |f, store, ctx| {
                        Ok(Ok(f.on_events(store, ctx, events).await?))
                    })
                    .await?;
            }
        }
        Ok(events)
    }

    /// Provider `account-setup` (the call context is not used).
    pub async fn account_setup(
        &mut self,
        ctx: &super::spec::SetupContext,
    ) -> Result<super::spec::SetupStep, GuestError> {
        self.provider_call(async |p, store, _, _| p.account_setup(store, ctx).await)
            .await
    }

    /// Provider `read-account` (the call context is not used).
    pub async fn read_account(
        &mut self,
        ctx: &super::spec::ReadContext,
    ) -> Result<super::spec::AccountFacts, GuestError> {
        self.provider_call(async |p, store, _, _| p.read_account(store, ctx).await)
            .await
    }

    /// The attempt is over: end the provider's `call` in its instance now, on the
    /// request's own task, so the instance goes back to its pool the moment the
    /// sandbox drops, with no task of its own. Only for an instance that may be
    /// reused; one whose `call` fails to end is dropped instead.
    pub async fn end(&mut self) {
        if self.tenant.is_none() || self.attempt.is_clear() {
            return;
        }
        let Slot::Live(instance) = &self.provider_seat.slot else {
            return;
        };
        if !instance.is_reusable() {
            return;
        }
        let instance = instance.clone();
        let Self {
            provider_seat: seat,
            attempt,
            provider,
            ..
        } = self;
        let Some(taken) = seat.taken.as_mut() else {
            return;
        };
        let running = instance.clone();
        let ended = run(
            &mut taken.store,
            &mut seat.slot,
            &provider.label,
            instance,
            async |store| running.close(store, attempt).await.map(Ok),
        )
        .await;
        if let Err(error) = ended {
            tracing::debug!(%error, "an instance could not end its call; it will be dropped");
        }
    }

    /// Provider `classify-error`.
    pub async fn classify_error(
        &mut self,
        head: &ResponseHead,
        body: &[u8],
    ) -> Result<UpstreamError, GuestError> {
        self.provider_call(async |p, store, attempt, ctx| {
            Ok(Ok(p
                .classify_error(store, attempt, ctx, head, body)
                .await?))
        })
        .await
    }
}

/// The end of the request's instances, off the response path. A healthy 0.2
/// instance of a request with a tenant goes back to its pool
/// ([`pool::ReadyPool::give_back`]): at once when its `call` has ended
/// ([`Sandbox::end`]), else after a background task has ended it. Every other instance
/// is dropped with its store, which frees its pool slot (resetting the pages its
/// guest wrote, ~10 µs each), and the pools the request took fresh instances from are
/// topped up again; both on a background task, so whatever drops the sandbox (a
/// handler about to answer, a stream pump about to close) is not delayed. With every
/// instance handed back at once and no pool to top up, there is no task at all.
/// Without a tokio runtime (plain tests) every store drops in place.
impl Drop for Sandbox {
    fn drop(&mut self) {
        let tenant = self.tenant.take();
        // The background task's work: stores to drop, a provider instance whose `call`
        // must end before it goes back, pools to top up.
        let mut stores: Vec<Taken> = Vec::new();
        let mut to_end = None;
        let mut refill_provider = false;
        if let Some((taken, live)) = self.provider_seat.vacate() {
            let pool = &self.provider.ready;
            match (tenant.clone(), live.filter(ProviderInstance::is_reusable)) {
                (Some(tenant), Some(instance)) if self.attempt.is_clear() => {
                    stores.extend(
                        pool.give_back(tenant, taken.with(instance))
                            .map(Taken::from),
                    );
                }
                (Some(tenant), Some(instance)) => to_end = Some((tenant, taken, instance)),
                _ => stores.push(taken),
            }
            refill_provider = pool.wants_refill();
        }
        let mut refill_fixups = Vec::new();
        for entry in &mut self.fixups {
            let Some((taken, live)) = entry.seat.vacate() else {
                continue;
            };
            let pool = &entry.component.ready;
            match (
                tenant.clone(),
                live.and_then(|instance| instance.reusable()),
            ) {
                (Some(tenant), Some(bare)) => {
                    stores.extend(pool.give_back(tenant, taken.with(bare)).map(Taken::from));
                }
                _ => stores.push(taken),
            }
            if pool.wants_refill() {
                refill_fixups.push(entry.component.clone());
            }
        }
        if stores.is_empty() && to_end.is_none() && !refill_provider && refill_fixups.is_empty() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if !self.background_teardown {
            stores.clear();
        }
        let provider = self.provider.clone();
        let mut attempt = self.attempt;
        runtime.spawn(async move {
            drop(stores);
            if let Some((tenant, mut taken, instance)) = to_end {
                let ended = sandbox::guarded(&mut taken.store, &provider.label, async |store| {
                    instance.close(store, &mut attempt).await
                })
                .await;
                match ended {
                    Ok(()) => drop(provider.ready.give_back(tenant, taken.with(instance))),
                    Err(failure) => {
                        tracing::debug!(component = %provider.label, ?failure,
                            "an instance could not end its call; dropped");
                    }
                }
            }
            if refill_provider {
                provider.ready.refill().await;
            }
            for component in refill_fixups {
                component.ready.refill().await;
            }
        });
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
    fn sandbox_futures_are_send(sandbox: &mut Sandbox, request: ChatRequest) {
        assert_send(&sandbox.on_request(request.clone()));
        assert_send(&sandbox.encode(request.into()));
        assert_send(&sandbox.encode_native(b""));
        assert_send(&sandbox.respond(&ResponseHead::default(), true));
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
