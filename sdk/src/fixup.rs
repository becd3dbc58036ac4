//! The `fixup` world as one trait with defaults: implement [`Fixup`] and [`Filter`],
//! then call [`export_fixup!`](crate::export_fixup).

use std::cell::RefCell;
use std::marker::PhantomData;

use crate::__bindings::fixup::exports::plugboard::adapter::filter;
use crate::types::*;

/// A request fixup: describes itself and starts a [`Filter`] per request.
pub trait Fixup: 'static {
    /// Per-request filter state. Stateless fixups can use a unit struct.
    type Filter: Filter;

    /// Describe this component; `hooks` must name every hook the filter overrides
    /// (the host calls no others).
    fn info() -> FixupInfo;

    /// Start filtering one request.
    fn filter(ctx: FixupContext) -> Self::Filter;
}

/// Per-request hooks, in the order they run. Each defaults to passing its input through.
pub trait Filter: 'static {
    /// Edit the IR request before the provider encodes it.
    fn on_request(&mut self, request: ChatRequest) -> Result<ChatRequest, AdapterError> {
        Ok(request)
    }
    /// Edit the upstream HTTP request after encoding (before the credential is added).
    fn on_upstream_request(&mut self, request: HttpRequest) -> Result<HttpRequest, AdapterError> {
        Ok(request)
    }
    /// Edit a batch of response events (one call per upstream chunk).
    fn on_events(&mut self, events: Vec<StreamEvent>) -> Vec<StreamEvent> {
        events
    }
}

#[doc(hidden)]
/// Export glue: implements the generated `filter` traits for any [`Fixup`].
pub struct FixupExport<F>(PhantomData<F>);

#[doc(hidden)]
/// Export glue: the `filter` resource around a fixup's [`Filter`].
pub struct FilterExport<F: Fixup>(RefCell<F::Filter>);

impl<F: Fixup> filter::Guest for FixupExport<F> {
    type Filter = FilterExport<F>;

    fn info() -> FixupInfo {
        F::info()
    }
}

impl<F: Fixup> filter::GuestFilter for FilterExport<F> {
    fn new(ctx: FixupContext) -> Self {
        FilterExport(RefCell::new(F::filter(ctx)))
    }
    fn on_request(&self, request: ChatRequest) -> Result<ChatRequest, AdapterError> {
        self.0.borrow_mut().on_request(request)
    }
    fn on_upstream_request(&self, request: HttpRequest) -> Result<HttpRequest, AdapterError> {
        self.0.borrow_mut().on_upstream_request(request)
    }
    fn on_events(&self, events: Vec<StreamEvent>) -> Vec<StreamEvent> {
        self.0.borrow_mut().on_events(events)
    }
}

impl FixupContext {
    /// A context for tests: provider `test`, model `test-model`, an OpenAI Chat client.
    pub fn for_tests() -> Self {
        FixupContext {
            provider: "test".into(),
            provider_name: "test".into(),
            model: "test-model".into(),
            client_dialect: Dialect::OpenaiChat,
        }
    }
}

/// Export a [`Fixup`] implementation as this component's `filter`.
///
/// The glue exists only on `wasm32`, so the crate still builds and unit-tests natively.
#[macro_export]
macro_rules! export_fixup {
    ($ty:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type PlugboardFixupExport = $crate::fixup::FixupExport<$ty>;
            $crate::__export_fixup_impl!(PlugboardFixupExport with_types_in $crate::__bindings::fixup);
        };
        #[cfg(not(target_arch = "wasm32"))]
        const _: () = {
            fn assert_fixup<F: $crate::Fixup>() {}
            let _ = assert_fixup::<$ty>;
        };
    };
}
