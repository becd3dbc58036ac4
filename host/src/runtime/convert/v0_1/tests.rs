//! Round trips through the 0.1 types, and what 0.1 lacks filled in going up. The
//! round trips every version shares are written once, in `convert::shared_ir::tests`.

use super::*;
use crate::ir;
use crate::runtime::Placement;
use crate::runtime::bindings::v0_1::provider::exports::plugboard::adapter::translator as wit_translator;
use crate::runtime::bindings::v0_1::types as wit;
use crate::runtime::convert::shared_ir::tests::rich_request;

crate::runtime::convert::shared_ir::tests::shared_ir_conversion_tests! {
    types: crate::runtime::bindings::v0_1::types,
    filter: crate::runtime::bindings::v0_1::fixup::exports::plugboard::adapter::filter,
    request_to_wit: |request| super::chat_request_to_wit(request, "gpt-4o".into()),
    // 0.1 does not classify stream errors: only class `other` comes back unchanged.
    surviving_errors: [ir::StreamEvent::Error(ir::UpstreamError {
        class: ir::ErrorClass::Other,
        message: "x".into(),
    })],
}

#[test]
fn a_request_goes_down_with_the_calls_model() {
    let there = chat_request_to_wit(rich_request(), "gpt-4o".into());
    assert_eq!(there.model, "gpt-4o");
}

#[test]
fn a_stream_error_goes_up_as_class_other() {
    let events = events_from_wit(vec![wit::StreamEvent::Error(wit::AdapterError {
        kind: wit::ErrorKind::InvalidRequest,
        message: "bad".into(),
    })]);
    assert_eq!(
        events,
        [ir::StreamEvent::Error(ir::UpstreamError {
            class: ir::ErrorClass::Other,
            message: "bad".into(),
        })]
    );
}

#[test]
fn error_classes_keep_their_retry_hints() {
    let there = wit_translator::ErrorClass::RateLimited(wit_translator::RetryAfter {
        after_ms: Some(1500),
    });
    assert_eq!(
        ir::ErrorClass::from(there),
        ir::ErrorClass::RateLimited {
            retry_after_ms: Some(1500)
        }
    );
}

#[test]
fn an_auth_scheme_becomes_one_api_key_kind_and_the_base_url_an_endpoint() {
    let info = provider_info(
        wit_translator::AdapterInfo {
            id: "openai".into(),
            version: "0.1.0".into(),
            contract_version: "0.1.0".into(),
            description: "d".into(),
            models: vec![],
            native_dialects: vec![wit::Dialect::OpenaiChat],
            auth: wit_translator::AuthScheme::Header(wit_translator::HeaderAuth {
                name: "x-api-key".into(),
                prefix: None,
            }),
            hosts: vec!["api.openai.com".into()],
            default_base_url: Some("https://api.openai.com/v1".into()),
            default_fixups: vec![],
        },
        "0.1.0",
    );
    assert_eq!(info.contract_version, "0.1.0");
    assert_eq!(info.endpoint("base"), Some("https://api.openai.com/v1"));
    let kind = info.default_key_kind().expect("an api-key kind");
    assert_eq!(kind.id, API_KEY_KIND);
    assert_eq!(
        kind.placement,
        Placement::Header {
            name: "x-api-key".into(),
            prefix: None
        }
    );
    assert!(info.credential_kind("api-key").is_some());
}
