//! Kiro accounts: credential kinds (social login refreshed through the Kiro auth
//! service; AWS Builder ID / IAM Identity Center through AWS SSO OIDC), the endpoints
//! and hosts they use, profile ARN discovery and the API region, usage limits.
//!
//! Two kinds, because a kind has one refresh spec and the two refresh differently:
//! - [`SOCIAL_KIND`] (`kiro-social`): a Google or GitHub login through the Kiro auth
//!   service (`https://prod.{region}.auth.desktop.kiro.dev`): browser login with PKCE,
//!   refresh `POST /refreshToken` with JSON `{refreshToken}`; every answer is camelCase
//!   and carries the account's `profileArn`.
//! - [`IDC_KIND`] (`kiro-idc`): AWS Builder ID or IAM Identity Center through AWS SSO
//!   OIDC (`https://oidc.{region}.amazonaws.com`): a client registration, a device
//!   authorization for the login input `start-url` (Builder ID's by default), a poll of
//!   `/token` that answers 400 `authorization_pending` until the user approves, and the
//!   refresh at `/token` with the registered client's id and secret (kept by the host).
//!
//! Two regions, kept apart: the login region (attribute [`REGION`]) names the auth
//! service or OIDC host and is used for login and refresh only; the API region
//! (attribute [`API_REGION`]) names the REST host (`https://q.{api-region}.amazonaws.com`)
//! and comes from the profile ARN (`arn:aws:codewhisperer:<region>:<account>:profile/<id>`).
//! [`account_setup`] finds the profile ARN with `ListAvailableProfiles` when the login
//! did not give one and sets both attributes.
//!
//! Usage limits: each kind reads `getUsageLimits` every [`QUOTA_EVERY_S`] seconds;
//! [`read_account`] totals the answer (the plan's credits, an active free trial and
//! active bonuses) into one quota window and keeps the plan name as attribute [`PLAN`].

use plugboard_sdk::credentials::AccountRead;
use plugboard_sdk::json::error_message;
use plugboard_sdk::prelude::*;

use crate::PROFILE_ARN;

/// The credential kind of a social (Google / GitHub) Kiro account.
pub const SOCIAL_KIND: &str = "kiro-social";
/// The credential kind of an AWS Builder ID or IAM Identity Center Kiro account.
pub const IDC_KIND: &str = "kiro-idc";

/// Attribute: the login (auth service / OIDC) region, used for login and refresh only.
pub const REGION: &str = "region";
/// Attribute: the API region, from the profile ARN; fills the `base` endpoint.
pub const API_REGION: &str = "api-region";
/// Attribute: the IAM Identity Center start URL the account logged in through.
pub const START_URL: &str = "start-url";
/// Attribute: the subscription's title (`KIRO FREE`, `KIRO PRO`...), from usage limits.
pub const PLAN: &str = "plan";
/// Login input: the social identity provider (`Google` or `Github`).
pub const IDP: &str = "idp";

/// Where a login region or API region is not known.
pub const DEFAULT_REGION: &str = "us-east-1";
/// AWS Builder ID's start URL (the `start-url` default).
pub const BUILDER_ID_START_URL: &str = "https://view.awsapps.com/start";
/// The regions Kiro's REST API is served in (profile discovery tries each).
pub const API_REGIONS: [&str; 2] = ["us-east-1", "eu-central-1"];
/// Regions an IAM Identity Center (and so its OIDC host) may live in.
pub const OIDC_REGIONS: [&str; 31] = [
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "af-south-1",
    "ap-east-1",
    "ap-south-1",
    "ap-south-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "sa-east-1",
    "us-gov-east-1",
    "us-gov-west-1",
];

/// The scopes a Kiro client registration asks for (as the Kiro IDE does).
pub const SCOPES: [&str; 5] = [
    "codewhisperer:completions",
    "codewhisperer:analysis",
    "codewhisperer:conversations",
    "codewhisperer:transformations",
    "codewhisperer:taskassist",
];
/// The OAuth grant type of a device-code poll.
pub const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// Refresh this long before the access token expires (as CLIProxyAPI does).
pub const REFRESH_LEAD_S: u32 = 300;
/// Read the usage limits this often.
pub const QUOTA_EVERY_S: u32 = 300;
/// The name of the usage-limits read.
pub const QUOTA_READ: &str = "quota";
/// The resource the usage limits are read for (the chat credits).
pub const RESOURCE_TYPE: &str = "AGENTIC_REQUEST";

/// Endpoint names.
pub mod endpoint {
    /// The page the browser opens for a social login.
    pub const LOGIN: &str = "login";
    /// The social code exchange (`/oauth/token`).
    pub const SOCIAL_TOKEN: &str = "social-token";
    /// The social refresh (`/refreshToken`).
    pub const REFRESH: &str = "refresh";
    /// AWS SSO OIDC `RegisterClient`.
    pub const REGISTER: &str = "register";
    /// AWS SSO OIDC `StartDeviceAuthorization`.
    pub const DEVICE: &str = "device";
    /// AWS SSO OIDC `CreateToken` (device poll and refresh).
    pub const TOKEN: &str = "token";
    /// `ListAvailableProfiles` (profile ARN discovery).
    pub const PROFILES: &str = "profiles";
    /// `getUsageLimits`.
    pub const USAGE: &str = "usage";
}

/// The Kiro auth service of the login region.
const AUTH_SERVICE: &str = "https://prod.{region}.auth.desktop.kiro.dev";
/// AWS SSO OIDC of the login region.
const OIDC: &str = "https://oidc.{region}.amazonaws.com";
/// The REST host of the API region.
const RUNTIME: &str = "https://q.{api-region}.amazonaws.com";
/// The path of `ListAvailableProfiles` under a REST host.
const PROFILES_PATH: &str = "/ListAvailableProfiles";

/// What the Kiro IDE's AWS SDK says it is on OIDC and runtime calls (some runtime
/// hosts refuse calls without an SDK user agent).
const OIDC_AGENT: &str = "aws-sdk-js/3.980.0 KiroIDE";
const RUNTIME_AGENT: &str = "aws-sdk-js/1.0.0 KiroIDE";

/// The credential kinds a Kiro account may hold.
pub fn credential_kinds() -> Vec<CredentialKind> {
    vec![social_kind(), idc_kind()]
}

/// The region inputs both kinds ask for: the login region, and the API region used
/// until a profile ARN names one.
fn with_regions(kind: CredentialKind) -> CredentialKind {
    kind.input(
        REGION,
        "the login region (the Kiro auth service's or your Identity Center's)",
        Some(DEFAULT_REGION),
    )
    .input(
        API_REGION,
        "the API region to look for a profile in (the profile ARN's region wins)",
        Some(DEFAULT_REGION),
    )
}

/// A social (Google / GitHub) account: browser login with PKCE through the Kiro auth
/// service, a JSON refresh whose answer carries the profile ARN; setup finds the API
/// region; usage limits read with the profile ARN.
pub fn social_kind() -> CredentialKind {
    let mut login = AuthorizationCodeSpec::pkce(endpoint::LOGIN, endpoint::SOCIAL_TOKEN, "kiro")
        .redirect("localhost", 9876, "/oauth/callback")
        .answer(kiro_answer());
    login.authorize_params = vec![
        (IDP.into(), TokenValue::Input(IDP.into())),
        ("redirect_uri".into(), TokenValue::RedirectUri),
        ("code_challenge".into(), TokenValue::CodeChallenge),
        ("code_challenge_method".into(), TokenValue::text("S256")),
        ("state".into(), TokenValue::State),
        ("prompt".into(), TokenValue::text("select_account")),
    ];
    login.exchange = TokenCall::post_form(
        endpoint::SOCIAL_TOKEN,
        vec![
            ("code".into(), TokenValue::Code),
            ("code_verifier".into(), TokenValue::CodeVerifier),
            ("redirect_uri".into(), TokenValue::RedirectUri),
        ],
    )
    .json_body();
    let refresh = RefreshSpec {
        call: TokenCall::post_form(
            endpoint::REFRESH,
            vec![("refreshToken".into(), TokenValue::RefreshToken)],
        )
        .json_body(),
        answer: kiro_answer(),
        lead_s: REFRESH_LEAD_S,
        rotates: false,
    }
    .rotating();
    let kind = CredentialKind::new(
        SOCIAL_KIND,
        "A Kiro account signed in with Google or GitHub (Kiro auth service)",
        Placement::bearer(),
        Obtain::AuthorizationCode(login),
    )
    .input(
        IDP,
        "the identity provider: Google or Github",
        Some("Google"),
    );
    with_regions(kind)
        .refresh(refresh)
        .with_setup()
        .read(quota_read(true))
}

/// An AWS Builder ID or IAM Identity Center account: AWS SSO OIDC device login with a
/// client registration, refreshed at `/token` with the registered client.
pub fn idc_kind() -> CredentialKind {
    let json_call = |endpoint: &str, fields: Vec<(&str, TokenValue)>| {
        TokenCall::post_form(
            endpoint,
            fields
                .into_iter()
                .map(|(name, value)| (name.to_string(), value))
                .collect(),
        )
        .json_body()
        .header("x-amz-user-agent", OIDC_AGENT)
    };
    let registration = ClientRegistration {
        call: json_call(
            endpoint::REGISTER,
            vec![
                ("clientName", TokenValue::text("Kiro IDE")),
                ("clientType", TokenValue::text("public")),
                ("scopes", TokenValue::Json(json!(SCOPES).to_string())),
                (
                    "grantTypes",
                    TokenValue::Json(json!([DEVICE_GRANT, "refresh_token"]).to_string()),
                ),
            ],
        ),
        client_id: "/clientId".into(),
        client_secret: "/clientSecret".into(),
        expires_at: Some("/clientSecretExpiresAt".into()),
    };
    let mut login = DeviceCodeSpec::rfc8628(endpoint::DEVICE, endpoint::TOKEN, "")
        .scopes(&SCOPES)
        .answer(kiro_answer());
    login.registration = Some(registration);
    login.start = json_call(
        endpoint::DEVICE,
        vec![
            ("clientId", TokenValue::ClientId),
            ("clientSecret", TokenValue::ClientSecret),
            ("startUrl", TokenValue::Input(START_URL.into())),
        ],
    );
    login.user_code = "/userCode".into();
    login.verification_uri = "/verificationUri".into();
    login.verification_uri_complete = Some("/verificationUriComplete".into());
    login.device_code = Some("/deviceCode".into());
    login.interval = Some("/interval".into());
    login.expires_in = Some("/expiresIn".into());
    login.poll = json_call(
        endpoint::TOKEN,
        vec![
            ("clientId", TokenValue::ClientId),
            ("clientSecret", TokenValue::ClientSecret),
            ("deviceCode", TokenValue::DeviceCode),
            ("grantType", TokenValue::text(DEVICE_GRANT)),
        ],
    );
    let refresh = RefreshSpec {
        call: json_call(
            endpoint::TOKEN,
            vec![
                ("clientId", TokenValue::ClientId),
                ("clientSecret", TokenValue::ClientSecret),
                ("refreshToken", TokenValue::RefreshToken),
                ("grantType", TokenValue::text("refresh_token")),
            ],
        ),
        answer: kiro_answer(),
        lead_s: REFRESH_LEAD_S,
        rotates: false,
    }
    .rotating();
    let kind = CredentialKind::new(
        IDC_KIND,
        "A Kiro account signed in with AWS Builder ID or IAM Identity Center (AWS SSO OIDC)",
        Placement::bearer(),
        Obtain::DeviceCode(login),
    )
    .input(
        START_URL,
        "the IAM Identity Center start URL (AWS Builder ID's by default)",
        Some(BUILDER_ID_START_URL),
    );
    with_regions(kind)
        .refresh(refresh)
        .with_setup()
        .read(quota_read(false))
}

/// The camelCase token answer of the Kiro auth service and AWS SSO OIDC; a profile ARN
/// in it is kept as attribute `profile-arn`.
pub fn kiro_answer() -> TokenAnswer {
    TokenAnswer {
        access_token: "/accessToken".into(),
        refresh_token: Some("/refreshToken".into()),
        id_token: None,
        expires_in: Some("/expiresIn".into()),
        expires_at: None,
        base_url: None,
        attributes: vec![(PROFILE_ARN.into(), "/profileArn".into())],
    }
}

/// `GET {usage}?origin=AI_EDITOR&resourceType=AGENTIC_REQUEST[&profileArn=...]` with
/// the bearer, every [`QUOTA_EVERY_S`]. Social accounts send their profile ARN; Builder
/// ID and Identity Center tokens are bound to theirs (and may have none), so they do
/// not (as the Kiro proxies that read usage do).
fn quota_read(with_profile: bool) -> AccountRead {
    let mut call = TokenCall::get(endpoint::USAGE, Placement::bearer())
        .field("origin", TokenValue::text("AI_EDITOR"))
        .field("resourceType", TokenValue::text(RESOURCE_TYPE))
        .header("x-amz-user-agent", RUNTIME_AGENT)
        .header("amz-sdk-request", "attempt=1; max=1");
    if with_profile {
        call = call.field("profileArn", TokenValue::Attribute(PROFILE_ARN.into()));
    }
    AccountRead::new(QUOTA_READ, call, QUOTA_EVERY_S)
}

/// Every endpoint the adapter uses (`base` included), by name.
pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint::new(
            Endpoint::BASE,
            crate::DEFAULT_BASE_URL,
            "Kiro's REST API in the account's API region",
        ),
        Endpoint::new(
            endpoint::LOGIN,
            format!("{AUTH_SERVICE}/login"),
            "the Kiro auth service's login page (browser)",
        ),
        Endpoint::new(
            endpoint::SOCIAL_TOKEN,
            format!("{AUTH_SERVICE}/oauth/token"),
            "the Kiro auth service's code exchange",
        ),
        Endpoint::new(
            endpoint::REFRESH,
            format!("{AUTH_SERVICE}/refreshToken"),
            "the Kiro auth service's refresh",
        ),
        Endpoint::new(
            endpoint::REGISTER,
            format!("{OIDC}/client/register"),
            "AWS SSO OIDC client registration",
        ),
        Endpoint::new(
            endpoint::DEVICE,
            format!("{OIDC}/device_authorization"),
            "AWS SSO OIDC device authorization",
        ),
        Endpoint::new(
            endpoint::TOKEN,
            format!("{OIDC}/token"),
            "AWS SSO OIDC token (device poll and refresh)",
        ),
        Endpoint::new(
            endpoint::PROFILES,
            format!("{RUNTIME}{PROFILES_PATH}"),
            "ListAvailableProfiles (profile ARN discovery)",
        ),
        Endpoint::new(
            endpoint::USAGE,
            format!("{RUNTIME}/getUsageLimits"),
            "getUsageLimits (usage limits)",
        ),
    ]
}

/// Hosts the adapter reaches: the Kiro auth service of any region, the REST hosts of
/// the API regions and the OIDC hosts of the Identity Center regions (named one by
/// one rather than `*.amazonaws.com`, so an account's secret never goes to another AWS
/// service).
pub fn hosts() -> Vec<String> {
    let mut hosts = vec!["*.auth.desktop.kiro.dev".to_string()];
    hosts.extend(API_REGIONS.iter().map(|r| format!("q.{r}.amazonaws.com")));
    hosts.extend(
        OIDC_REGIONS
            .iter()
            .map(|r| format!("oidc.{r}.amazonaws.com")),
    );
    hosts
}

/// The region of a profile ARN (`arn:aws:codewhisperer:<region>:<account>:profile/<id>`),
/// when it is one and the region is a plain name.
pub fn arn_region(arn: &str) -> Option<&str> {
    let mut parts = arn.trim().split(':');
    if parts.next() != Some("arn") {
        return None;
    }
    let region = parts.nth(2)?;
    let plain = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    plain.then_some(region)
}

/// Find an account's attributes after a login (profile ARN, API region).
///
/// A login whose answer carried a profile ARN (social) is done at once, its API region
/// read from the ARN. Otherwise `POST {profiles}` with the body `{}` (exactly: anything
/// more is refused) and the first profile of the answer wins; when the `profiles`
/// endpoint is Kiro's own and finds none, the other API regions are asked too. A
/// Builder ID account may have no profile (it is served without one); an Identity
/// Center login that finds none fails, naming what the service answered.
pub fn account_setup(ctx: SetupContext) -> Result<SetupStep, AdapterError> {
    if let Some(arn) = ctx
        .attribute(PROFILE_ARN)
        .map(str::trim)
        .filter(|arn| !arn.is_empty())
    {
        let arn = arn.to_string();
        return Ok(done(ctx, Some(&arn)));
    }
    let candidates = profile_urls(&ctx)?;
    if let Some(arn) = ctx.answers.iter().find_map(first_profile) {
        return Ok(done(ctx, Some(&arn)));
    }
    if let Some(url) = candidates.get(ctx.answers.len()) {
        let request = HttpRequest::post_json(url.clone(), b"{}".to_vec())
            .with_header("accept", "application/json")
            .with_header("x-amz-user-agent", RUNTIME_AGENT)
            .with_header("amz-sdk-request", "attempt=1; max=1");
        return Ok(SetupStep::Send(SetupRequest {
            request,
            delay_ms: 0,
        }));
    }
    let builder_id = ctx
        .attribute(START_URL)
        .is_none_or(|url| url.trim().trim_end_matches('/') == BUILDER_ID_START_URL);
    if ctx.credential_kind == IDC_KIND && !builder_id {
        let said: Vec<String> = ctx
            .answers
            .iter()
            .zip(&candidates)
            .map(|(answer, url)| {
                let what = if answer.status == 200 {
                    "no profile".to_string()
                } else {
                    format!(
                        "HTTP {}: {}",
                        answer.status,
                        error_message(answer.status, &answer.body)
                    )
                };
                format!("{url} answered {what}")
            })
            .collect();
        return Err(AdapterError::upstream(format!(
            "the Identity Center login found no Kiro profile ({}); ask your administrator \
             to give your user a Kiro (Amazon Q Developer) subscription",
            said.join("; ")
        )));
    }
    Ok(done(ctx, None))
}

/// The `ListAvailableProfiles` URLs to ask, in order: the `profiles` endpoint, then,
/// when it is Kiro's own REST host, the same path in the other API regions.
fn profile_urls(ctx: &SetupContext) -> Result<Vec<String>, AdapterError> {
    let first = ctx
        .endpoint(endpoint::PROFILES)
        .ok_or_else(|| AdapterError::internal("endpoint `profiles` is not resolved"))?
        .to_string();
    let mut urls = vec![first.clone()];
    let own = API_REGIONS
        .iter()
        .any(|r| first == format!("https://q.{r}.amazonaws.com{PROFILES_PATH}"));
    if own {
        urls.extend(
            API_REGIONS
                .iter()
                .map(|r| format!("https://q.{r}.amazonaws.com{PROFILES_PATH}"))
                .filter(|url| *url != first),
        );
    }
    Ok(urls)
}

/// The ARN of the first profile of a 200 `ListAvailableProfiles` answer
/// (`{"profiles":[{"arn", "profileName"}]}`).
fn first_profile(answer: &SetupAnswer) -> Option<String> {
    if answer.status != 200 {
        return None;
    }
    let body: Value = serde_json::from_slice(&answer.body).ok()?;
    body.get("profiles")?
        .as_array()?
        .iter()
        .filter_map(|profile| profile.get("arn").and_then(Value::as_str))
        .map(str::trim)
        .find(|arn| arn_region(arn).is_some())
        .map(str::to_string)
}

/// Done: the attributes so far with `profile-arn` (when found) and `api-region` (the
/// ARN's region, else what the account had, else [`DEFAULT_REGION`]); the login region
/// defaults too.
fn done(ctx: SetupContext, arn: Option<&str>) -> SetupStep {
    let mut attributes = ctx.attributes;
    let mut set = |name: &str, value: &str, replace: bool| match attributes
        .iter_mut()
        .find(|(key, _)| key == name)
    {
        Some(slot) if replace || slot.1.trim().is_empty() => slot.1 = value.to_string(),
        Some(_) => {}
        None => attributes.push((name.to_string(), value.to_string())),
    };
    if let Some(arn) = arn {
        set(PROFILE_ARN, arn, true);
        if let Some(region) = arn_region(arn) {
            set(API_REGION, region, true);
        }
    }
    set(API_REGION, DEFAULT_REGION, false);
    set(REGION, DEFAULT_REGION, false);
    SetupStep::Done(attributes)
}

/// Read the answer of an account read: `quota` is `getUsageLimits`.
///
/// The window is the chat credits (`AGENTIC_REQUEST`): the plan's limit and usage
/// (`usageLimitWithPrecision`, `currentUsageWithPrecision`, else the whole-number
/// fields), plus those of an `ACTIVE` free trial and of each `ACTIVE` bonus; it resets
/// at `nextDateReset` (Unix seconds). The subscription's title becomes attribute
/// [`PLAN`], the user's email attribute `email` when the answer names one.
pub fn read_account(ctx: ReadContext) -> Result<AccountFacts, AdapterError> {
    if ctx.read != QUOTA_READ {
        return Ok(AccountFacts::default());
    }
    if ctx.status != 200 {
        return Err(AdapterError::upstream(format!(
            "getUsageLimits answered HTTP {}: {}",
            ctx.status,
            error_message(ctx.status, &ctx.body)
        )));
    }
    let body = ctx.json()?;
    let items = body
        .get("usageBreakdownList")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let item = items
        .iter()
        .find(|item| item.get("resourceType").and_then(Value::as_str) == Some(RESOURCE_TYPE))
        .or_else(|| items.first());
    let mut facts = AccountFacts::default();
    if let Some(item) = item {
        let (mut used, mut limit) = amounts(item);
        if let Some(trial) = item
            .get("freeTrialInfo")
            .filter(|t| active(t, "freeTrialStatus"))
        {
            let (trial_used, trial_limit) = amounts(trial);
            used += trial_used;
            limit += trial_limit;
        }
        for bonus in item
            .get("bonuses")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|bonus| active(bonus, "status"))
        {
            let (bonus_used, bonus_limit) = amounts(bonus);
            used += bonus_used;
            limit += bonus_limit;
        }
        let name = item
            .get("resourceType")
            .and_then(Value::as_str)
            .unwrap_or(RESOURCE_TYPE);
        let mut window = QuotaWindow::new(name, "credits", used, Some(limit));
        let reset = number(item, "nextDateReset").or_else(|| number(&body, "nextDateReset"));
        if let Some(reset) = reset.filter(|r| r.is_finite() && *r > 0.0) {
            window = window.resets_at(reset as u64);
        }
        facts.quota.push(window);
    }
    let plan = body
        .pointer("/subscriptionInfo/subscriptionTitle")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|plan| !plan.is_empty());
    let email = body
        .pointer("/userInfo/email")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|email| !email.is_empty());
    for (name, value) in [(PLAN, plan), ("email", email)] {
        if let Some(value) = value {
            facts.attributes.push((name.to_string(), value.to_string()));
        }
    }
    Ok(facts)
}

/// `(used, limit)` of a usage item, free trial or bonus: the precise fields, else the
/// whole-number ones, else 0.
fn amounts(item: &Value) -> (f64, f64) {
    let used = number(item, "currentUsageWithPrecision")
        .or_else(|| number(item, "currentUsage"))
        .unwrap_or(0.0);
    let limit = number(item, "usageLimitWithPrecision")
        .or_else(|| number(item, "usageLimit"))
        .unwrap_or(0.0);
    (used, limit)
}

/// Whether `item`'s status field says `ACTIVE`.
fn active(item: &Value, field: &str) -> bool {
    item.get(field)
        .and_then(Value::as_str)
        .is_some_and(|status| status.eq_ignore_ascii_case("ACTIVE"))
}

/// A number field (a JSON number or a numeric string).
fn number(item: &Value, field: &str) -> Option<f64> {
    match item.get(field)? {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN_EU: &str = "arn:aws:codewhisperer:eu-central-1:123456789012:profile/ABCDEF123456";
    const ARN_US: &str = "arn:aws:codewhisperer:us-east-1:699475941385:profile/EHGA3GRVQMUK";

    fn kind(id: &str) -> CredentialKind {
        credential_kinds()
            .into_iter()
            .find(|kind| kind.id == id)
            .unwrap()
    }

    fn names(call: &TokenCall) -> Vec<&str> {
        call.fields.iter().map(|(name, _)| name.as_str()).collect()
    }

    fn setup_ctx(
        kind: &str,
        attributes: &[(&str, &str)],
        answers: Vec<SetupAnswer>,
    ) -> SetupContext {
        SetupContext {
            credential_kind: kind.into(),
            attributes: attributes
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            id_token_claims: None,
            endpoints: vec![(
                endpoint::PROFILES.into(),
                format!("https://q.us-east-1.amazonaws.com{PROFILES_PATH}"),
            )],
            answers,
        }
    }

    fn answer(status: u16, body: &str) -> SetupAnswer {
        SetupAnswer {
            status,
            body: body.as_bytes().to_vec(),
        }
    }

    fn attribute<'a>(step: &'a SetupStep, name: &str) -> Option<&'a str> {
        match step {
            SetupStep::Done(attributes) => find_value(attributes, name),
            SetupStep::Send(_) => panic!("setup is not done"),
        }
    }

    #[test]
    fn a_social_account_refreshes_through_the_kiro_auth_service_in_camel_case() {
        let social = kind(SOCIAL_KIND);
        let refresh = social.refresh.as_ref().unwrap();
        assert_eq!(refresh.call.endpoint, endpoint::REFRESH);
        assert_eq!(refresh.call.encoding, BodyEncoding::Json);
        assert_eq!(
            refresh.call.fields,
            [("refreshToken".to_string(), TokenValue::RefreshToken)]
        );
        assert!(refresh.rotates);
        assert_eq!(refresh.answer.access_token, "/accessToken");
        assert_eq!(refresh.answer.expires_in.as_deref(), Some("/expiresIn"));
        assert_eq!(
            refresh.answer.attributes,
            [(PROFILE_ARN.to_string(), "/profileArn".to_string())]
        );
        let Obtain::AuthorizationCode(login) = &social.obtain else {
            panic!("social logs in through the browser");
        };
        let params: Vec<&str> = login
            .authorize_params
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(
            params,
            [
                "idp",
                "redirect_uri",
                "code_challenge",
                "code_challenge_method",
                "state",
                "prompt"
            ]
        );
        assert_eq!(
            names(&login.exchange),
            ["code", "code_verifier", "redirect_uri"]
        );
        assert_eq!(login.exchange.encoding, BodyEncoding::Json);
        let inputs: Vec<&str> = social.inputs.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(inputs, [IDP, REGION, API_REGION]);
        assert!(social.setup);
    }

    #[test]
    fn an_idc_account_registers_a_client_and_polls_the_oidc_token_endpoint() {
        let idc = kind(IDC_KIND);
        let Obtain::DeviceCode(login) = &idc.obtain else {
            panic!("IdC logs in by device code");
        };
        let registration = login.registration.as_ref().unwrap();
        assert_eq!(registration.call.endpoint, endpoint::REGISTER);
        assert_eq!(
            names(&registration.call),
            ["clientName", "clientType", "scopes", "grantTypes"]
        );
        let scopes = &registration.call.fields[2].1;
        assert_eq!(*scopes, TokenValue::Json(json!(SCOPES).to_string()));
        assert_eq!(
            (
                registration.client_id.as_str(),
                registration.client_secret.as_str()
            ),
            ("/clientId", "/clientSecret")
        );
        assert_eq!(
            names(&login.start),
            ["clientId", "clientSecret", "startUrl"]
        );
        assert!(
            login
                .start
                .fields
                .contains(&("startUrl".to_string(), TokenValue::Input(START_URL.into())))
        );
        assert_eq!(
            names(&login.poll),
            ["clientId", "clientSecret", "deviceCode", "grantType"]
        );
        assert_eq!(login.poll.encoding, BodyEncoding::Json);
        assert_eq!(login.pending.error_code, "/error");
        assert_eq!(login.pending.pending, ["authorization_pending"]);
        assert_eq!(
            (login.user_code.as_str(), login.device_code.as_deref()),
            ("/userCode", Some("/deviceCode"))
        );
        let refresh = idc.refresh.as_ref().unwrap();
        assert_eq!(refresh.call.endpoint, endpoint::TOKEN);
        assert!(
            refresh
                .call
                .fields
                .contains(&("grantType".to_string(), TokenValue::text("refresh_token")))
        );
        assert!(
            refresh
                .call
                .fields
                .contains(&("clientSecret".to_string(), TokenValue::ClientSecret))
        );
        let start_url = idc.inputs.iter().find(|i| i.name == START_URL).unwrap();
        assert_eq!(start_url.default.as_deref(), Some(BUILDER_ID_START_URL));
    }

    #[test]
    fn usage_limits_are_read_every_five_minutes_and_only_social_sends_its_profile() {
        for (id, with_profile) in [(SOCIAL_KIND, true), (IDC_KIND, false)] {
            let kind = kind(id);
            let [read] = kind.reads.as_slice() else {
                panic!("one read");
            };
            assert_eq!((read.name.as_str(), read.every_s), (QUOTA_READ, 300));
            assert_eq!(read.call.method, "GET");
            assert_eq!(read.call.endpoint, endpoint::USAGE);
            assert_eq!(read.call.present, Placement::Bearer);
            let fields = names(&read.call);
            assert_eq!(fields.contains(&"profileArn"), with_profile, "{id}");
            assert_eq!(&fields[..2], ["origin", "resourceType"]);
        }
    }

    #[test]
    fn endpoints_keep_the_login_region_and_the_api_region_apart() {
        let all = endpoints();
        let url = |name: &str| all.iter().find(|e| e.name == name).unwrap().url.clone();
        assert_eq!(url("base"), "https://q.{api-region}.amazonaws.com");
        assert_eq!(
            url("usage"),
            "https://q.{api-region}.amazonaws.com/getUsageLimits"
        );
        assert_eq!(
            url("refresh"),
            "https://prod.{region}.auth.desktop.kiro.dev/refreshToken"
        );
        assert_eq!(url("token"), "https://oidc.{region}.amazonaws.com/token");
        assert_eq!(
            url("register"),
            "https://oidc.{region}.amazonaws.com/client/register"
        );
        let hosts = hosts();
        for host in [
            "*.auth.desktop.kiro.dev",
            "q.eu-central-1.amazonaws.com",
            "oidc.eu-west-1.amazonaws.com",
        ] {
            assert!(hosts.iter().any(|h| h == host), "{host}");
        }
        assert!(!hosts.iter().any(|h| h == "*.amazonaws.com"));
    }

    #[test]
    fn the_api_region_is_the_fourth_part_of_the_profile_arn() {
        assert_eq!(arn_region(ARN_EU), Some("eu-central-1"));
        assert_eq!(arn_region(ARN_US), Some("us-east-1"));
        assert_eq!(arn_region("arn:aws:codewhisperer::1:profile/x"), None);
        assert_eq!(
            arn_region("arn:aws:codewhisperer:evil.com/x:1:profile/x"),
            None
        );
        assert_eq!(arn_region("not an arn"), None);
    }

    #[test]
    fn a_social_login_with_a_profile_arn_is_set_up_without_a_request() {
        let step = account_setup(setup_ctx(
            SOCIAL_KIND,
            &[
                (PROFILE_ARN, ARN_EU),
                (REGION, "us-east-1"),
                (API_REGION, "us-east-1"),
            ],
            Vec::new(),
        ))
        .unwrap();
        assert_eq!(attribute(&step, API_REGION), Some("eu-central-1"));
        assert_eq!(attribute(&step, REGION), Some("us-east-1"));
        assert_eq!(attribute(&step, PROFILE_ARN), Some(ARN_EU));
    }

    #[test]
    fn an_idc_login_lists_profiles_with_an_empty_body_and_takes_the_first() {
        let attrs = [
            (START_URL, "https://d-1234567890.awsapps.com/start"),
            (REGION, "eu-west-1"),
        ];
        let step = account_setup(setup_ctx(IDC_KIND, &attrs, Vec::new())).unwrap();
        let SetupStep::Send(first) = step else {
            panic!("asks for the profiles");
        };
        assert_eq!(first.request.method, "POST");
        assert_eq!(
            first.request.url,
            "https://q.us-east-1.amazonaws.com/ListAvailableProfiles"
        );
        assert_eq!(first.request.body, b"{}");
        // us-east-1 has none: eu-central-1 is asked next.
        let none = answer(200, r#"{"profiles":[],"nextToken":null}"#);
        let step = account_setup(setup_ctx(IDC_KIND, &attrs, vec![none.clone()])).unwrap();
        let SetupStep::Send(second) = step else {
            panic!("asks the other API region");
        };
        assert_eq!(
            second.request.url,
            "https://q.eu-central-1.amazonaws.com/ListAvailableProfiles"
        );
        let found = answer(
            200,
            &format!(r#"{{"profiles":[{{"arn":"{ARN_EU}","profileName":"KiroProfile-eu"}}]}}"#),
        );
        let step = account_setup(setup_ctx(IDC_KIND, &attrs, vec![none, found])).unwrap();
        assert_eq!(attribute(&step, PROFILE_ARN), Some(ARN_EU));
        assert_eq!(attribute(&step, API_REGION), Some("eu-central-1"));
        assert_eq!(
            attribute(&step, REGION),
            Some("eu-west-1"),
            "the login region stays"
        );
    }

    #[test]
    fn a_builder_id_without_a_profile_is_served_without_one_but_an_idc_login_fails() {
        let refused = || {
            vec![
                answer(403, r#"{"message":"User is not authorized","reason":null}"#),
                answer(200, r#"{"profiles":[]}"#),
            ]
        };
        let builder = account_setup(setup_ctx(
            IDC_KIND,
            &[(START_URL, BUILDER_ID_START_URL)],
            refused(),
        ))
        .unwrap();
        assert_eq!(attribute(&builder, PROFILE_ARN), None);
        assert_eq!(attribute(&builder, API_REGION), Some(DEFAULT_REGION));
        let enterprise = [(START_URL, "https://d-1234567890.awsapps.com/start")];
        let error = account_setup(setup_ctx(IDC_KIND, &enterprise, refused())).unwrap_err();
        assert!(
            error.message.contains("no Kiro profile"),
            "{}",
            error.message
        );
        assert!(
            error.message.contains("HTTP 403: User is not authorized"),
            "{}",
            error.message
        );
    }

    #[test]
    fn an_overridden_profiles_endpoint_is_the_only_one_asked() {
        let mut ctx = setup_ctx(SOCIAL_KIND, &[], vec![answer(200, r#"{"profiles":[]}"#)]);
        ctx.endpoints = vec![(
            endpoint::PROFILES.into(),
            "http://127.0.0.1:9/ListAvailableProfiles".into(),
        )];
        let step = account_setup(ctx).unwrap();
        assert_eq!(attribute(&step, PROFILE_ARN), None);
    }

    /// A `getUsageLimits` answer as the service sends it (KIRO FREE, 16.34 of 50 credits
    /// used, an active free trial and one active and one expired bonus).
    const USAGE: &str = r#"{
      "daysUntilReset": 12,
      "nextDateReset": 1.7672256E9,
      "subscriptionInfo": {"subscriptionTitle": "KIRO FREE", "type": "Q_DEVELOPER_STANDALONE_FREE"},
      "userInfo": {"email": "dev@example.com", "userId": "d-9067642ac7.u-1"},
      "usageBreakdownList": [{
        "resourceType": "AGENTIC_REQUEST",
        "displayName": "Credit",
        "currency": "USD",
        "usageLimit": 50,
        "usageLimitWithPrecision": 50.0,
        "currentUsage": 16,
        "currentUsageWithPrecision": 16.34,
        "nextDateReset": 1767225600,
        "freeTrialInfo": {
          "freeTrialStatus": "ACTIVE",
          "freeTrialExpiry": 1766000000,
          "usageLimit": 500,
          "usageLimitWithPrecision": 500.0,
          "currentUsage": 120,
          "currentUsageWithPrecision": 120.5
        },
        "bonuses": [
          {"usageLimit": 100, "currentUsage": 10, "status": "ACTIVE"},
          {"usageLimit": 1000, "currentUsage": 0, "status": "EXPIRED"}
        ]
      }]
    }"#;

    #[test]
    fn usage_limits_total_the_plan_an_active_trial_and_active_bonuses() {
        let facts = read_account(ReadContext::for_tests(
            SOCIAL_KIND,
            QUOTA_READ,
            USAGE.as_bytes(),
        ))
        .unwrap();
        let [window] = facts.quota.as_slice() else {
            panic!("one window");
        };
        assert_eq!(window.name, "AGENTIC_REQUEST");
        assert_eq!(window.unit, "credits");
        assert!(
            (window.used - (16.34 + 120.5 + 10.0)).abs() < 1e-9,
            "{}",
            window.used
        );
        assert_eq!(window.limit, Some(650.0));
        assert_eq!(window.resets_at, Some(1_767_225_600));
        assert_eq!(find_value(&facts.attributes, PLAN), Some("KIRO FREE"));
        assert_eq!(
            find_value(&facts.attributes, "email"),
            Some("dev@example.com")
        );
    }

    #[test]
    fn a_plain_pro_plan_reads_the_whole_numbers_and_the_top_level_reset() {
        let body = r#"{"nextDateReset": 1767225600.0,
            "subscriptionInfo": {"subscriptionTitle": "KIRO PRO"},
            "usageBreakdownList": [{"resourceType": "AGENTIC_REQUEST", "usageLimit": 1000,
                "currentUsage": 37, "freeTrialInfo": {"freeTrialStatus": "EXPIRED", "usageLimit": 500}}]}"#;
        let facts = read_account(ReadContext::for_tests(
            IDC_KIND,
            QUOTA_READ,
            body.as_bytes(),
        ))
        .unwrap();
        let window = &facts.quota[0];
        assert_eq!((window.used, window.limit), (37.0, Some(1000.0)));
        assert_eq!(window.resets_at, Some(1_767_225_600));
        assert_eq!(find_value(&facts.attributes, PLAN), Some("KIRO PRO"));
    }

    #[test]
    fn a_refused_usage_read_is_an_error_and_other_reads_find_nothing() {
        let mut ctx = ReadContext::for_tests(
            SOCIAL_KIND,
            QUOTA_READ,
            br#"{"message":"The bearer token included in the request is invalid.","reason":null}"#,
        );
        ctx.status = 403;
        let error = read_account(ctx).unwrap_err();
        assert!(error.message.contains("HTTP 403"), "{}", error.message);
        assert!(error.message.contains("bearer token"), "{}", error.message);
        let other = read_account(ReadContext::for_tests(SOCIAL_KIND, "models", b"{}")).unwrap();
        assert!(other.quota.is_empty() && other.attributes.is_empty());
    }
}
