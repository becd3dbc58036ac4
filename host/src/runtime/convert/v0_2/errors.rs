//! 0.2's error classes and the classified `upstream-error` a stream's error carries.

use crate::ir;
use crate::runtime::bindings::v0_2::types as wit;
use crate::runtime::convert::shared_ir::both_ways;

impl From<ir::ErrorClass> for wit::ErrorClass {
    fn from(class: ir::ErrorClass) -> Self {
        use ir::ErrorClass as C;
        match class {
            C::RateLimited { retry_after_ms } => wit::ErrorClass::RateLimited(retry_after_ms),
            C::QuotaExhausted { retry_after_ms } => wit::ErrorClass::QuotaExhausted(retry_after_ms),
            C::Overloaded { retry_after_ms } => wit::ErrorClass::Overloaded(retry_after_ms),
            C::AuthExpired => wit::ErrorClass::AuthExpired,
            C::AccountDisabled => wit::ErrorClass::AccountDisabled,
            C::ModelUnavailable => wit::ErrorClass::ModelUnavailable,
            C::ContextTooLong => wit::ErrorClass::ContextTooLong,
            C::BadRequest => wit::ErrorClass::BadRequest,
            C::Other => wit::ErrorClass::Other,
        }
    }
}

impl From<wit::ErrorClass> for ir::ErrorClass {
    fn from(class: wit::ErrorClass) -> Self {
        use ir::ErrorClass as C;
        match class {
            wit::ErrorClass::RateLimited(retry_after_ms) => C::RateLimited { retry_after_ms },
            wit::ErrorClass::QuotaExhausted(retry_after_ms) => C::QuotaExhausted { retry_after_ms },
            wit::ErrorClass::Overloaded(retry_after_ms) => C::Overloaded { retry_after_ms },
            wit::ErrorClass::AuthExpired => C::AuthExpired,
            wit::ErrorClass::AccountDisabled => C::AccountDisabled,
            wit::ErrorClass::ModelUnavailable => C::ModelUnavailable,
            wit::ErrorClass::ContextTooLong => C::ContextTooLong,
            wit::ErrorClass::BadRequest => C::BadRequest,
            wit::ErrorClass::Other => C::Other,
        }
    }
}

both_ways!(record UpstreamError { class: into, message });
