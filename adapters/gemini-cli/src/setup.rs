//! Account setup for Code Assist accounts (shared with `antigravity`): find the
//! Google Cloud project requests bill to, onboarding the account when it has none.
//!
//! Sans-IO, as the host runs it: every call looks at the answers so far and asks for
//! the next request or settles.
//! 1. `POST {code-assist}/v1internal:loadCodeAssist` with the adapter's metadata (and
//!    the user's project, when given as `--input project-id=...`);
//! 2. a project in the answer (`cloudaicompanionProject`, a string or `{id}`) settles
//!    it; a project the user gave wins, and settles it once the account has a tier;
//! 3. otherwise `POST {onboard}/v1internal:onboardUser` with the default tier of
//!    `allowedTiers`, asked again every [`Onboarding::poll_delay_ms`] until it
//!    answers `done: true` with the project, at most [`Onboarding::most_polls`] times.
//!
//! The email, when the id token's claims carry one, is kept as attribute `email`.

use plugboard_sdk::json::error_message;
use plugboard_sdk::prelude::*;

use crate::code_assist::PROJECT_ID;

/// How one adapter discovers and onboards a project.
pub struct Onboarding {
    /// What the adapter is called in errors (`Gemini CLI`, `Antigravity`).
    pub product: &'static str,
    /// The endpoint `loadCodeAssist` goes to, by name.
    pub load_endpoint: &'static str,
    /// The endpoint `onboardUser` goes to, by name.
    pub onboard_endpoint: &'static str,
    /// The `loadCodeAssist` body without a project.
    pub load_body: Value,
    /// The `onboardUser` body for a tier (and the user's project, when given).
    pub onboard_body: fn(tier: &str, project: Option<&str>) -> Value,
    /// The tier when `allowedTiers` names no default.
    pub fallback_tier: &'static str,
    /// Most `onboardUser` calls before giving up.
    pub most_polls: usize,
    /// The wait before each `onboardUser` call after the first.
    pub poll_delay_ms: u32,
}

/// Keys of a `loadCodeAssist` or onboarding answer that may name the project.
const PROJECT_KEYS: [&str; 3] = ["cloudaicompanionProject", "projectId", "project"];

/// The next setup step.
pub fn step(ctx: &SetupContext, flow: &Onboarding) -> Result<SetupStep, AdapterError> {
    let given = ctx
        .attribute(PROJECT_ID)
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string);
    let Some((load, polls)) = ctx.answers.split_first() else {
        let mut body = flow.load_body.clone();
        if let Some(project) = &given {
            body["cloudaicompanionProject"] = json!(project);
        }
        return send(ctx, flow.load_endpoint, "loadCodeAssist", &body, 0);
    };
    let loaded = answer_json(load, flow, "loadCodeAssist")?;
    let found = project_in(&loaded);
    let onboarded = loaded
        .get("currentTier")
        .is_some_and(|tier| !tier.is_null());
    match (&given, found) {
        (Some(project), _) if onboarded => return Ok(done(ctx, project)),
        (None, Some(project)) => return Ok(done(ctx, &project)),
        _ => {}
    }
    if let Some(last) = polls.last() {
        let answer = answer_json(last, flow, "onboardUser")?;
        if answer.get("done") == Some(&Value::Bool(true)) {
            let found = answer.get("response").and_then(project_in);
            return match (given, found) {
                (Some(project), _) | (None, Some(project)) => Ok(done(ctx, &project)),
                (None, None) => Err(AdapterError::upstream(format!(
                    "{} onboarding finished without naming a project; log in again with \
                     `--input {PROJECT_ID}=<your Google Cloud project>`",
                    flow.product
                ))),
            };
        }
        if polls.len() >= flow.most_polls {
            return Err(AdapterError::upstream(format!(
                "{} onboarding did not finish after {} polls ({} s); try the login again \
                 later, or give a project with `--input {PROJECT_ID}=<project>`",
                flow.product,
                polls.len(),
                polls.len() as u64 * u64::from(flow.poll_delay_ms) / 1000
            )));
        }
    }
    let tier = default_tier(&loaded).unwrap_or(flow.fallback_tier);
    let body = (flow.onboard_body)(tier, given.as_deref());
    let delay = if polls.is_empty() {
        0
    } else {
        flow.poll_delay_ms
    };
    send(ctx, flow.onboard_endpoint, "onboardUser", &body, delay)
}

/// The id of the default tier of a `loadCodeAssist` answer: `allowedTiers[isDefault]`,
/// else `currentTier`.
pub fn default_tier(loaded: &Value) -> Option<&str> {
    loaded
        .get("allowedTiers")
        .and_then(Value::as_array)
        .and_then(|tiers| {
            tiers
                .iter()
                .find(|tier| tier.get("isDefault") == Some(&Value::Bool(true)))
        })
        .or_else(|| loaded.get("currentTier"))
        .and_then(|tier| tier.get("id"))
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
}

/// The project an answer names: under one of [`PROJECT_KEYS`], a string or `{id}`.
pub fn project_in(answer: &Value) -> Option<String> {
    PROJECT_KEYS
        .iter()
        .filter_map(|key| answer.get(*key))
        .filter_map(|value| match value {
            Value::String(id) => Some(id.as_str()),
            Value::Object(_) => value.get("id").and_then(Value::as_str),
            _ => None,
        })
        .map(str::trim)
        .find(|id| !id.is_empty())
        .map(str::to_string)
}

fn send(
    ctx: &SetupContext,
    endpoint: &str,
    method: &str,
    body: &Value,
    delay_ms: u32,
) -> Result<SetupStep, AdapterError> {
    let base = ctx
        .endpoint(endpoint)
        .ok_or_else(|| AdapterError::internal(format!("endpoint `{endpoint}` is not resolved")))?
        .trim_end_matches('/');
    let request =
        HttpRequest::post_json(format!("{base}/v1internal:{method}"), to_json_bytes(body))
            .with_header("accept", "application/json");
    Ok(SetupStep::Send(SetupRequest { request, delay_ms }))
}

fn answer_json(
    answer: &SetupAnswer,
    flow: &Onboarding,
    method: &str,
) -> Result<Value, AdapterError> {
    if answer.status != 200 {
        return Err(AdapterError::upstream(format!(
            "{} `{method}` answered HTTP {}: {}",
            flow.product,
            answer.status,
            error_message(answer.status, &answer.body)
        )));
    }
    parse_upstream_json(&answer.body, &format!("the {method} answer"))
}

/// Done: the attributes so far, with [`PROJECT_ID`] and the claims' `email` set.
fn done(ctx: &SetupContext, project: &str) -> SetupStep {
    let mut attributes = ctx.attributes.clone();
    let email = ctx
        .id_token_claims
        .as_deref()
        .and_then(|claims| serde_json::from_str::<Value>(claims).ok())
        .and_then(|claims| {
            claims
                .get("email")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
    for (name, value) in [(PROJECT_ID, Some(project.to_string())), ("email", email)] {
        let Some(value) = value else { continue };
        match attributes.iter_mut().find(|(key, _)| key == name) {
            Some(slot) => slot.1 = value,
            None => attributes.push((name.to_string(), value)),
        }
    }
    SetupStep::Done(attributes)
}
