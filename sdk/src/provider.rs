//! The `provider` world as two small traits: [`Provider`] describes the adapter and
//! starts a [`Call`] per attempt; [`export_provider!`](crate::export_provider) exports
//! them. Most adapters implement [`Encode`](crate::call::Encode) and use
//! [`StandardCall`](crate::call::StandardCall) as their `Call`, writing only the
//! encoding and a [`ResponseState`](crate::response_decoder::ResponseState).

use std::cell::RefCell;
use std::marker::PhantomData;

use crate::__bindings::provider::exports::plugboard::adapter::translator;
use crate::classify::class_for_status;
use crate::json::error_message;
use crate::retry::retry_after_ms;
use crate::types::*;

/// A provider adapter: what it is, and a [`Call`] for each attempt of each request.
pub trait Provider: 'static {
    /// One attempt of one request.
    type Call: Call;

    /// Describe this component. Called once at load; must be cheap and pure.
    fn info() -> AdapterInfo;

    /// Start one attempt.
    fn call(ctx: CallContext) -> Self::Call;

    /// Find an account's attributes after a login or refresh, for credential kinds that
    /// ask for it (`setup`), one sans-IO step per call. The default is done at once with
    /// the attributes unchanged.
    fn account_setup(ctx: SetupContext) -> Result<SetupStep, AdapterError> {
        Ok(SetupStep::done_unchanged(ctx))
    }

    /// Read the answer of one of an account's `reads` (its quota, its models): sans-IO,
    /// never given a secret. The default finds nothing.
    fn read_account(ctx: ReadContext) -> Result<AccountFacts, AdapterError> {
        let _ = ctx;
        Ok(AccountFacts::default())
    }
}

/// One attempt, in the order the host drives it: `encode` (or `encode_native`), then on
/// a 2xx answer `respond`, `decode` per chunk and `decode_end`; on a non-2xx answer
/// `classify_error`. What the call keeps on the way out is there on the way back.
pub trait Call: 'static {
    /// Encode an IR request into the upstream's HTTP request (without credential).
    fn encode(&mut self, request: ChatRequest) -> Result<HttpRequest, AdapterError>;

    /// Native passthrough of a client body in a dialect the adapter declared native.
    /// The default refuses: an adapter that declares native dialects overrides it.
    fn encode_native(&mut self, body: Vec<u8>) -> Result<HttpRequest, AdapterError> {
        let _ = body;
        Err(AdapterError::unsupported(
            "native passthrough is not supported by this adapter",
        ))
    }

    /// A 2xx answer arrived; `streaming` says whether its body is an event stream.
    fn respond(&mut self, head: ResponseHead, streaming: bool);

    /// The next chunk of the body (split anywhere); the events it completes.
    fn decode(&mut self, chunk: &[u8]) -> Result<Vec<StreamEvent>, AdapterError>;

    /// The body ended: the remaining events, ending with `finish` unless it errs.
    fn decode_end(&mut self) -> Result<Vec<StreamEvent>, AdapterError>;

    /// Classify a non-2xx answer. The default reads the status and `Retry-After`
    /// (see [`classify_by_status`]).
    fn classify_error(&mut self, head: ResponseHead, body: Vec<u8>) -> UpstreamError {
        classify_by_status(&head, &body)
    }
}

/// A reader of one response body, fed arbitrary chunks: what a [`Call`]'s `decode`
/// and `decode_end` delegate to, and what the `testing` helpers drive.
pub trait Decoder {
    /// Feed the next chunk; the events it completes.
    fn push(&mut self, chunk: &[u8]) -> Result<Vec<StreamEvent>, AdapterError>;
    /// The body ended; the remaining events, ending with `finish` unless it errs.
    fn finish(&mut self) -> Result<Vec<StreamEvent>, AdapterError>;
}

impl<S: crate::response_decoder::ResponseState> Decoder
    for crate::response_decoder::ResponseDecoder<S>
{
    fn push(&mut self, chunk: &[u8]) -> Result<Vec<StreamEvent>, AdapterError> {
        crate::response_decoder::ResponseDecoder::push(self, chunk)
    }
    fn finish(&mut self) -> Result<Vec<StreamEvent>, AdapterError> {
        crate::response_decoder::ResponseDecoder::finish(self)
    }
}

/// The usual reading of an HTTP failure: 429 rate-limited, 401/403 auth-expired,
/// 402 quota-exhausted, 413 context-too-long, 400/404/422 bad-request,
/// 500/502/503/504/529 overloaded, anything else other. The retry hint comes from
/// `retry-after-ms` or `Retry-After`; the message from the body's `error.message`.
pub fn classify_by_status(head: &ResponseHead, body: &[u8]) -> UpstreamError {
    let class = class_for_status(head.status, retry_after_ms(&head.headers));
    UpstreamError::new(class, error_message(head.status, body))
}

#[doc(hidden)]
/// Export glue: implements the generated `translator` traits for any [`Provider`].
pub struct ProviderExport<P>(PhantomData<P>);

#[doc(hidden)]
/// Export glue: the `call` resource around a provider's [`Call`].
pub struct CallExport<P: Provider>(RefCell<P::Call>);

impl<P: Provider> translator::Guest for ProviderExport<P> {
    type Call = CallExport<P>;

    fn info() -> AdapterInfo {
        P::info()
    }
    fn account_setup(ctx: SetupContext) -> Result<SetupStep, AdapterError> {
        P::account_setup(ctx)
    }
    fn read_account(ctx: ReadContext) -> Result<AccountFacts, AdapterError> {
        P::read_account(ctx)
    }
}

impl<P: Provider> translator::GuestCall for CallExport<P> {
    fn new(ctx: CallContext) -> Self {
        CallExport(RefCell::new(P::call(ctx)))
    }
    fn encode(&self, request: ChatRequest) -> Result<HttpRequest, AdapterError> {
        self.0.borrow_mut().encode(request)
    }
    fn encode_native(&self, body: Vec<u8>) -> Result<HttpRequest, AdapterError> {
        self.0.borrow_mut().encode_native(body)
    }
    fn respond(&self, head: ResponseHead, streaming: bool) {
        self.0.borrow_mut().respond(head, streaming)
    }
    fn decode(&self, chunk: Vec<u8>) -> Result<Vec<StreamEvent>, AdapterError> {
        self.0.borrow_mut().decode(&chunk)
    }
    fn decode_end(&self) -> Result<Vec<StreamEvent>, AdapterError> {
        self.0.borrow_mut().decode_end()
    }
    fn classify_error(&self, head: ResponseHead, body: Vec<u8>) -> UpstreamError {
        self.0.borrow_mut().classify_error(head, body)
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
        assert_eq!(classified.class, ErrorClass::RateLimited(Some(7000)));
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
            ErrorClass::Overloaded(None)
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

    struct Refuses;
    impl Call for Refuses {
        fn encode(&mut self, _: ChatRequest) -> Result<HttpRequest, AdapterError> {
            Err(AdapterError::internal("unused"))
        }
        fn respond(&mut self, _: ResponseHead, _: bool) {}
        fn decode(&mut self, _: &[u8]) -> Result<Vec<StreamEvent>, AdapterError> {
            Ok(Vec::new())
        }
        fn decode_end(&mut self) -> Result<Vec<StreamEvent>, AdapterError> {
            Ok(Vec::new())
        }
    }
    struct Minimal;
    impl Provider for Minimal {
        type Call = Refuses;
        fn info() -> AdapterInfo {
            AdapterInfo::new("minimal", "1.0.0", "test")
        }
        fn call(_: CallContext) -> Refuses {
            Refuses
        }
    }

    #[test]
    fn the_defaults_refuse_passthrough_and_keep_setup_attributes() {
        let refused = Refuses.encode_native(b"{}".to_vec()).unwrap_err();
        assert_eq!(refused.kind, ErrorKind::Unsupported);
        let attributes = vec![("region".to_string(), "eu".to_string())];
        let ctx = SetupContext {
            credential_kind: "api-key".into(),
            attributes: attributes.clone(),
            id_token_claims: None,
            endpoints: Vec::new(),
            answers: Vec::new(),
        };
        assert_eq!(
            Minimal::account_setup(ctx).unwrap(),
            SetupStep::Done(attributes)
        );
        let mut call = Minimal::call(CallContext::for_tests("http://u", "m"));
        assert_eq!(
            call.classify_error(ResponseHead::new(503, &[]), Vec::new())
                .class,
            ErrorClass::Overloaded(None)
        );
    }
}
