//! What `plugboard adapters show ID` prints: everything a component declares, for
//! humans (text) and scripts (`--json`): credential kinds with their login, refresh and
//! exchange specs, named endpoints with their default URLs, models, hosts, and for a
//! fixup its hooks and `applies-to`. The JSON uses the contract's own (kebab-case)
//! names; `endpoints` maps each name to its default URL.

use std::fmt::Write;

use serde_json::{Map, Value, json};

use crate::ir::Dialect;
use crate::runtime::convert::placement_from_spec;
use crate::runtime::spec::{
    BodyEncoding, ClientRegistration, Obtain, TokenAnswer, TokenCall, TokenValue,
};
use crate::runtime::{
    ComponentSummary, CredentialKind, FixupComponent, Placement, ProviderComponent,
};

/// A provider, as text.
pub fn provider_text(provider: &ProviderComponent, summary: Option<&ComponentSummary>) -> String {
    let info = &provider.info;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "provider {} {} (contract {}): {}",
        info.id, info.version, info.contract_version, info.description
    );
    if let Some(summary) = summary {
        let _ = writeln!(
            out,
            "file: {} (sha256:{})",
            summary.path.display(),
            summary.hash
        );
    }
    let _ = writeln!(out, "\ncredential kinds:");
    for kind in &info.credential_kinds {
        let _ = writeln!(out, "  {}: {}", kind.id, kind.description);
        let _ = writeln!(out, "    placed: {}", placement_text(&kind.placement));
        let _ = writeln!(out, "    obtained: {}", obtain_text(&kind.declared.obtain));
        for input in &kind.declared.inputs {
            let default = input
                .default
                .as_deref()
                .map(|d| format!(" (default {d})"))
                .unwrap_or_else(|| " (required)".into());
            let _ = writeln!(
                out,
                "    asks at login: {}: {}{default}",
                input.name, input.description
            );
        }
        if let Some(refresh) = &kind.declared.refresh {
            let _ = writeln!(
                out,
                "    refreshed: {} {} at `{}`, {} s before expiry{}",
                refresh.call.method,
                encoding_text(refresh.call.encoding),
                refresh.call.endpoint,
                refresh.lead_s,
                if refresh.rotates {
                    "; the refresh token rotates"
                } else {
                    ""
                }
            );
        }
        if let Some(exchange) = &kind.declared.exchange {
            let _ = writeln!(
                out,
                "    exchanged before use: {} at `{}`, again {} s before the short-lived token expires",
                exchange.call.method, exchange.call.endpoint, exchange.lead_s
            );
        }
        if kind.declared.setup {
            let _ = writeln!(
                out,
                "    after login and refresh: the adapter's account-setup finds the account's attributes"
            );
        }
    }
    let _ = writeln!(
        out,
        "\nendpoints (override any with `endpoints: {{name: url}}`):"
    );
    let width = info
        .endpoints
        .iter()
        .map(|e| e.name.len())
        .max()
        .unwrap_or(0);
    for endpoint in &info.endpoints {
        let _ = writeln!(
            out,
            "  {:<width$}  {}  {}",
            endpoint.name, endpoint.url, endpoint.description
        );
    }
    let _ = writeln!(out, "\nhosts: {}", list_or_none(&info.hosts));
    let dialects: Vec<String> = info
        .native_dialects
        .iter()
        .map(|d| dialect_name(*d).into())
        .collect();
    let _ = writeln!(out, "native dialects: {}", list_or_none(&dialects));
    let _ = writeln!(
        out,
        "default fixups: {}",
        list_or_none(&info.default_fixups)
    );
    let _ = writeln!(out, "models:");
    for model in &info.models {
        let mut line = format!("  {}", model.id);
        if let Some(name) = &model.display_name {
            let _ = write!(line, " ({name})");
        }
        if let Some(window) = model.context_window {
            let _ = write!(line, ", context {window}");
        }
        if let Some(output) = model.max_output_tokens {
            let _ = write!(line, ", output {output}");
        }
        let _ = writeln!(out, "{line}");
    }
    out
}

/// A provider, as JSON.
pub fn provider_json(provider: &ProviderComponent, summary: Option<&ComponentSummary>) -> Value {
    let info = &provider.info;
    let endpoints: Map<String, Value> = info
        .endpoints
        .iter()
        .map(|e| (e.name.clone(), Value::String(e.url.clone())))
        .collect();
    let descriptions: Map<String, Value> = info
        .endpoints
        .iter()
        .map(|e| (e.name.clone(), Value::String(e.description.clone())))
        .collect();
    json!({
        "kind": "provider",
        "id": info.id,
        "version": info.version,
        "contract-version": info.contract_version,
        "description": info.description,
        "file": summary.map(|s| s.path.display().to_string()),
        "sha256": summary.map(|s| s.hash.clone()),
        "credential-kinds": info.credential_kinds.iter().map(kind_json).collect::<Vec<_>>(),
        "endpoints": endpoints,
        "endpoint-descriptions": descriptions,
        "hosts": info.hosts,
        "native-dialects": info.native_dialects.iter().map(|d| dialect_name(*d)).collect::<Vec<_>>(),
        "default-fixups": info.default_fixups,
        "models": info.models.iter().map(|m| json!({
            "id": m.id,
            "display-name": m.display_name,
            "context-window": m.context_window,
            "max-output-tokens": m.max_output_tokens,
        })).collect::<Vec<_>>(),
    })
}

/// A fixup, as text.
pub fn fixup_text(fixup: &FixupComponent, summary: Option<&ComponentSummary>) -> String {
    let info = &fixup.info;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "fixup {} {} (contract {}): {}",
        info.id, info.version, info.contract_version, info.description
    );
    if let Some(summary) = summary {
        let _ = writeln!(
            out,
            "file: {} (sha256:{})",
            summary.path.display(),
            summary.hash
        );
    }
    let _ = writeln!(out, "hooks: {}", list_or_none(&hooks(fixup)));
    let applies = &info.applies_to;
    let dialects: Vec<String> = applies
        .dialects
        .iter()
        .map(|d| dialect_name(*d).into())
        .collect();
    let _ = writeln!(out, "applies to:");
    let _ = writeln!(out, "  dialects: {}", list_or_any(&dialects));
    let _ = writeln!(out, "  adapters: {}", list_or_any(&applies.adapters));
    let _ = writeln!(out, "  models: {}", list_or_any(&applies.models));
    out
}

/// A fixup, as JSON.
pub fn fixup_json(fixup: &FixupComponent, summary: Option<&ComponentSummary>) -> Value {
    let info = &fixup.info;
    json!({
        "kind": "fixup",
        "id": info.id,
        "version": info.version,
        "contract-version": info.contract_version,
        "description": info.description,
        "file": summary.map(|s| s.path.display().to_string()),
        "sha256": summary.map(|s| s.hash.clone()),
        "hooks": hooks(fixup),
        "applies-to": {
            "dialects": info.applies_to.dialects.iter().map(|d| dialect_name(*d)).collect::<Vec<_>>(),
            "adapters": info.applies_to.adapters,
            "models": info.applies_to.models,
        },
    })
}

fn hooks(fixup: &FixupComponent) -> Vec<String> {
    let hooks = fixup.info.hooks;
    [
        (hooks.request, "request"),
        (hooks.upstream_request, "upstream-request"),
        (hooks.events, "events"),
    ]
    .into_iter()
    .filter(|(on, _)| *on)
    .map(|(_, name)| name.to_owned())
    .collect()
}

fn kind_json(kind: &CredentialKind) -> Value {
    let declared = &kind.declared;
    json!({
        "id": kind.id,
        "description": kind.description,
        "placement": placement_json(&kind.placement),
        "obtain": obtain_json(&declared.obtain),
        "inputs": declared.inputs.iter().map(|i| json!({
            "name": i.name, "description": i.description, "default": i.default,
        })).collect::<Vec<_>>(),
        "refresh": declared.refresh.as_ref().map(|r| json!({
            "call": call_json(&r.call),
            "answer": answer_json(&r.answer),
            "lead-s": r.lead_s,
            "rotates": r.rotates,
        })),
        "exchange": declared.exchange.as_ref().map(|e| json!({
            "call": call_json(&e.call),
            "answer": answer_json(&e.answer),
            "lead-s": e.lead_s,
        })),
        "setup": declared.setup,
    })
}

fn obtain_json(obtain: &Obtain) -> Value {
    match obtain {
        Obtain::Key => json!({"key": {}}),
        Obtain::AuthorizationCode(spec) => json!({"authorization-code": {
            "authorize-endpoint": spec.authorize_endpoint,
            "authorize-params": spec.authorize_params.iter().map(|(name, value)| json!([name, value_json(value)])).collect::<Vec<_>>(),
            "client-id": spec.client_id,
            "client-secret": spec.client_secret.as_ref().map(|_| "(public installed-app secret)"),
            "scopes": spec.scopes,
            "scope-separator": spec.scope_separator,
            "redirect-uri": format!("http://{}:{}{}", spec.redirect_host, spec.redirect_port, spec.redirect_path),
            "pkce": uses_pkce(&spec.authorize_params),
            "registration": spec.registration.as_ref().map(registration_json),
            "exchange": call_json(&spec.exchange),
            "answer": answer_json(&spec.answer),
        }}),
        Obtain::DeviceCode(spec) => json!({"device-code": {
            "client-id": spec.client_id,
            "client-secret": spec.client_secret.as_ref().map(|_| "(public installed-app secret)"),
            "scopes": spec.scopes,
            "scope-separator": spec.scope_separator,
            "registration": spec.registration.as_ref().map(registration_json),
            "start": call_json(&spec.start),
            "user-code": spec.user_code,
            "verification-uri": spec.verification_uri,
            "verification-uri-complete": spec.verification_uri_complete,
            "device-code": spec.device_code,
            "interval": spec.interval,
            "expires-in": spec.expires_in,
            "poll": call_json(&spec.poll),
            "pending": {
                "error-code": spec.pending.error_code,
                "pending": spec.pending.pending,
                "slow-down": spec.pending.slow_down,
                "pending-statuses": spec.pending.pending_statuses,
            },
            "then": spec.then.as_ref().map(call_json),
            "answer": answer_json(&spec.answer),
        }}),
    }
}

fn registration_json(registration: &ClientRegistration) -> Value {
    json!({
        "call": call_json(&registration.call),
        "client-id": registration.client_id,
        "client-secret": registration.client_secret,
        "expires-at": registration.expires_at,
    })
}

fn call_json(call: &TokenCall) -> Value {
    json!({
        "endpoint": call.endpoint,
        "method": call.method,
        "encoding": encoding_text(call.encoding),
        "fields": call.fields.iter().map(|(name, value)| json!([name, value_json(value)])).collect::<Vec<_>>(),
        "headers": call.headers.iter().map(|(name, value)| json!([name, value])).collect::<Vec<_>>(),
        "present": placement_json(&placement_from_spec(&call.present)),
    })
}

fn answer_json(answer: &TokenAnswer) -> Value {
    json!({
        "access-token": answer.access_token,
        "refresh-token": answer.refresh_token,
        "id-token": answer.id_token,
        "expires-in": answer.expires_in,
        "expires-at": answer.expires_at,
        "base-url": answer.base_url,
        "attributes": answer.attributes.iter().map(|(name, pointer)| json!([name, pointer])).collect::<Vec<_>>(),
    })
}

/// A token value by its role; literal text is shown, secret roles only named.
fn value_json(value: &TokenValue) -> Value {
    match value {
        TokenValue::Text(text) => json!({"text": text}),
        TokenValue::Json(text) => json!({"json": text}),
        TokenValue::Input(name) => json!({"input": name}),
        TokenValue::Attribute(name) => json!({"attribute": name}),
        TokenValue::Answer(pointer) => json!({"answer": pointer}),
        role => Value::String(role_name(role).into()),
    }
}

fn role_name(value: &TokenValue) -> &'static str {
    match value {
        TokenValue::ClientId => "client-id",
        TokenValue::ClientSecret => "client-secret",
        TokenValue::Scope => "scope",
        TokenValue::RedirectUri => "redirect-uri",
        TokenValue::State => "state",
        TokenValue::CodeVerifier => "code-verifier",
        TokenValue::CodeChallenge => "code-challenge",
        TokenValue::Code => "code",
        TokenValue::DeviceCode => "device-code",
        TokenValue::RefreshToken => "refresh-token",
        TokenValue::Text(_) => "text",
        TokenValue::Json(_) => "json",
        TokenValue::Input(_) => "input",
        TokenValue::Attribute(_) => "attribute",
        TokenValue::Answer(_) => "answer",
    }
}

fn uses_pkce(params: &[(String, TokenValue)]) -> bool {
    params
        .iter()
        .any(|(_, value)| matches!(value, TokenValue::CodeChallenge))
}

fn obtain_text(obtain: &Obtain) -> String {
    match obtain {
        Obtain::Key => "supplied by the operator (`api-keys`, or an account's `secret`)".into(),
        Obtain::AuthorizationCode(spec) => format!(
            "browser login (authorization code{}) at `{}`, code exchanged at `{}`; redirect http://{}:{}{}",
            if uses_pkce(&spec.authorize_params) {
                " + PKCE S256"
            } else {
                ""
            },
            spec.authorize_endpoint,
            spec.exchange.endpoint,
            spec.redirect_host,
            spec.redirect_port,
            spec.redirect_path,
        ),
        Obtain::DeviceCode(spec) => format!(
            "device-code login: started at `{}`, polled at `{}`{}",
            spec.start.endpoint,
            spec.poll.endpoint,
            if spec.registration.is_some() {
                ", after a client registration"
            } else {
                ""
            },
        ),
    }
}

fn placement_text(placement: &Placement) -> String {
    match placement {
        Placement::None => "no credential".into(),
        Placement::Bearer => "Authorization: Bearer <secret>".into(),
        Placement::Header { name, prefix } => {
            format!("{name}: {}<secret>", prefix.as_deref().unwrap_or(""))
        }
        Placement::Query(param) => format!("?{param}=<secret>"),
    }
}

fn placement_json(placement: &Placement) -> Value {
    match placement {
        Placement::None => json!("none"),
        Placement::Bearer => json!("bearer"),
        Placement::Header { name, prefix } => json!({"header": {"name": name, "prefix": prefix}}),
        Placement::Query(param) => json!({"query": param}),
    }
}

fn encoding_text(encoding: BodyEncoding) -> &'static str {
    match encoding {
        BodyEncoding::Form => "form",
        BodyEncoding::Json => "json",
        BodyEncoding::None => "none",
    }
}

fn dialect_name(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::OpenaiChat => "openai-chat",
        Dialect::OpenaiResponses => "openai-responses",
        Dialect::AnthropicMessages => "anthropic-messages",
        Dialect::Gemini => "gemini",
    }
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".into()
    } else {
        items.join(", ")
    }
}

fn list_or_any(items: &[String]) -> String {
    if items.is_empty() {
        "any".into()
    } else {
        items.join(", ")
    }
}
