//! Generated guest bindings for both worlds of contract 0.2, from
//! `wit/plugboard-adapter@0.2.0` inside this crate (so the SDK builds on its own).
//!
//! Hidden from adapter authors: they use the friendly names in [`crate::types`] and the
//! export macros. The `provider` world is generated first and owns the shared `types`
//! and `host` interfaces; the `fixup` world reuses them through `with`, so a request
//! type is one Rust type whichever world a crate exports.
//!
//! `pub_export_macro` makes wit-bindgen put only the world's *imports* in this crate's
//! custom section; the exports are described by a second section emitted where the
//! export macro is invoked. That is what lets one SDK crate serve both worlds while a
//! provider component exports only `translator` and a fixup component only `filter`.

#![allow(missing_docs, clippy::all)]

/// Bindings for the `provider` world (and the shared `types` and `host` interfaces).
pub mod provider {
    wit_bindgen::generate!({
        world: "provider",
        path: "wit/plugboard-adapter@0.2.0",
        pub_export_macro: true,
        export_macro_name: "export_provider_world",
        default_bindings_module: "plugboard_sdk::__bindings::provider",
        runtime_path: "plugboard_sdk::__wit_bindgen::rt",
        additional_derives: [PartialEq],
        generate_unused_types: true,
        additional_type_attributes: {
            "plugboard:adapter/types@0.2.0/usage": [#[derive(Default)]],
            "plugboard:adapter/types@0.2.0/generation-params": [#[derive(Default)]],
            "plugboard:adapter/types@0.2.0/response-metadata": [#[derive(Default)]],
            "plugboard:adapter/types@0.2.0/reasoning-config": [#[derive(Default)]],
        },
    });
}

/// Bindings for the `fixup` world, reusing the provider world's shared interfaces.
pub mod fixup {
    wit_bindgen::generate!({
        world: "fixup",
        path: "wit/plugboard-adapter@0.2.0",
        pub_export_macro: true,
        export_macro_name: "export_fixup_world",
        default_bindings_module: "plugboard_sdk::__bindings::fixup",
        runtime_path: "plugboard_sdk::__wit_bindgen::rt",
        additional_derives: [PartialEq],
        with: {
            "plugboard:adapter/types@0.2.0": crate::__bindings::provider::plugboard::adapter::types,
            "plugboard:adapter/host@0.2.0": crate::__bindings::provider::plugboard::adapter::host,
        },
    });
}
