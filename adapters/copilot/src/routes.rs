//! Which of Copilot's API routes serves a request, and so which translation encodes
//! it and reads its answer.
//!
//! Copilot serves each model on the routes its `/models` answer lists as
//! `supported_endpoints`; the host hands the account's last `models` read (or this
//! adapter's own table) to the call as `call-context.model-info`. The choice:
//!
//! 1. with routes known: `/v1/messages` for a Claude model served there (the route
//!    with Claude's thinking and prompt-cache counts, whatever the client speaks), else
//!    the route of the client's own dialect when the model is served there (a
//!    Responses client keeps its reasoning items), else `/chat/completions`, else
//!    `/responses`, else `/v1/messages`;
//! 2. with none known, by name: `claude-*` → `/v1/messages`; a Codex model or one of
//!    [`RESPONSES_ONLY`] → `/responses`; anything else → `/chat/completions`.

use plugboard_sdk::prelude::*;

/// Models Copilot serves only on `/responses`, besides every model whose name holds
/// `codex` (CLIProxyAPI's static table, 2026).
pub const RESPONSES_ONLY: &[&str] = &["gpt-5.4", "gpt-5.4-mini"];

/// One of Copilot's API routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `POST {base}/chat/completions`: OpenAI Chat Completions.
    Chat,
    /// `POST {base}/responses`: OpenAI Responses.
    Responses,
    /// `POST {base}/v1/messages`: Anthropic Messages (Claude models).
    Messages,
}

impl Route {
    /// The path under the API base, as `supported_endpoints` names it.
    pub fn path(self) -> &'static str {
        match self {
            Route::Chat => "/chat/completions",
            Route::Responses => "/responses",
            Route::Messages => "/v1/messages",
        }
    }

    /// The route a client dialect speaks natively, when Copilot has it.
    fn of_dialect(dialect: Dialect) -> Option<Route> {
        match dialect {
            Dialect::OpenaiChat => Some(Route::Chat),
            Dialect::OpenaiResponses => Some(Route::Responses),
            Dialect::AnthropicMessages => Some(Route::Messages),
            _ => None,
        }
    }

    /// The route for this attempt (see the module doc).
    pub fn choose(ctx: &CallContext) -> Route {
        let routes = ctx
            .model_info
            .as_ref()
            .map(|info| info.routes.as_slice())
            .unwrap_or_default();
        let served = |route: Route| {
            routes
                .iter()
                .any(|r| r.trim_end_matches('/') == route.path())
        };
        if !routes.is_empty() {
            let claude = is_claude(&ctx.model).then_some(Route::Messages);
            let order = claude
                .into_iter()
                .chain(Route::of_dialect(ctx.client_dialect))
                .chain([Route::Chat, Route::Responses, Route::Messages]);
            for route in order {
                if served(route) {
                    return route;
                }
            }
        }
        Route::by_name(&ctx.model)
    }

    /// The route a model's name implies when the upstream did not say.
    pub fn by_name(model: &str) -> Route {
        let model = model.to_ascii_lowercase();
        if is_claude(&model) {
            Route::Messages
        } else if model.contains("codex") || RESPONSES_ONLY.contains(&model.as_str()) {
            Route::Responses
        } else {
            Route::Chat
        }
    }
}

/// Whether `model` is a Claude model (`claude-sonnet-4.6`...).
fn is_claude(model: &str) -> bool {
    model.to_ascii_lowercase().starts_with("claude")
}
