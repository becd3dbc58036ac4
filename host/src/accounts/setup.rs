//! Running an adapter's `account-setup` after a login or an import: what a spec
//! cannot say (the ChatGPT account id in the id token's claims, a Code Assist project
//! found with `loadCodeAssist` and `onboardUser`, a Kiro profile). The adapter is
//! sans-IO: each call answers `send(request, delay)` or `done(attributes)`. The host
//! waits the delay, places the account's credential the way its kind says, checks
//! egress (the adapter's declared hosts, its base and the config's endpoint
//! overrides), sends, and calls again with the answer appended. The adapter is given
//! the id token's decoded claims, never a token, and never sees the credential on the
//! requests it asked for.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::credentials::Secret;
use crate::runtime::spec::{SetupAnswer, SetupContext, SetupStep};
use crate::runtime::{
    Account, CallContext, CredentialKind, ProviderComponent, Runtime, SandboxContext,
};
use crate::upstream::{EgressPolicy, UpstreamClient, prepare};

/// Most steps one setup may take (an onboarding poll included).
const MOST_STEPS: usize = 30;
/// Longest delay a step may ask for.
const LONGEST_DELAY: Duration = Duration::from_secs(10);

/// What a setup works with.
pub struct SetupEnv<'a> {
    /// The wasm runtime.
    pub runtime: &'a Runtime,
    /// The adapter.
    pub provider: &'a Arc<ProviderComponent>,
    /// The kind the account holds.
    pub kind: &'a CredentialKind,
    /// Its endpoints, resolved (config overrides applied).
    pub endpoints: &'a [(String, String)],
    /// Hosts the config grants the adapter (`allow-hosts`).
    pub granted: &'a [String],
    /// The HTTP client.
    pub upstream: &'a UpstreamClient,
}

/// Run the setup of an account holding `access`, whose attributes so far are
/// `attributes` and whose id token (if any) decodes to `claims`. Returns the
/// attributes the adapter settled on.
pub async fn run(
    env: &SetupEnv<'_>,
    access: &Secret,
    attributes: &BTreeMap<String, String>,
    claims: Option<&serde_json::Value>,
) -> anyhow::Result<BTreeMap<String, String>> {
    let base = env
        .endpoints
        .iter()
        .find(|(name, _)| name == "base")
        .map(|(_, url)| url.clone())
        .unwrap_or_default();
    let policy = EgressPolicy::new(&base, &env.provider.info.hosts, env.granted)
        .with_overridden_endpoints(env.endpoints.iter().map(|(_, url)| url.as_str()));
    let mut context = SetupContext {
        credential_kind: env.kind.id.clone(),
        attributes: attributes
            .iter()
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect(),
        id_token_claims: claims.map(|claims| claims.to_string()),
        endpoints: env.endpoints.to_vec(),
        answers: Vec::new(),
    };
    for step in 1..=MOST_STEPS {
        let mut sandbox = env
            .runtime
            .sandbox(env.provider, &[], sandbox_context(env, &context))
            .await
            .map_err(|error| anyhow::anyhow!("{error}"))?;
        let next = sandbox
            .account_setup(&context)
            .await
            .map_err(|error| anyhow::anyhow!("account setup: {error}"))?;
        match next {
            SetupStep::Done(found) => {
                tracing::info!(adapter = %env.provider.info.id, steps = step, "account setup done");
                return Ok(found.into_iter().collect());
            }
            SetupStep::Send(request) => {
                let delay = Duration::from_millis(u64::from(request.delay_ms)).min(LONGEST_DELAY);
                tokio::time::sleep(delay).await;
                let outgoing = prepare(
                    request.request.into(),
                    &env.kind.placement,
                    Some(access),
                    &policy,
                )
                .map_err(|error| anyhow::anyhow!("account setup: {error}"))?;
                let target = outgoing.url.path().to_owned();
                let response = env
                    .upstream
                    .send(outgoing)
                    .await
                    .map_err(|error| anyhow::anyhow!("account setup: {error}"))?;
                let status = response.head.status;
                tracing::debug!(adapter = %env.provider.info.id, path = %target, status, "account setup step answered");
                let body = response.read_error_body().await;
                context.answers.push(SetupAnswer { status, body });
            }
        }
    }
    anyhow::bail!(
        "account setup of adapter `{}` did not finish within {MOST_STEPS} steps",
        env.provider.info.id
    )
}

/// A call context for the setup's sandbox (the provider's `call` is not built).
fn sandbox_context(env: &SetupEnv<'_>, context: &SetupContext) -> SandboxContext {
    SandboxContext {
        provider_config: Arc::from("{}"),
        provider_name: format!("setup:{}", env.provider.info.id),
        call: CallContext {
            account: Account {
                id: String::new(),
                attributes: context.attributes.clone(),
            },
            credential_kind: env.kind.id.clone(),
            model: String::new(),
            client_dialect: crate::ir::Dialect::OpenaiChat,
            stream: false,
            client_headers: Vec::new(),
            endpoints: env.endpoints.to_vec(),
            model_info: None,
        },
        reuse_for: None,
    }
}
