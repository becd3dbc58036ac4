//! Generated bindings, one module per supported contract version.
//!
//! Each released WIT folder gets its own module here and one variant in the
//! dispatch enums of `runtime::dispatch` (Zed's extension-host pattern): adding
//! contract 0.2.0 means a `v0_2` module, a variant, and one more arm per call.

/// Contract `plugboard:adapter@0.1.0`.
pub mod v0_1 {
    /// The `provider` world: exports `translator`, imports `host`.
    pub mod provider {
        wasmtime::component::bindgen!({
            world: "provider",
            path: "../wit/plugboard-adapter@0.1.0",
            // Guest calls run on async stores so an endless loop can yield to tokio at
            // every epoch tick instead of pinning a worker thread until its deadline.
            exports: { default: async },
        });
    }

    /// The `fixup` world: exports `filter`, imports `host`. Shares the `types` and
    /// `host` bindings with the provider world so one conversion serves both.
    pub mod fixup {
        wasmtime::component::bindgen!({
            world: "fixup",
            path: "../wit/plugboard-adapter@0.1.0",
            exports: { default: async },
            with: {
                "plugboard:adapter/types": super::provider::plugboard::adapter::types,
                "plugboard:adapter/host": super::provider::plugboard::adapter::host,
            },
        });
    }

    pub use provider::plugboard::adapter::host::{self as host_api, LogLevel};
    pub use provider::plugboard::adapter::types;
}

/// Contract `plugboard:adapter@0.2.0`.
pub mod v0_2 {
    /// The `provider` world: exports `translator` (with its per-attempt `call`
    /// resource), imports `host`; `credentials` holds the types of the credential
    /// specs (the host re-exports them as `runtime::spec`).
    pub mod provider {
        wasmtime::component::bindgen!({
            world: "provider",
            path: "../sdk/wit/plugboard-adapter@0.2.0",
            exports: { default: async },
            // `ProviderInfo` keeps the declared credential kinds as generated; hosts
            // compare them in tests.
            additional_derives: [PartialEq],
        });
    }

    /// The `fixup` world: exports `filter` (stateless functions), imports `host`.
    /// Shares the `types` and `host` bindings with the provider world.
    pub mod fixup {
        wasmtime::component::bindgen!({
            world: "fixup",
            path: "../sdk/wit/plugboard-adapter@0.2.0",
            exports: { default: async },
            additional_derives: [PartialEq],
            with: {
                "plugboard:adapter/types": super::provider::plugboard::adapter::types,
                "plugboard:adapter/host": super::provider::plugboard::adapter::host,
            },
        });
    }

    pub use provider::plugboard::adapter::credentials;
    pub use provider::plugboard::adapter::host::{self as host_api, LogLevel};
    pub use provider::plugboard::adapter::types;
}
