//! Instances of one component, per loaded component: a few fresh, never-entered
//! (store, instance) pairs made ahead of time, so a request takes one in O(1) instead
//! of paying for a store and an instantiation on its own path; and instances kept
//! after a request for the next request of the same [`Tenant`].
//!
//! Isolation: no request data ever enters a fresh instance (the request's provider
//! config is put into the store when the instance is taken). An instance that served
//! a request is kept only for the same tenant: the same caller (client key) under
//! the same provider config, so whatever a guest carries from one request into the
//! next (its heap, its statics) stays among requests of one caller. It is kept only
//! when it ended healthy (no trap, every guest resource of the request dropped), for
//! at most `guest-instance-requests` requests, and while its memories have grown by
//! no more than a freed slot would keep resident. docs/architecture.md, "Instance
//! reuse", has the reasoning and the measurements.
//!
//! The pool lives inside the component's `Arc`, so a request can only take an
//! instance of the very component its registry snapshot holds; a swapped-out
//! component's pool, kept instances included, goes away with its last user.
//!
//! Waiting and kept instances hold pool slots, but only while three quarters of all
//! slots stay free, so they cannot starve requests (see [`may_reserve`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::Store;

use super::GuestError;
use super::dispatch::{FixupBare, FixupPre, ProviderInstance, ProviderPre};
use super::loader::Toolchain;
use super::sandbox::{self, Failure, GuestState};

/// Most instances one component keeps for later requests, all tenants together; the
/// least recently used goes first. A request in flight holds its instance, so this
/// bounds only what a burst leaves behind, not the concurrency.
const KEPT_PER_COMPONENT: usize = 32;

/// Who may take an instance another request used: requests of one caller (a named
/// client key, or the plain `api-keys` list) under one provider config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// The client key's name (empty for the plain `api-keys` list).
    pub caller: Arc<str>,
    /// The provider entry's `config:` block (what `host.config` returns).
    pub config: Arc<str>,
}

/// A pre-linked component that can be instantiated into a store.
pub trait Instantiate: Send + Sync + 'static {
    /// The instance, before any request-specific call.
    type Bare: Send + 'static;
    /// A fresh instance in `store`.
    fn instantiate(
        &self,
        store: &mut Store<GuestState>,
    ) -> impl Future<Output = wasmtime::Result<Self::Bare>> + Send;
    /// Call `info()` once: request-independent, it runs the guest's initialisers
    /// and touches its allocator's first pages before any request arrives.
    fn warm(
        bare: &Self::Bare,
        store: &mut Store<GuestState>,
    ) -> impl Future<Output = wasmtime::Result<()>> + Send;
}

impl Instantiate for ProviderPre {
    type Bare = ProviderInstance;
    async fn instantiate(&self, store: &mut Store<GuestState>) -> wasmtime::Result<Self::Bare> {
        ProviderPre::instantiate(self, store).await
    }
    async fn warm(bare: &Self::Bare, store: &mut Store<GuestState>) -> wasmtime::Result<()> {
        bare.info(store, "").await.map(drop)
    }
}

impl Instantiate for FixupPre {
    type Bare = FixupBare;
    async fn instantiate(&self, store: &mut Store<GuestState>) -> wasmtime::Result<Self::Bare> {
        self.instantiate_bare(store).await
    }
    async fn warm(bare: &Self::Bare, store: &mut Store<GuestState>) -> wasmtime::Result<()> {
        bare.info(store, "").await.map(drop)
    }
}

/// One instance with the store it lives in and the pool slot it occupies. Dropping
/// it frees the store first, then the slot, so the permit count never runs ahead of
/// wasmtime's own slots.
pub struct Ready<B> {
    /// The store the instance lives in (one store per instance).
    pub store: Store<GuestState>,
    /// The instance.
    pub bare: B,
    /// The slot it occupies.
    pub permit: OwnedSemaphorePermit,
    /// What it has done so far.
    pub life: Life,
}

/// What an instance has done so far: how many requests it served, and how much
/// linear memory it held when it was made.
#[derive(Debug, Clone, Copy, Default)]
pub struct Life {
    served: u32,
    born_bytes: usize,
}

/// An instance kept for its tenant's next request.
struct Kept<B> {
    tenant: Tenant,
    ready: Ready<B>,
}

/// The waiting instances of one component.
pub struct ReadyPool<P: Instantiate> {
    pre: P,
    label: Arc<str>,
    tools: Arc<Toolchain>,
    ready: Mutex<Vec<Ready<P::Bare>>>,
    /// Instances that served a request, kept for their tenant's next one; the most
    /// recently returned last.
    kept: Mutex<Vec<Kept<P::Bare>>>,
    /// One refill at a time per component.
    refilling: AtomicBool,
}

impl<P: Instantiate> ReadyPool<P> {
    /// An empty pool for the component `label`; [`ReadyPool::refill`] fills it.
    pub fn new(pre: P, label: Arc<str>, tools: Arc<Toolchain>) -> Arc<Self> {
        Arc::new(Self {
            pre,
            label,
            tools,
            ready: Mutex::new(Vec::new()),
            kept: Mutex::new(Vec::new()),
            refilling: AtomicBool::new(false),
        })
    }

    /// The pre-linked component.
    pub fn pre(&self) -> &P {
        &self.pre
    }

    /// How many instances wait now.
    pub fn waiting(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Ready<P::Bare>>> {
        self.ready
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Whether fewer fresh instances wait than the configured depth.
    pub fn wants_refill(&self) -> bool {
        self.waiting() < self.tools.tuning.ready_instances
    }

    fn lock_kept(&self) -> std::sync::MutexGuard<'_, Vec<Kept<P::Bare>>> {
        self.kept
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// An instance for one request: the one `tenant` used most recently when one is
    /// kept, else a fresh waiting one, else a new one made now (waiting at most the
    /// call timeout for a slot). Without a tenant, always a fresh one.
    pub async fn take(&self, tenant: Option<&Tenant>) -> Result<Ready<P::Bare>, Failure> {
        if let Some(tenant) = tenant {
            let mut kept = self.lock_kept();
            if let Some(at) = kept.iter().rposition(|kept| &kept.tenant == tenant) {
                return Ok(kept.remove(at).ready);
            }
        }
        if let Some(ready) = self.lock().pop() {
            return Ok(ready);
        }
        let permit = acquire(&self.tools.slots, self.tools.settings.guest_call_timeout).await?;
        self.make(permit, false).await
    }

    /// A new instance made now, never one that waited (to measure a cold one).
    pub async fn make_now(&self) -> Result<Ready<P::Bare>, Failure> {
        let permit = acquire(&self.tools.slots, self.tools.settings.guest_call_timeout).await?;
        self.make(permit, false).await
    }

    /// A fresh store and instance holding `permit`, bounded like any guest call.
    async fn make(
        &self,
        permit: OwnedSemaphorePermit,
        warm: bool,
    ) -> Result<Ready<P::Bare>, Failure> {
        let settings = &self.tools.settings;
        let mut store = sandbox::new_store(
            &self.tools.engine,
            settings.guest_memory_bytes,
            settings.guest_call_timeout,
            Arc::from("{}"),
        );
        let pre = &self.pre;
        let bare = sandbox::guarded(&mut store, &self.label, async |store| {
            let bare = pre.instantiate(store).await?;
            if warm {
                P::warm(&bare, store).await?;
            }
            Ok(bare)
        })
        .await?;
        let born_bytes = sandbox::memory_bytes(&store);
        Ok(Ready {
            store,
            bare,
            permit,
            life: Life {
                served: 0,
                born_bytes,
            },
        })
    }

    /// An instance that has just served a request of `tenant`, healthy and with every
    /// guest resource of that request dropped: keep it for the tenant's next request,
    /// unless it has served its `guest-instance-requests`, its memories have grown by
    /// more than a freed slot keeps resident, or keeping it would hold a slot requests
    /// need. Returns what to drop: the instance itself, or the least recently used one
    /// it displaced.
    pub fn give_back(&self, tenant: Tenant, mut ready: Ready<P::Bare>) -> Option<Ready<P::Bare>> {
        let life = &mut ready.life;
        life.served = life.served.saturating_add(1);
        let settings = &self.tools.settings;
        let grown = sandbox::memory_bytes(&ready.store).saturating_sub(life.born_bytes);
        let keep = life.served < settings.instance_requests
            && grown <= settings.keep_resident_bytes
            && may_reserve(self.tools.slots.available_permits(), settings.max_instances);
        tracing::trace!(component = %self.label, served = life.served, grown, keep, "instance returned");
        if !keep {
            return Some(ready);
        }
        let mut kept = self.lock_kept();
        let displaced = (kept.len() >= KEPT_PER_COMPONENT).then(|| kept.remove(0).ready);
        kept.push(Kept { tenant, ready });
        displaced
    }

    /// Top the pool up to the configured depth, taking only slots that
    /// [`may_reserve`] allows. Returns at once when another refill is running.
    pub async fn refill(&self) {
        let depth = self.tools.tuning.ready_instances;
        if depth == 0 || self.refilling.swap(true, Ordering::AcqRel) {
            return;
        }
        while self.waiting() < depth {
            let slots = &self.tools.slots;
            if !may_reserve(slots.available_permits(), self.tools.settings.max_instances) {
                break;
            }
            let Ok(permit) = slots.clone().try_acquire_owned() else {
                break;
            };
            match self.make(permit, self.tools.tuning.warm_ready).await {
                Ok(ready) => self.lock().push(ready),
                Err(failure) => {
                    tracing::warn!(component = %self.label, ?failure, "could not prepare an instance ahead of time");
                    break;
                }
            }
        }
        self.refilling.store(false, Ordering::Release);
    }
}

/// Whether a waiting instance may take one more slot: only while at least three
/// quarters of all slots stay free after it, so waiting instances can never hold
/// the slots a request needs (with `max_instances: 2`, nothing waits at all).
fn may_reserve(available: usize, max_instances: u32) -> bool {
    let keep_free = (max_instances as usize * 3).div_ceil(4);
    available > keep_free
}

/// A slot, waiting at most `wait` for one to come free.
pub async fn acquire(
    slots: &Arc<Semaphore>,
    wait: Duration,
) -> Result<OwnedSemaphorePermit, Failure> {
    if let Ok(permit) = slots.clone().try_acquire_owned() {
        return Ok(permit);
    }
    match tokio::time::timeout(wait, slots.clone().acquire_owned()).await {
        Ok(Ok(permit)) => Ok(permit),
        _ => Err(Failure::Host(
            "instance pool exhausted: every slot is in use (raise runtime.max_instances)".into(),
        )),
    }
}

/// The error a failed take reports, naming the component.
pub fn take_error(label: &Arc<str>, failure: Failure) -> GuestError {
    match failure {
        Failure::Trap(reason) => GuestError::Trap {
            component: label.to_string(),
            reason,
        },
        Failure::Host(message) => GuestError::Host {
            component: label.to_string(),
            message,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_instances_leave_three_quarters_of_the_slots_free() {
        assert!(!may_reserve(2, 2), "a two-slot pool keeps nothing waiting");
        assert!(may_reserve(64, 64));
        assert!(may_reserve(49, 64));
        assert!(!may_reserve(48, 64));
        assert!(may_reserve(1000, 1000));
        assert!(!may_reserve(750, 1000));
    }
}
