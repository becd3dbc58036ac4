//! Provider adapter `kiro`: a Kiro account (AWS CodeWhisperer / Amazon Q Developer).
//!
//! Kiro speaks none of the client dialects: every request is translated into its
//! `conversationState` ([`request`]), sent as REST JSON to `POST {base}/generateAssistantResponse`,
//! and its answer, always an AWS event stream (`application/vnd.amazon.eventstream`),
//! is read through the SDK's event-stream framing (both CRCs checked) into IR events
//! ([`decode`]). A client that did not ask for a stream is served from that stream (the
//! host collects the IR events). [`errors`] reads Kiro's failures, in an HTTP answer or
//! in an exception frame inside the 200 stream, [`model`] maps client model names to
//! Kiro's ids.
//!
//! Module owners while it is being built: `auth` (credential kinds, login and refresh
//! specs, endpoints, account setup, usage limits) and the translation modules.

pub mod auth;
pub mod decode;
pub mod errors;
pub mod model;
pub mod request;

use plugboard_sdk::framing::EventStreamReader;
use plugboard_sdk::prelude::*;

use crate::decode::KiroDecoder;
use crate::request::Encoded;

/// The adapter id config refers to.
pub const ID: &str = "kiro";
/// The `base` endpoint used when `auth::endpoints()` names none: the REST host of the
/// account's API region (attribute `api-region`, filled by the host).
pub const DEFAULT_BASE_URL: &str = "https://q.{api-region}.amazonaws.com";
/// The generation route under `base`.
pub const GENERATE_PATH: &str = "/generateAssistantResponse";
/// The account attribute holding the profile ARN sent with each request.
pub const PROFILE_ARN: &str = "profile-arn";
/// The fixups the host applies before configured ones: the structural rules Kiro
/// enforces that are generic (see `docs/adapters/kiro.md`).
pub const DEFAULT_FIXUPS: [&str; 3] = ["first-user-turn", "merge-turns", "tool-pairs"];

/// The component.
pub struct Kiro;

impl Provider for Kiro {
    type Call = KiroCall;

    fn info() -> AdapterInfo {
        let mut info = AdapterInfo::new(
            ID,
            env!("CARGO_PKG_VERSION"),
            "Kiro accounts (AWS CodeWhisperer / Amazon Q Developer), AWS event-stream answers",
        );
        for kind in auth::credential_kinds() {
            info = info.credential_kind(kind);
        }
        let endpoints = auth::endpoints();
        if !endpoints.iter().any(|e| e.name == Endpoint::BASE) {
            info = info.base(DEFAULT_BASE_URL);
        }
        for endpoint in endpoints {
            info = info.endpoint(endpoint);
        }
        for host in auth::hosts() {
            info = info.host(host);
        }
        for fixup in DEFAULT_FIXUPS {
            info = info.default_fixup(fixup);
        }
        model::MODELS.iter().fold(info, |info, (id, window)| {
            info.model(ModelInfo::new(*id).limits(*window, model::MAX_OUTPUT_TOKENS))
        })
    }

    fn account_setup(ctx: SetupContext) -> Result<SetupStep, AdapterError> {
        auth::account_setup(ctx)
    }

    fn read_account(ctx: ReadContext) -> Result<AccountFacts, AdapterError> {
        auth::read_account(ctx)
    }

    fn call(ctx: CallContext) -> KiroCall {
        KiroCall {
            ctx,
            encoded: None,
            decoder: None,
        }
    }
}

/// One attempt: the request encoded once, the answer read with what the encoding
/// learned (shortened tool names, whether thinking was asked for).
pub struct KiroCall {
    ctx: CallContext,
    /// What `encode` learned, for the decoder.
    encoded: Option<Encoded>,
    decoder: Option<KiroDecoder>,
}

impl KiroCall {
    /// The decoder, started if `respond` was not called.
    fn decoder(&mut self) -> &mut KiroDecoder {
        if self.decoder.is_none() {
            self.respond(ResponseHead::new(200, &[]), true);
        }
        self.decoder.as_mut().expect("started above")
    }
}

impl Call for KiroCall {
    fn encode(&mut self, request: ChatRequest) -> Result<HttpRequest, AdapterError> {
        let encoded = request::encode(&self.ctx, &request)?;
        let http = request::http_request(&self.ctx, &encoded);
        self.encoded = Some(encoded);
        Ok(http)
    }

    /// The answer is an event stream whatever the client asked for.
    fn respond(&mut self, _head: ResponseHead, _streaming: bool) {
        let encoded = self.encoded.take().unwrap_or_default();
        // The account's model list (or the adapter's) when it names the model, else the
        // table of Kiro ids.
        let window = self
            .ctx
            .model_info
            .as_ref()
            .and_then(|info| info.context_window)
            .unwrap_or_else(|| model::context_window(&model::kiro_model_id(&self.ctx.model).id));
        self.decoder = Some(KiroDecoder::new(
            EventStreamReader::new(),
            encoded.tool_names,
            encoded.thinking,
            window,
        ));
    }

    fn decode(&mut self, chunk: &[u8]) -> Result<Vec<StreamEvent>, AdapterError> {
        self.decoder().push(chunk)
    }

    fn decode_end(&mut self) -> Result<Vec<StreamEvent>, AdapterError> {
        self.decoder().finish()
    }

    fn classify_error(&mut self, head: ResponseHead, body: Vec<u8>) -> UpstreamError {
        errors::classify(&head, &body)
    }
}

/// A started call reads like any decoder (for the SDK's `testing` helpers).
impl Decoder for KiroCall {
    fn push(&mut self, chunk: &[u8]) -> Result<Vec<StreamEvent>, AdapterError> {
        self.decode(chunk)
    }
    fn finish(&mut self) -> Result<Vec<StreamEvent>, AdapterError> {
        self.decode_end()
    }
}

export_provider!(Kiro);

#[cfg(test)]
mod tests;
