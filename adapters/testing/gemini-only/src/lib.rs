//! Test fixup `gemini-only` (package `test-gemini-only`): its `applies-to` admits only
//! `gemini-*` models, and its request hook panics naming the model, so a test proves
//! the host never enters a fixup for a request its guard excludes.

use plugboard_sdk::prelude::*;

/// The component.
pub struct GeminiOnly;

impl Fixup for GeminiOnly {
    fn info() -> FixupInfo {
        FixupInfo::new(
            "gemini-only",
            env!("CARGO_PKG_VERSION"),
            "admits only gemini-* models and panics when entered",
        )
        .applies_to(AppliesTo::any().and_models(&["gemini-*"]))
    }

    const ON_REQUEST: Option<RequestHook> =
        Some(|ctx, _request| panic!("gemini-only entered for model {}", ctx.model));
}

export_fixup!(GeminiOnly);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_gemini_models_are_admitted_and_only_the_request_hook_is_declared() {
        let info = plugboard_sdk::fixup::info_of::<GeminiOnly>();
        assert_eq!(info.applies_to.models, ["gemini-*"]);
        assert_eq!(info.hooks, Hooks::REQUEST);
    }

    #[test]
    #[should_panic(expected = "gemini-only entered for model test-model")]
    fn entering_it_panics_naming_the_model() {
        let hook = GeminiOnly::ON_REQUEST.expect("a request hook");
        let _ = hook(&FixupContext::for_tests(), ChatRequest::new());
    }
}
