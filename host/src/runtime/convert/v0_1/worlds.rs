//! World-specific records of contract 0.1, converted up to the host's (0.2-shaped)
//! types: the translator's info (its `auth-scheme` becomes one credential kind
//! `api-key`, its `default-base-url` the `base` endpoint), the contexts built from a
//! [`CallContext`], error classes, and the filter's info and context.

use crate::ir;
use crate::runtime::bindings::v0_1::fixup::exports::plugboard::adapter::filter as wit_filter;
use crate::runtime::bindings::v0_1::provider::exports::plugboard::adapter::translator as wit_translator;
use crate::runtime::{
    AppliesTo, CallContext, CredentialKind, Endpoint, FixupContext, FixupInfo, ModelInfo,
    Placement, ProviderInfo, spec,
};

/// A 0.1 model knows no routes.
impl From<wit_translator::ModelInfo> for ModelInfo {
    fn from(m: wit_translator::ModelInfo) -> Self {
        Self {
            id: m.id,
            display_name: m.display_name,
            context_window: m.context_window,
            max_output_tokens: m.max_output_tokens,
            routes: Vec::new(),
        }
    }
}

/// The id of the one credential kind a 0.1 adapter has.
pub const API_KEY_KIND: &str = "api-key";

impl From<wit_translator::AuthScheme> for Placement {
    fn from(auth: wit_translator::AuthScheme) -> Self {
        match auth {
            wit_translator::AuthScheme::None => Placement::None,
            wit_translator::AuthScheme::Bearer => Placement::Bearer,
            wit_translator::AuthScheme::Header(h) => Placement::Header {
                name: h.name,
                prefix: h.prefix,
            },
            wit_translator::AuthScheme::Query(name) => Placement::Query(name),
        }
    }
}

/// A 0.1 adapter's info in the host's terms. `contract_version` is the version of
/// the world it exports (the loader reads it from the export name).
pub fn provider_info(
    mut info: wit_translator::AdapterInfo,
    contract_version: &str,
) -> ProviderInfo {
    let auth = std::mem::replace(&mut info.auth, wit_translator::AuthScheme::None);
    let placement: Placement = auth.into();
    let api_key = CredentialKind {
        id: API_KEY_KIND.to_owned(),
        description: "An API key the operator supplies".to_owned(),
        declared: spec::CredentialKind {
            id: API_KEY_KIND.to_owned(),
            description: "An API key the operator supplies".to_owned(),
            placement: super::super::placement_to_spec(&placement),
            obtain: spec::Obtain::Key,
            inputs: Vec::new(),
            refresh: None,
            exchange: None,
            setup: false,
            reads: Vec::new(),
        },
        placement,
    };
    let endpoints = info
        .default_base_url
        .take()
        .map(|url| Endpoint {
            name: "base".to_owned(),
            url,
            description: "The upstream's base URL".to_owned(),
        })
        .into_iter()
        .collect();
    super::provider_info_from(info, contract_version, vec![api_key], endpoints)
}

/// The 0.1 `encode-context` of an attempt: `base-url` is its `base` endpoint.
pub fn encode_context(call: &CallContext) -> wit_translator::EncodeContext {
    wit_translator::EncodeContext {
        account: wit_translator::Account {
            id: call.account.id.clone(),
            base_url: call
                .endpoint("base")
                .unwrap_or_default()
                .trim_end_matches('/')
                .to_owned(),
            attributes: call.account.attributes.clone(),
        },
        model: call.model.clone(),
        stream: call.stream,
        client_headers: call.client_headers.clone(),
    }
}

/// The 0.1 `decode-context` of an answer.
pub fn decode_context(
    head: &ir::ResponseHead,
    streaming: bool,
    passthrough: Option<ir::Dialect>,
) -> wit_translator::DecodeContext {
    wit_translator::DecodeContext {
        head: head.clone().into(),
        streaming,
        passthrough: passthrough.map(Into::into),
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

impl From<wit_translator::ClassifiedError> for ir::UpstreamError {
    fn from(e: wit_translator::ClassifiedError) -> Self {
        Self {
            class: e.class.into(),
            message: e.message,
        }
    }
}

// filter world

/// A 0.1 fixup's info in the host's terms: it applies to every request.
pub fn fixup_info(info: wit_filter::FixupInfo, contract_version: &str) -> FixupInfo {
    super::fixup_info_from(info, contract_version, AppliesTo::default())
}

/// What a 0.1 fixup's `filter` constructor receives. Its `provider` was the adapter
/// id, its `provider-name` the entry name.
pub fn fixup_context(ctx: &FixupContext) -> wit_filter::FixupContext {
    wit_filter::FixupContext {
        provider: ctx.adapter.clone(),
        provider_name: ctx.provider.clone(),
        model: ctx.model.clone(),
        client_dialect: ctx.client_dialect.into(),
    }
}
