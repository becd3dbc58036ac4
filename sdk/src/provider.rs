//! The `provider` world as one trait with defaults: implement [`Provider`] and call
//! [`export_provider!`](crate::export_provider).

use std::cell::RefCell;
use std::marker::PhantomData;

use crate::__bindings::provider::exports::plugboard::adapter::translator;
use crate::classify::class_for_status;
use crate::json::error_message;
use crate::retry::retry_after_ms;
use crate::types::*;

/// A provider translator: IR to an upstream HTTP request, upstream bytes back to IR events.
///
/// Only `info`, `encode_request` and `decoder` are required. Keep the translation in
/// plain functions of your crate so it unit-tests on the native target.
pub trait Provider: 'static {
    /// Per-response decoder state.
    type Decoder: Decoder;

    /// Describe this component. Called once at load; must be cheap and pure.
    fn info() -> AdapterInfo;

    /// Encode an IR request into the upstream's HTTP request (without credential).
    fn encode_request(
        request: ChatRequest,
        ctx: EncodeContext,
    ) -> Result<HttpRequest, AdapterError>;

    /// Native passthrough for a dialect the adapter declared native. The default refuses:
    /// an adapter that declares native dialects must override it.
    fn encode_native(
        dialect: Dialect,
        body: Vec<u8>,
        ctx: EncodeContext,
    ) -> Result<HttpRequest, AdapterError> {
        let _ = (body, ctx);
        Err(AdapterError::unsupported(format!(
            "native passthrough of {dialect:?} is not supported by this adapter"
        )))
    }

    /// Start decoding one response.
    fn decoder(ctx: DecodeContext) -> Self::Decoder;

    /// Classify a non-2xx upstream response. The default reads the HTTP status and
    /// `Retry-After` (see [`classify_by_status`]).
    fn classify_error(head: ResponseHead, body: Vec<u8>) -> ClassifiedError {
        classify_by_status(&head, &body)
    }
}

/// Turns one upstream response body into IR events; fed arbitrary byte chunks.
pub trait Decoder: 'static {
    /// Feed the next chunk; return the events it completes.
    fn push(&mut self, chunk: &[u8]) -> Result<Vec<StreamEvent>, AdapterError>;
    /// The body ended; flush what remains. Must end with `finish` unless it errs.
    fn finish(&mut self) -> Result<Vec<StreamEvent>, AdapterError>;
}

/// The usual reading of an HTTP failure: 429 rate-limited, 401/403 auth-expired,
/// 402 quota-exhausted, 413 context-too-long, 400/404/422 bad-request,
/// 500/502/503/504/529 overloaded, anything else other. The retry hint comes from
/// `retry-after-ms` or `Retry-After`; the message from the body's `error.message`.
pub fn classify_by_status(head: &ResponseHead, body: &[u8]) -> ClassifiedError {
    let retry = RetryAfter::ms(retry_after_ms(&head.headers));
    let class = class_for_status(head.status, retry);
    ClassifiedError::new(class, error_message(head.status, body))
}

#[doc(hidden)]
/// Export glue: implements the generated `translator` traits for any [`Provider`].
pub struct ProviderExport<P>(PhantomData<P>);

#[doc(hidden)]
/// Export glue: the `stream-decoder` resource around a provider's [`Decoder`].
pub struct DecoderExport<P: Provider>(RefCell<P::Decoder>);

impl<P: Provider> translator::Guest for ProviderExport<P> {
    type StreamDecoder = DecoderExport<P>;

    fn info() -> AdapterInfo {
        P::info()
    }
    fn encode_request(
        request: ChatRequest,
        ctx: EncodeContext,
    ) -> Result<HttpRequest, AdapterError> {
        P::encode_request(request, ctx)
    }
    fn encode_native(
        dialect: Dialect,
        body: Vec<u8>,
        ctx: EncodeContext,
    ) -> Result<HttpRequest, AdapterError> {
        P::encode_native(dialect, body, ctx)
    }
    fn classify_error(head: ResponseHead, body: Vec<u8>) -> ClassifiedError {
        P::classify_error(head, body)
    }
}

impl<P: Provider> translator::GuestStreamDecoder for DecoderExport<P> {
    fn new(ctx: DecodeContext) -> Self {
        DecoderExport(RefCell::new(P::decoder(ctx)))
    }
    fn push(&self, chunk: Vec<u8>) -> Result<Vec<StreamEvent>, AdapterError> {
        self.0.borrow_mut().push(&chunk)
    }
    fn finish(&self) -> Result<Vec<StreamEvent>, AdapterError> {
        self.0.borrow_mut().finish()
    }
}

/// Export a [`Provider`] implementation as this component's `translator`.
///
/// The glue exists only on `wasm32`, so the crate still builds and unit-tests natively.
#[macro_export]
macro_rules! export_provider {
    ($ty:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type PlugboardProviderExport = $crate::provider::ProviderExport<$ty>;
            $crate::__export_provider_impl!(PlugboardProviderExport with_types_in $crate::__bindings::provider);
        };
        #[cfg(not(target_arch = "wasm32"))]
        const _: () = {
            fn assert_provider<P: $crate::Provider>() {}
            let _ = assert_provider::<$ty>;
        };
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_429_with_retry_after_seconds_is_rate_limited_with_the_hint_in_ms() {
        let classified = classify_by_status(
            &ResponseHead::new(429, &[("retry-after", "7")]),
            br#"{"error":{"message":"slow down"}}"#,
        );
        assert_eq!(
            classified.class,
            ErrorClass::RateLimited(RetryAfter::ms(Some(7000)))
        );
        assert_eq!(classified.message, "slow down");
    }

    #[test]
    fn statuses_map_to_routing_classes() {
        assert_eq!(
            classify_by_status(&ResponseHead::new(401, &[]), b"").class,
            ErrorClass::AuthExpired
        );
        assert_eq!(
            classify_by_status(&ResponseHead::new(422, &[]), b"").class,
            ErrorClass::BadRequest
        );
        assert_eq!(
            classify_by_status(&ResponseHead::new(529, &[]), b"").class,
            ErrorClass::Overloaded(RetryAfter::ms(None))
        );
        assert_eq!(
            classify_by_status(&ResponseHead::new(418, &[]), b"teapot").class,
            ErrorClass::Other
        );
        assert_eq!(
            classify_by_status(&ResponseHead::new(418, &[]), b"teapot").message,
            "teapot"
        );
    }
}
