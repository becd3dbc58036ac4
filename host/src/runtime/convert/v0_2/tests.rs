//! Round trips through the 0.2 types. The round trips every version shares are
//! written once, in `convert::shared_ir::tests`.

use super::*;
use crate::ir;
use crate::runtime::bindings::v0_2::fixup::exports::plugboard::adapter::filter as wit_filter;
use crate::runtime::bindings::v0_2::types as wit;
use crate::runtime::{AppliesTo, Placement};

crate::runtime::convert::shared_ir::tests::shared_ir_conversion_tests! {
    types: crate::runtime::bindings::v0_2::types,
    filter: crate::runtime::bindings::v0_2::fixup::exports::plugboard::adapter::filter,
    request_to_wit: wit::ChatRequest::from,
    surviving_errors: [
        ir::StreamEvent::Error(ir::UpstreamError {
            class: ir::ErrorClass::RateLimited {
                retry_after_ms: Some(2_000),
            },
            message: "slow down".into(),
        }),
        ir::StreamEvent::Error(ir::UpstreamError {
            class: ir::ErrorClass::AccountDisabled,
            message: "suspended".into(),
        }),
    ],
}

#[test]
fn every_error_class_survives_the_round_trip() {
    for class in [
        ir::ErrorClass::RateLimited {
            retry_after_ms: None,
        },
        ir::ErrorClass::QuotaExhausted {
            retry_after_ms: Some(1),
        },
        ir::ErrorClass::Overloaded {
            retry_after_ms: Some(2),
        },
        ir::ErrorClass::AuthExpired,
        ir::ErrorClass::AccountDisabled,
        ir::ErrorClass::ModelUnavailable,
        ir::ErrorClass::ContextTooLong,
        ir::ErrorClass::BadRequest,
        ir::ErrorClass::Other,
    ] {
        let there: wit::ErrorClass = class.into();
        assert_eq!(ir::ErrorClass::from(there), class);
    }
}

#[test]
fn a_declared_kind_keeps_its_whole_spec_and_its_placement_in_host_form() {
    let declared = crate::runtime::spec::CredentialKind {
        id: "claude-oauth".into(),
        description: "d".into(),
        placement: crate::runtime::spec::Placement::Bearer,
        obtain: crate::runtime::spec::Obtain::Key,
        inputs: vec![],
        refresh: None,
        exchange: None,
        setup: true,
        reads: Vec::new(),
    };
    let kind = crate::runtime::CredentialKind::from(declared.clone());
    assert_eq!(kind.id, "claude-oauth");
    assert_eq!(kind.placement, Placement::Bearer);
    assert_eq!(kind.declared, declared);
}

#[test]
fn applies_to_arrives_whole() {
    let guard: AppliesTo = wit_filter::AppliesTo {
        dialects: vec![wit::Dialect::Gemini],
        adapters: vec!["gemini".into()],
        models: vec!["gemini-*".into()],
    }
    .into();
    assert_eq!(guard.dialects, [ir::Dialect::Gemini]);
    assert_eq!(guard.models, ["gemini-*"]);
}
