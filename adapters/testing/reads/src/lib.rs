//! Test provider `test-reads`: one stored credential kind with account reads, every
//! endpoint pointing at a closed port until a test's config points it at its scripted
//! servers (`host/tests/accounts_reads.rs`):
//!
//! - kind `github`: a key the operator stores, exchanged (`GET exchange` presenting
//!   `Authorization: token <key>`) for a short-lived token at `/token`, with the
//!   account's base URL at `/endpoints/api` (Copilot's shape), bearer on requests;
//! - read `quota`, every 2 s: `GET quota` presenting the stored key as
//!   `Authorization: token <key>`; the answer `{"quota": [{name, used, limit, unit,
//!   resets_at}], "plan": ..., "login": ...}` gives the windows and the `plan` and
//!   `login` attributes;
//! - read `models`, every hour: `GET {base}/models` (endpoint `base/models`) presenting
//!   the exchanged token as a bearer; the answer `{"data": [{id, routes}]}` lists the
//!   models the account may use and the routes each is served on.
//!
//! Requests are OpenAI-style: `POST {base}/v1/chat/completions`, with the routes the
//! host passed in `call-context.model-info` in the `x-model-routes` header (`none` when
//! it passed no model info), answered with one JSON completion.

use plugboard_sdk::credentials::AccountRead;
use plugboard_sdk::prelude::*;

/// The component's id.
pub const ID: &str = "test-reads";

/// The component.
pub struct TestReads;

impl Provider for TestReads {
    type Call = ReadsCall;

    fn info() -> AdapterInfo {
        AdapterInfo::new(
            ID,
            env!("CARGO_PKG_VERSION"),
            "an account kind whose quota and models the host reads",
        )
        .credential_kind(github())
        .model(ModelInfo::new("listed-model").route("/chat/completions"))
        .base("http://127.0.0.1:9")
        .endpoint(Endpoint::new(
            "exchange",
            "http://127.0.0.1:9/exchange",
            "token exchange",
        ))
        .endpoint(Endpoint::new(
            "quota",
            "http://127.0.0.1:9/quota",
            "the account's quota",
        ))
    }

    fn read_account(ctx: ReadContext) -> Result<AccountFacts, AdapterError> {
        if ctx.status != 200 {
            return Err(AdapterError::upstream(format!(
                "the `{}` read answered HTTP {}",
                ctx.read, ctx.status
            )));
        }
        let answer = ctx.json()?;
        let mut facts = AccountFacts::default();
        match ctx.read.as_str() {
            "quota" => {
                for window in answer
                    .get("quota")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let text = |key: &str| window.get(key).and_then(Value::as_str).unwrap_or("");
                    let mut quota = QuotaWindow::new(
                        text("name"),
                        text("unit"),
                        window.get("used").and_then(Value::as_f64).unwrap_or(0.0),
                        window.get("limit").and_then(Value::as_f64),
                    );
                    if let Some(at) = window.get("resets_at").and_then(Value::as_u64) {
                        quota = quota.resets_at(at);
                    }
                    facts.quota.push(quota);
                }
                // Kept as attributes as they come (`login` is whatever the upstream
                // echoed: a test checks no secret reaches here).
                for name in ["plan", "login"] {
                    if let Some(value) = answer.get(name).and_then(Value::as_str) {
                        facts.attributes.push((name.into(), value.into()));
                    }
                }
            }
            "models" => {
                for model in answer
                    .get("data")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let Some(id) = model.get("id").and_then(Value::as_str) else {
                        continue;
                    };
                    let mut info = ModelInfo::new(id);
                    for route in model
                        .get("routes")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                    {
                        info = info.route(route);
                    }
                    facts.models.push(info);
                }
            }
            other => return Err(AdapterError::upstream(format!("no read `{other}`"))),
        }
        Ok(facts)
    }

    fn call(ctx: CallContext) -> ReadsCall {
        ReadsCall {
            ctx,
            body: Vec::new(),
        }
    }
}

/// A GitHub-style key exchanged for a short-lived token, with a quota read on the key
/// and a models read on the exchanged token.
fn github() -> CredentialKind {
    let mut exchange = ExchangeSpec::get(
        "exchange",
        Placement::header_with_prefix("authorization", "token "),
        60,
    );
    exchange.answer.base_url = Some("/endpoints/api".into());
    CredentialKind::new(
        "github",
        "A GitHub token, exchanged for a short-lived one",
        Placement::bearer(),
        Obtain::Key,
    )
    .exchange(exchange)
    .read(AccountRead::new(
        "quota",
        TokenCall::get(
            "quota",
            Placement::header_with_prefix("authorization", "token "),
        ),
        2,
    ))
    .read(
        AccountRead::new(
            "models",
            TokenCall::get("base/models", Placement::bearer()),
            3600,
        )
        .exchanged(),
    )
}

/// One attempt: its context and the body read so far.
pub struct ReadsCall {
    ctx: CallContext,
    body: Vec<u8>,
}

impl Call for ReadsCall {
    fn encode(&mut self, request: ChatRequest) -> Result<HttpRequest, AdapterError> {
        let messages: Vec<Value> = request
            .messages
            .iter()
            .map(|message| json!({"role": message.role.as_str(), "content": message.joined_text()}))
            .collect();
        let body = json!({"model": self.ctx.model, "messages": messages});
        let routes = match &self.ctx.model_info {
            Some(info) if !info.routes.is_empty() => info.routes.join(","),
            Some(_) => "unknown".to_owned(),
            None => "none".to_owned(),
        };
        Ok(self
            .ctx
            .post_json("/v1/chat/completions", to_json_bytes(&body), false)
            .with_header("x-model-routes", routes))
    }

    fn respond(&mut self, _head: ResponseHead, _streaming: bool) {}

    fn decode(&mut self, chunk: &[u8]) -> Result<Vec<StreamEvent>, AdapterError> {
        self.body.extend_from_slice(chunk);
        Ok(Vec::new())
    }

    fn decode_end(&mut self) -> Result<Vec<StreamEvent>, AdapterError> {
        let answer = parse_upstream_json(&self.body, "chat completion")?;
        let text = answer
            .pointer("/choices/0/message/content")
            .and_then(Value::as_str)
            .ok_or_else(|| AdapterError::upstream("no choices[0].message.content"))?;
        let mut writer = EventWriter::new();
        writer.text(text);
        writer.finish(Finish::new(FinishReason::Stop, None, Usage::default()));
        Ok(writer.take())
    }

    fn classify_error(&mut self, head: ResponseHead, body: Vec<u8>) -> UpstreamError {
        classify_by_status(&head, &body)
    }
}

export_provider!(TestReads);
