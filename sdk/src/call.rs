//! The call most adapters make, written once: encode the request your way, read the
//! answer (SSE or one JSON document) with your [`ResponseState`], and let
//! [`StandardCall`] do the rest (the decoder, passthrough, error classification).
//!
//! ```ignore
//! struct MyUpstream;
//! impl Provider for MyUpstream {
//!     type Call = StandardCall<MyEncode>;
//!     fn info() -> AdapterInfo { /* ... */ }
//!     fn call(ctx: CallContext) -> Self::Call { StandardCall::new(ctx, MyEncode) }
//! }
//! impl Encode for MyEncode {
//!     type State = MyState;
//!     fn encode(&mut self, ctx: &CallContext, request: ChatRequest) -> Result<HttpRequest, AdapterError> {
//!         Ok(ctx.post_json("/generate", to_json_bytes(&body(&request, &ctx.model)), request.stream))
//!     }
//! }
//! ```

use crate::provider::{Call, Decoder, classify_by_status};
use crate::response_decoder::{DecodeMode, ResponseDecoder, ResponseState};
use crate::types::*;

/// An adapter's side of a [`StandardCall`]: the encoding, and how its answers are read.
pub trait Encode: 'static {
    /// Reads the upstream's answers.
    type State: ResponseState;

    /// Encode an IR request into the upstream's HTTP request (without credential);
    /// build it with [`CallContext::post_json`].
    fn encode(
        &mut self,
        ctx: &CallContext,
        request: ChatRequest,
    ) -> Result<HttpRequest, AdapterError>;

    /// Native passthrough of a client body (`ctx.client_dialect`, one the adapter
    /// declared native). The default refuses.
    fn encode_native(
        &mut self,
        ctx: &CallContext,
        body: Vec<u8>,
    ) -> Result<HttpRequest, AdapterError> {
        let _ = body;
        Err(AdapterError::unsupported(format!(
            "native passthrough of {} is not supported by this adapter",
            ctx.client_dialect.name()
        )))
    }

    /// The state that reads this answer; the default is a fresh one. Override it to
    /// hand the decoder something the encoding learned (a tool name it shortened).
    fn response_state(&mut self, ctx: &CallContext, head: &ResponseHead) -> Self::State {
        let _ = (ctx, head);
        Self::State::default()
    }

    /// Classify a non-2xx answer; the default reads the status (see
    /// [`classify_by_status`]).
    fn classify_error(
        &mut self,
        ctx: &CallContext,
        head: &ResponseHead,
        body: &[u8],
    ) -> UpstreamError {
        let _ = ctx;
        classify_by_status(head, body)
    }
}

/// A [`Call`] made of an [`Encode`] and a [`ResponseDecoder`] over its state. It
/// remembers whether the request went out through `encode_native`, so the decoder
/// forwards the answer as `raw` bytes without the adapter saying so.
pub struct StandardCall<E: Encode> {
    /// What this attempt is.
    pub ctx: CallContext,
    /// The adapter's encoding.
    pub encoder: E,
    passthrough: bool,
    decoder: Option<ResponseDecoder<E::State>>,
}

impl<E: Encode> StandardCall<E> {
    /// A call for `ctx`, encoding with `encoder`.
    pub fn new(ctx: CallContext, encoder: E) -> Self {
        StandardCall {
            ctx,
            encoder,
            passthrough: false,
            decoder: None,
        }
    }

    /// The decoder, started as a 200 one-document answer if `respond` was not called
    /// (the host always calls it; this keeps a misordered call from panicking).
    fn decoder(&mut self) -> &mut ResponseDecoder<E::State> {
        if self.decoder.is_none() {
            self.respond(ResponseHead::new(200, &[]), false);
        }
        self.decoder.as_mut().expect("started above")
    }
}

impl<E: Encode> Call for StandardCall<E> {
    fn encode(&mut self, request: ChatRequest) -> Result<HttpRequest, AdapterError> {
        self.passthrough = false;
        self.encoder.encode(&self.ctx, request)
    }

    fn encode_native(&mut self, body: Vec<u8>) -> Result<HttpRequest, AdapterError> {
        self.passthrough = true;
        self.encoder.encode_native(&self.ctx, body)
    }

    fn respond(&mut self, head: ResponseHead, streaming: bool) {
        let mode = DecodeMode {
            streaming,
            passthrough: self.passthrough,
        };
        let state = self.encoder.response_state(&self.ctx, &head);
        self.decoder = Some(ResponseDecoder::with_state(mode, state));
    }

    fn decode(&mut self, chunk: &[u8]) -> Result<Vec<StreamEvent>, AdapterError> {
        self.decoder().push(chunk)
    }

    fn decode_end(&mut self) -> Result<Vec<StreamEvent>, AdapterError> {
        self.decoder().finish()
    }

    fn classify_error(&mut self, head: ResponseHead, body: Vec<u8>) -> UpstreamError {
        self.encoder.classify_error(&self.ctx, &head, &body)
    }
}

/// A started [`StandardCall`] reads like any decoder (for the `testing` helpers).
impl<E: Encode> Decoder for StandardCall<E> {
    fn push(&mut self, chunk: &[u8]) -> Result<Vec<StreamEvent>, AdapterError> {
        self.decode(chunk)
    }
    fn finish(&mut self) -> Result<Vec<StreamEvent>, AdapterError> {
        self.decode_end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EventWriter;
    use crate::sse::SseEvent;
    use serde_json::Value;

    /// Says `{"say": "..."}` as text; finishes with `stop`.
    #[derive(Default)]
    struct Say;
    impl ResponseState for Say {
        const STREAM_EVENT: &'static str = "a say event";
        fn matters_for_accounting(_: &SseEvent) -> bool {
            false
        }
        fn take_stream_event(
            &mut self,
            data: &Value,
            out: &mut EventWriter,
        ) -> Result<(), AdapterError> {
            out.text(data["say"].as_str().unwrap_or(""));
            Ok(())
        }
        fn end(&mut self, out: &mut EventWriter) {
            out.finish(Finish::new(FinishReason::Stop, None, Usage::default()));
        }
    }
    struct SayEncode;
    impl Encode for SayEncode {
        type State = Say;
        fn encode(
            &mut self,
            ctx: &CallContext,
            request: ChatRequest,
        ) -> Result<HttpRequest, AdapterError> {
            Ok(ctx.post_json("/say", b"{}".to_vec(), request.stream))
        }
        fn encode_native(
            &mut self,
            ctx: &CallContext,
            body: Vec<u8>,
        ) -> Result<HttpRequest, AdapterError> {
            Ok(ctx.post_json("/say", body, true))
        }
    }

    #[test]
    fn the_ir_path_decodes_and_the_native_path_forwards_without_the_adapter_saying() {
        let ctx = CallContext::for_tests("http://u/", "m");
        let mut call = StandardCall::new(ctx.clone(), SayEncode);
        let http = call.encode(ChatRequest::new().streaming(true)).unwrap();
        assert_eq!(http.url, "http://u/say");
        call.respond(ResponseHead::new(200, &[]), true);
        let mut events = call.decode(b"data: {\"say\":\"hi\"}\n\n").unwrap();
        events.extend(call.decode_end().unwrap());
        assert_eq!(events[1], StreamEvent::text_delta("text-0", "hi"));

        let mut native = StandardCall::new(ctx, SayEncode);
        native.encode_native(b"{}".to_vec()).unwrap();
        native.respond(ResponseHead::new(200, &[]), true);
        let body = b"data: {\"say\":\"hi\"}\n\n";
        let mut events = native.decode(body).unwrap();
        events.extend(native.decode_end().unwrap());
        assert_eq!(
            events,
            vec![
                StreamEvent::Raw(body.to_vec()),
                StreamEvent::finish(FinishReason::Stop, None, Usage::default()),
            ]
        );
    }

    #[test]
    fn the_defaults_refuse_passthrough_and_classify_by_status() {
        struct Plain;
        impl Encode for Plain {
            type State = Say;
            fn encode(
                &mut self,
                _: &CallContext,
                _: ChatRequest,
            ) -> Result<HttpRequest, AdapterError> {
                Err(AdapterError::internal("unused"))
            }
        }
        let mut call = StandardCall::new(CallContext::for_tests("http://u", "m"), Plain);
        assert_eq!(
            call.encode_native(Vec::new()).unwrap_err().kind,
            ErrorKind::Unsupported
        );
        let classified =
            call.classify_error(ResponseHead::new(429, &[("retry-after", "2")]), Vec::new());
        assert_eq!(classified.class, ErrorClass::RateLimited(Some(2000)));
    }
}
