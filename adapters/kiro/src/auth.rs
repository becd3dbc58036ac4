//! Kiro accounts: credential kinds (social login refreshed through the Kiro auth
//! service; AWS Builder ID / IAM Identity Center through AWS SSO OIDC), the endpoints
//! and hosts they use, profile ARN discovery and the API region, usage limits.

use plugboard_sdk::prelude::*;

/// The credential kinds a Kiro account may hold.
pub fn credential_kinds() -> Vec<CredentialKind> {
    Vec::new()
}

/// Every endpoint the adapter uses (`base` included), by name.
pub fn endpoints() -> Vec<Endpoint> {
    Vec::new()
}

/// Hosts the adapter reaches (exact names or `*.suffix`).
pub fn hosts() -> Vec<&'static str> {
    Vec::new()
}

/// Find an account's attributes after a login or refresh (profile ARN, API region).
pub fn account_setup(ctx: SetupContext) -> Result<SetupStep, AdapterError> {
    Ok(SetupStep::Done(ctx.attributes))
}
