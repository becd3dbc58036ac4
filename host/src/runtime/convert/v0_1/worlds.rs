//! World-specific records: the translator's info, contexts and error classes, and
//! the filter's info, hooks and context.

use crate::ir;
use crate::runtime::bindings::v0_1::fixup::exports::plugboard::adapter::filter as wit_filter;
use crate::runtime::bindings::v0_1::provider::exports::plugboard::adapter::translator as wit_translator;
use crate::runtime::{
    Account, AuthScheme, DecodeContext, EncodeContext, FixupInfo, Hooks, ModelInfo, ProviderInfo,
    SandboxContext,
};

impl From<wit_translator::AuthScheme> for AuthScheme {
    fn from(auth: wit_translator::AuthScheme) -> Self {
        match auth {
            wit_translator::AuthScheme::None => AuthScheme::None,
            wit_translator::AuthScheme::Bearer => AuthScheme::Bearer,
            wit_translator::AuthScheme::Header(h) => AuthScheme::Header {
                name: h.name,
                prefix: h.prefix,
            },
            wit_translator::AuthScheme::Query(name) => AuthScheme::Query(name),
        }
    }
}

impl From<AuthScheme> for wit_translator::AuthScheme {
    fn from(auth: AuthScheme) -> Self {
        match auth {
            AuthScheme::None => wit_translator::AuthScheme::None,
            AuthScheme::Bearer => wit_translator::AuthScheme::Bearer,
            AuthScheme::Header { name, prefix } => {
                wit_translator::AuthScheme::Header(wit_translator::HeaderAuth { name, prefix })
            }
            AuthScheme::Query(name) => wit_translator::AuthScheme::Query(name),
        }
    }
}

impl From<wit_translator::ModelInfo> for ModelInfo {
    fn from(m: wit_translator::ModelInfo) -> Self {
        Self {
            id: m.id,
            display_name: m.display_name,
            context_window: m.context_window,
            max_output_tokens: m.max_output_tokens,
        }
    }
}

impl From<ModelInfo> for wit_translator::ModelInfo {
    fn from(m: ModelInfo) -> Self {
        Self {
            id: m.id,
            display_name: m.display_name,
            context_window: m.context_window,
            max_output_tokens: m.max_output_tokens,
        }
    }
}

impl From<wit_translator::AdapterInfo> for ProviderInfo {
    fn from(info: wit_translator::AdapterInfo) -> Self {
        Self {
            id: info.id,
            version: info.version,
            contract_version: info.contract_version,
            description: info.description,
            models: info.models.into_iter().map(Into::into).collect(),
            native_dialects: info.native_dialects.into_iter().map(Into::into).collect(),
            auth: info.auth.into(),
            hosts: info.hosts,
            default_base_url: info.default_base_url,
            default_fixups: info.default_fixups,
        }
    }
}

impl From<ProviderInfo> for wit_translator::AdapterInfo {
    fn from(info: ProviderInfo) -> Self {
        Self {
            id: info.id,
            version: info.version,
            contract_version: info.contract_version,
            description: info.description,
            models: info.models.into_iter().map(Into::into).collect(),
            native_dialects: info.native_dialects.into_iter().map(Into::into).collect(),
            auth: info.auth.into(),
            hosts: info.hosts,
            default_base_url: info.default_base_url,
            default_fixups: info.default_fixups,
        }
    }
}

impl From<&Account> for wit_translator::Account {
    fn from(a: &Account) -> Self {
        Self {
            id: a.id.clone(),
            base_url: a.base_url.clone(),
            attributes: a.attributes.clone(),
        }
    }
}

impl From<wit_translator::Account> for Account {
    fn from(a: wit_translator::Account) -> Self {
        Self {
            id: a.id,
            base_url: a.base_url,
            attributes: a.attributes,
        }
    }
}

impl From<&EncodeContext> for wit_translator::EncodeContext {
    fn from(c: &EncodeContext) -> Self {
        Self {
            account: (&c.account).into(),
            model: c.model.clone(),
            stream: c.stream,
            client_headers: c.client_headers.clone(),
        }
    }
}

impl From<wit_translator::EncodeContext> for EncodeContext {
    fn from(c: wit_translator::EncodeContext) -> Self {
        Self {
            account: c.account.into(),
            model: c.model,
            stream: c.stream,
            client_headers: c.client_headers,
        }
    }
}

impl From<DecodeContext> for wit_translator::DecodeContext {
    fn from(c: DecodeContext) -> Self {
        Self {
            head: c.head.into(),
            streaming: c.streaming,
            passthrough: c.passthrough.map(Into::into),
        }
    }
}

impl From<wit_translator::DecodeContext> for DecodeContext {
    fn from(c: wit_translator::DecodeContext) -> Self {
        Self {
            head: c.head.into(),
            streaming: c.streaming,
            passthrough: c.passthrough.map(Into::into),
        }
    }
}

impl From<wit_translator::ErrorClass> for ir::ErrorClass {
    fn from(class: wit_translator::ErrorClass) -> Self {
        use wit_translator::ErrorClass as C;
        match class {
            C::RateLimited(r) => ir::ErrorClass::RateLimited {
                retry_after_ms: r.after_ms,
            },
            C::QuotaExhausted(r) => ir::ErrorClass::QuotaExhausted {
                retry_after_ms: r.after_ms,
            },
            C::AuthExpired => ir::ErrorClass::AuthExpired,
            C::ContextTooLong => ir::ErrorClass::ContextTooLong,
            C::Overloaded(r) => ir::ErrorClass::Overloaded {
                retry_after_ms: r.after_ms,
            },
            C::BadRequest => ir::ErrorClass::BadRequest,
            C::Other => ir::ErrorClass::Other,
        }
    }
}

impl From<ir::ErrorClass> for wit_translator::ErrorClass {
    fn from(class: ir::ErrorClass) -> Self {
        use wit_translator::{ErrorClass as C, RetryAfter};
        match class {
            ir::ErrorClass::RateLimited { retry_after_ms } => C::RateLimited(RetryAfter {
                after_ms: retry_after_ms,
            }),
            ir::ErrorClass::QuotaExhausted { retry_after_ms } => C::QuotaExhausted(RetryAfter {
                after_ms: retry_after_ms,
            }),
            ir::ErrorClass::AuthExpired => C::AuthExpired,
            ir::ErrorClass::ContextTooLong => C::ContextTooLong,
            ir::ErrorClass::Overloaded { retry_after_ms } => C::Overloaded(RetryAfter {
                after_ms: retry_after_ms,
            }),
            ir::ErrorClass::BadRequest => C::BadRequest,
            ir::ErrorClass::Other => C::Other,
        }
    }
}

impl From<wit_translator::ClassifiedError> for ir::ClassifiedError {
    fn from(e: wit_translator::ClassifiedError) -> Self {
        Self {
            class: e.class.into(),
            message: e.message,
        }
    }
}

impl From<ir::ClassifiedError> for wit_translator::ClassifiedError {
    fn from(e: ir::ClassifiedError) -> Self {
        Self {
            class: e.class.into(),
            message: e.message,
        }
    }
}

// filter world

impl From<wit_filter::Hooks> for Hooks {
    fn from(hooks: wit_filter::Hooks) -> Self {
        Self {
            request: hooks.contains(wit_filter::Hooks::REQUEST),
            upstream_request: hooks.contains(wit_filter::Hooks::UPSTREAM_REQUEST),
            events: hooks.contains(wit_filter::Hooks::EVENTS),
        }
    }
}

impl From<Hooks> for wit_filter::Hooks {
    fn from(hooks: Hooks) -> Self {
        let mut flags = wit_filter::Hooks::empty();
        if hooks.request {
            flags |= wit_filter::Hooks::REQUEST;
        }
        if hooks.upstream_request {
            flags |= wit_filter::Hooks::UPSTREAM_REQUEST;
        }
        if hooks.events {
            flags |= wit_filter::Hooks::EVENTS;
        }
        flags
    }
}

impl From<wit_filter::FixupInfo> for FixupInfo {
    fn from(info: wit_filter::FixupInfo) -> Self {
        Self {
            id: info.id,
            version: info.version,
            contract_version: info.contract_version,
            description: info.description,
            hooks: info.hooks.into(),
        }
    }
}

impl From<FixupInfo> for wit_filter::FixupInfo {
    fn from(info: FixupInfo) -> Self {
        Self {
            id: info.id,
            version: info.version,
            contract_version: info.contract_version,
            description: info.description,
            hooks: info.hooks.into(),
        }
    }
}

/// The facts a fixup's `filter` constructor receives, from the sandbox context.
/// `provider` is the adapter id of the provider serving the request.
pub fn fixup_context(provider_id: &str, ctx: &SandboxContext) -> wit_filter::FixupContext {
    wit_filter::FixupContext {
        provider: provider_id.to_owned(),
        provider_name: ctx.provider_name.clone(),
        model: ctx.model.clone(),
        client_dialect: ctx.client_dialect.into(),
    }
}
