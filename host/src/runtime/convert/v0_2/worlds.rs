//! World-specific records of contract 0.2: the translator's info (credential kinds
//! kept whole, as the host's `spec` types) and call context, and the filter's info,
//! guards and context.

use crate::runtime::bindings::v0_2::fixup::exports::plugboard::adapter::filter as wit_filter;
use crate::runtime::bindings::v0_2::provider::exports::plugboard::adapter::translator as wit_translator;
use crate::runtime::{
    AppliesTo, CallContext, CredentialKind, Endpoint, FixupContext, FixupInfo, ModelInfo,
    ProviderInfo, spec,
};

impl From<wit_translator::ModelInfo> for ModelInfo {
    fn from(m: wit_translator::ModelInfo) -> Self {
        Self {
            id: m.id,
            display_name: m.display_name,
            context_window: m.context_window,
            max_output_tokens: m.max_output_tokens,
            routes: m.routes,
        }
    }
}

impl From<&ModelInfo> for wit_translator::ModelInfo {
    fn from(m: &ModelInfo) -> Self {
        Self {
            id: m.id.clone(),
            display_name: m.display_name.clone(),
            context_window: m.context_window,
            max_output_tokens: m.max_output_tokens,
            routes: m.routes.clone(),
        }
    }
}

impl From<spec::CredentialKind> for CredentialKind {
    fn from(declared: spec::CredentialKind) -> Self {
        Self {
            id: declared.id.clone(),
            description: declared.description.clone(),
            placement: super::super::placement_from_spec(&declared.placement),
            declared,
        }
    }
}

impl From<wit_translator::Endpoint> for Endpoint {
    fn from(e: wit_translator::Endpoint) -> Self {
        Self {
            name: e.name,
            url: e.url,
            description: e.description,
        }
    }
}

/// A 0.2 adapter's info. `contract_version` is the version of the world it exports.
pub fn provider_info(
    mut info: wit_translator::AdapterInfo,
    contract_version: &str,
) -> ProviderInfo {
    let credential_kinds = std::mem::take(&mut info.credential_kinds);
    let endpoints = std::mem::take(&mut info.endpoints);
    super::provider_info_from(
        info,
        contract_version,
        credential_kinds.into_iter().map(Into::into).collect(),
        endpoints.into_iter().map(Into::into).collect(),
    )
}

/// The `call-context` of an attempt.
pub fn call_context(call: &CallContext) -> wit_translator::CallContext {
    wit_translator::CallContext {
        account: wit_translator::Account {
            id: call.account.id.clone(),
            attributes: call.account.attributes.clone(),
        },
        credential_kind: call.credential_kind.clone(),
        model: call.model.clone(),
        client_dialect: call.client_dialect.into(),
        stream: call.stream,
        client_headers: call.client_headers.clone(),
        endpoints: call.endpoints.clone(),
        model_info: call.model_info.as_ref().map(Into::into),
    }
}

impl From<wit_filter::AppliesTo> for AppliesTo {
    fn from(a: wit_filter::AppliesTo) -> Self {
        Self {
            dialects: a.dialects.into_iter().map(Into::into).collect(),
            adapters: a.adapters,
            models: a.models,
        }
    }
}

/// A 0.2 fixup's info.
pub fn fixup_info(mut info: wit_filter::FixupInfo, contract_version: &str) -> FixupInfo {
    let applies_to = std::mem::replace(
        &mut info.applies_to,
        wit_filter::AppliesTo {
            dialects: Vec::new(),
            adapters: Vec::new(),
            models: Vec::new(),
        },
    );
    super::fixup_info_from(info, contract_version, applies_to.into())
}

/// The `fixup-context` every hook of a request receives.
pub fn fixup_context(ctx: &FixupContext) -> wit_filter::FixupContext {
    wit_filter::FixupContext {
        provider: ctx.provider.clone(),
        adapter: ctx.adapter.clone(),
        account: ctx.account.clone(),
        model: ctx.model.clone(),
        client_dialect: ctx.client_dialect.into(),
        token_budget: ctx.token_budget,
    }
}
