//! The `fixup` world: stateless hooks, each a plain function. Implement [`Fixup`] and
//! call [`export_fixup!`](crate::export_fixup), or, for a fixup that only edits the
//! request, write the edit as a pure function and call
//! [`request_fixup!`](crate::request_fixup):
//!
//! ```ignore
//! pub fn merge_consecutive_turns(request: ChatRequest) -> ChatRequest { /* ... */ }
//!
//! plugboard_sdk::request_fixup!(
//!     MergeTurns,
//!     id = "merge-turns",
//!     description = "Merges consecutive messages of one role",
//!     applies_to = AppliesTo::any(),
//!     merge_consecutive_turns
//! );
//! ```
//!
//! The hooks are associated constants, `None` unless set: the export glue tells the
//! host exactly the ones that are `Some` (`info().hooks` is derived, never written by
//! hand), so the host never enters the guest for a hook that does nothing.

use std::marker::PhantomData;

use crate::__bindings::fixup::exports::plugboard::adapter::filter;
use crate::types::*;

/// Edit the IR request before the provider encodes it.
pub type RequestHook = fn(&FixupContext, ChatRequest) -> Result<ChatRequest, AdapterError>;
/// Edit the upstream HTTP request after encoding (before the credential is added).
pub type UpstreamRequestHook = fn(&FixupContext, HttpRequest) -> Result<HttpRequest, AdapterError>;
/// Edit a batch of response events (one call per upstream chunk).
pub type EventsHook = fn(&FixupContext, Vec<StreamEvent>) -> Vec<StreamEvent>;

/// A request fixup: its info and the hooks it implements, in the order they run.
pub trait Fixup: 'static {
    /// Describe this component (id, version, description, `applies_to`); its `hooks`
    /// are replaced by the ones set below. Called once at load; must be cheap and pure.
    fn info() -> FixupInfo;

    /// Edit the IR request before the provider encodes it.
    const ON_REQUEST: Option<RequestHook> = None;
    /// Edit the upstream HTTP request after encoding (before the credential is added).
    const ON_UPSTREAM_REQUEST: Option<UpstreamRequestHook> = None;
    /// Edit a batch of response events (one call per upstream chunk, not per event).
    const ON_EVENTS: Option<EventsHook> = None;
}

/// The hooks `F` implements, as the host is told them.
pub fn hooks_of<F: Fixup>() -> Hooks {
    let mut hooks = Hooks::empty();
    if F::ON_REQUEST.is_some() {
        hooks |= Hooks::REQUEST;
    }
    if F::ON_UPSTREAM_REQUEST.is_some() {
        hooks |= Hooks::UPSTREAM_REQUEST;
    }
    if F::ON_EVENTS.is_some() {
        hooks |= Hooks::EVENTS;
    }
    hooks
}

/// `F`'s info with its derived hooks: what the host reads at load.
pub fn info_of<F: Fixup>() -> FixupInfo {
    FixupInfo {
        hooks: hooks_of::<F>(),
        ..F::info()
    }
}

#[doc(hidden)]
/// Export glue: implements the generated `filter` functions for any [`Fixup`]. A hook
/// the fixup lacks passes its input through (the host never calls it anyway).
pub struct FixupExport<F>(PhantomData<F>);

impl<F: Fixup> filter::Guest for FixupExport<F> {
    fn info() -> FixupInfo {
        info_of::<F>()
    }
    fn on_request(ctx: FixupContext, request: ChatRequest) -> Result<ChatRequest, AdapterError> {
        match F::ON_REQUEST {
            Some(hook) => hook(&ctx, request),
            None => Ok(request),
        }
    }
    fn on_upstream_request(
        ctx: FixupContext,
        request: HttpRequest,
    ) -> Result<HttpRequest, AdapterError> {
        match F::ON_UPSTREAM_REQUEST {
            Some(hook) => hook(&ctx, request),
            None => Ok(request),
        }
    }
    fn on_events(ctx: FixupContext, events: Vec<StreamEvent>) -> Vec<StreamEvent> {
        match F::ON_EVENTS {
            Some(hook) => hook(&ctx, events),
            None => events,
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

/// A whole fixup that only edits the request, from one pure function
/// `fn(ChatRequest) -> ChatRequest`: declares the unit struct `$name`, implements
/// [`Fixup`] with `on_request` only (version from the crate's `Cargo.toml`) and
/// exports it.
///
/// ```ignore
/// plugboard_sdk::request_fixup!(
///     FirstUserTurn,
///     id = "first-user-turn",
///     description = "Prepends a minimal user turn when a conversation opens with the assistant",
///     applies_to = AppliesTo::any(),
///     ensure_first_user_turn
/// );
/// ```
#[macro_export]
macro_rules! request_fixup {
    (
        $name:ident,
        id = $id:expr,
        description = $description:expr,
        applies_to = $applies_to:expr,
        $edit:path $(,)?
    ) => {
        #[doc = concat!("The `", $id, "` fixup component: `on-request` runs [`", stringify!($edit), "`].")]
        pub struct $name;

        impl $crate::Fixup for $name {
            fn info() -> $crate::types::FixupInfo {
                $crate::types::FixupInfo::new($id, env!("CARGO_PKG_VERSION"), $description)
                    .applies_to($applies_to)
            }
            const ON_REQUEST: Option<$crate::fixup::RequestHook> =
                Some(|_ctx, request| Ok($edit(request)));
        }

        $crate::export_fixup!($name);
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shout(request: ChatRequest) -> ChatRequest {
        request.with_system("SHOUT")
    }

    crate::request_fixup!(
        Shout,
        id = "shout",
        description = "adds a system block",
        applies_to = AppliesTo::adapters(&["gemini"]),
        shout
    );

    struct Stamp;
    impl Fixup for Stamp {
        fn info() -> FixupInfo {
            FixupInfo::new("stamp", "1.0.0", "stamps").applies_to(AppliesTo::any())
        }
        const ON_UPSTREAM_REQUEST: Option<UpstreamRequestHook> =
            Some(|ctx, request| Ok(request.with_header("x-model", ctx.model.clone())));
        const ON_EVENTS: Option<EventsHook> = Some(|_, mut events| {
            events.retain(|event| !matches!(event, StreamEvent::ReasoningDelta(_)));
            events
        });
    }

    #[test]
    fn a_request_fixup_macro_declares_only_the_request_hook() {
        let info = info_of::<Shout>();
        assert_eq!(info.id, "shout");
        assert_eq!(info.hooks, Hooks::REQUEST);
        assert_eq!(info.applies_to.adapters, ["gemini"]);
        assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
        let edited = <FixupExport<Shout> as filter::Guest>::on_request(
            FixupContext::for_tests(),
            ChatRequest::new(),
        )
        .unwrap();
        assert_eq!(edited.system[0].text, "SHOUT");
    }

    #[test]
    fn hooks_are_derived_from_the_ones_implemented_and_the_others_pass_through() {
        assert_eq!(
            info_of::<Stamp>().hooks,
            Hooks::UPSTREAM_REQUEST | Hooks::EVENTS
        );
        let ctx = FixupContext::for_tests();
        let stamped = <FixupExport<Stamp> as filter::Guest>::on_upstream_request(
            ctx.clone(),
            HttpRequest::post_json("http://u", Vec::new()),
        )
        .unwrap();
        assert_eq!(stamped.header("x-model"), Some("test-model"));
        let events = vec![
            StreamEvent::reasoning_delta("r", "x"),
            StreamEvent::text_delta("t", "y"),
        ];
        assert_eq!(
            <FixupExport<Stamp> as filter::Guest>::on_events(ctx.clone(), events),
            vec![StreamEvent::text_delta("t", "y")]
        );
        let request = ChatRequest::new().with_system("kept");
        assert_eq!(
            <FixupExport<Stamp> as filter::Guest>::on_request(ctx, request.clone()).unwrap(),
            request
        );
    }
}
