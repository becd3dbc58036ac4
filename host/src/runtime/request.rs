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
//! request_overhead`, release, openai + first-user-turn + merge-turns, quiet 2-core
//! VM, 600 requests per tuning, interleaved; 2026-11-22):
//!
//! | tuning                                              | median | p90    |
//! | --------------------------------------------------- | ------ | ------ |
//! | cold: instantiate on the path, drop inline, madvise | 373 µs | 557 µs |
//! | default (ready instances, bg teardown, pagemap)     | 198 µs | 342 µs |
//! | default, teardown inline                            | 220 µs | 382 µs |
//! | default, no instances made ahead                    | 254 µs | 396 µs |
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

/// What a seat holds besides the instance once it has taken one.
struct Taken {
    store: Store<GuestState>,
    permit: OwnedSemaphorePermit,
    life: Life,
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
        reuse: bool,
        background_teardown: bool,
    ) -> Self {
        let SandboxContext {
            provider_config,
            provider_name,
            call,
            reuse_for,
        } = ctx;
        let tenant = reuse_for.filter(|_| reuse).map(|caller| Tenant {
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
    pub async fn on_request(&mut self, request: ChatRequest) -> Result<ChatRequest, GuestError> {
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
        Ok(carried.into_host())
    }

    /// Provider encode of an IR request.
    pub async fn encode(&mut self, request: &ChatRequest) -> Result<HttpRequest, GuestError> {
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

/// Teardown off the response path. A healthy 0.2 instance of a request with a tenant
/// has the request's `call` dropped in the guest and goes back to its pool
/// ([`pool::ReadyPool::give_back`]); every other instance is dropped with its store,
/// which frees its pool slot (resetting the pages its guest wrote, ~10 µs each). The
/// pools the request took fresh instances from are topped up again. None of it is
/// the client's business, so it runs on a background task and whatever drops the
/// sandbox (a handler about to answer, a stream pump about to close) is not delayed.
/// Without a tokio runtime (plain tests) every store drops in place.
impl Drop for Sandbox {
    fn drop(&mut self) {
        let provider = self.provider_seat.vacate();
        let fixups: Vec<_> = self
            .fixups
            .iter_mut()
            .filter_map(|entry| {
                let (taken, live) = entry.seat.vacate()?;
                let bare = live.and_then(|instance| instance.reusable());
                Some((entry.component.clone(), taken, bare))
            })
            .collect();
        if provider.is_none() && fixups.is_empty() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let tenant = self.tenant.take();
        // What the task gets of each seat: the store and slot, unless it drops in
        // place now (teardown inline, and the instance does not go back to its pool);
        // and the instance, when it may go back.
        let inline = !self.background_teardown;
        let hand_over = |taken: Taken, reusable: bool| {
            if inline && !reusable {
                drop(taken);
                None
            } else {
                Some(taken)
            }
        };
        let provider = provider.map(|(taken, live)| {
            let live = live.filter(|_| tenant.is_some());
            (hand_over(taken, live.is_some()), live)
        });
        let fixups: Vec<_> = fixups
            .into_iter()
            .map(|(component, taken, bare)| {
                let bare = bare.filter(|_| tenant.is_some());
                (component, hand_over(taken, bare.is_some()), bare)
            })
            .collect();
        let component = self.provider.clone();
        let mut attempt = self.attempt;
        runtime.spawn(async move {
            if let Some((taken, live)) = provider {
                if let Some(mut taken) = taken {
                    let closed = match (&tenant, live) {
                        (Some(tenant), Some(instance)) => {
                            let label = &component.label;
                            let closed = sandbox::guarded(&mut taken.store, label, async |store| {
                                instance.close(store, &mut attempt).await
                            })
                            .await;
                            match closed {
                                Ok(true) => Some((tenant.clone(), instance)),
                                Ok(false) => None,
                                Err(failure) => {
                                    tracing::debug!(component = %label, ?failure,
                                        "an instance could not end its request; dropped");
                                    None
                                }
                            }
                        }
                        _ => None,
                    };
                    give_back_or_drop(&component.ready, taken, closed);
                }
                component.ready.refill().await;
            }
            for (component, taken, bare) in fixups {
                if let Some(taken) = taken {
                    give_back_or_drop(&component.ready, taken, tenant.clone().zip(bare));
                }
                component.ready.refill().await;
            }
        });
    }
}

/// Give an instance back to `pool` for `tenant` (`kept`), or drop it; dropping a
/// store before its permit, so a freed permit always means a free wasmtime slot.
fn give_back_or_drop<P: pool::Instantiate>(
    pool: &pool::ReadyPool<P>,
    taken: Taken,
    kept: Option<(Tenant, P::Bare)>,
) {
    let Taken {
        store,
        permit,
        life,
    } = taken;
    match kept {
        Some((tenant, bare)) => drop(pool.give_back(
            tenant,
            Ready {
                store,
                bare,
                permit,
                life,
            },
        )),
        None => {
            drop(store);
            drop(permit);
        }
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
        assert_send(&sandbox.encode(&request));
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
