//! Reading an account's facts from the answers of its two reads (the host makes the
//! calls, on a schedule and on demand, and hands only the answers here):
//!
//! - `quota`: `GET https://api.github.com/copilot_internal/user` with the GitHub token.
//!   Paid plans answer `quota_snapshots: {chat, completions, premium_interactions}`,
//!   each `{entitlement, remaining, unlimited, percent_remaining, ...}`, and
//!   `quota_reset_date`; free ones the older `limited_user_quotas` (remaining) and
//!   `monthly_quotas` (totals) with `limited_user_reset_date`. `copilot_plan` becomes
//!   the account attribute `plan`.
//! - `models`: `GET {api base}/models` with the Copilot token: `data[]` with `id`,
//!   `name`, `capabilities.{type, limits}` and `supported_endpoints` (the routes).

use plugboard_sdk::prelude::*;

/// The quota read's name.
pub const QUOTA: &str = "quota";
/// The models read's name.
pub const MODELS: &str = "models";
/// The account attribute holding the Copilot plan (`individual`, `business`, `free`...).
pub const PLAN: &str = "plan";
/// The quota windows a paid plan reports, in the order they are listed.
pub const SNAPSHOTS: [&str; 3] = ["premium_interactions", "chat", "completions"];
/// What every Copilot quota counts.
pub const UNIT: &str = "requests";

/// Read the answer of read `ctx.read`.
pub fn read(ctx: &ReadContext) -> Result<AccountFacts, AdapterError> {
    if !(200..300).contains(&ctx.status) {
        let body = String::from_utf8_lossy(&ctx.body);
        let excerpt: String = body.chars().take(200).collect();
        return Err(AdapterError::upstream(format!(
            "the Copilot `{}` read answered {}: {excerpt}",
            ctx.read, ctx.status
        )));
    }
    let body = ctx.json()?;
    match ctx.read.as_str() {
        QUOTA => Ok(quota(&body)),
        MODELS => Ok(AccountFacts {
            models: models(&body),
            ..AccountFacts::default()
        }),
        other => Err(AdapterError::internal(format!(
            "the copilot adapter declares no read named `{other}`"
        ))),
    }
}

/// The facts of a `copilot_internal/user` answer.
pub fn quota(body: &Value) -> AccountFacts {
    let mut facts = AccountFacts::default();
    if let Some(plan) = body.get("copilot_plan").and_then(Value::as_str) {
        facts.attributes.push((PLAN.into(), plan.into()));
    }
    let reset = [
        "quota_reset_date_utc",
        "quota_reset_date",
        "limited_user_reset_date",
    ]
    .iter()
    .find_map(|key| {
        body.get(*key)
            .and_then(Value::as_str)
            .and_then(unix_seconds)
    });
    let with_reset = |window: QuotaWindow| match reset {
        Some(at) => window.resets_at(at),
        None => window,
    };
    if let Some(snapshots) = body.get("quota_snapshots").and_then(Value::as_object) {
        for name in SNAPSHOTS {
            if let Some(window) = snapshots.get(name).and_then(|s| snapshot(name, s)) {
                facts.quota.push(with_reset(window));
            }
        }
    } else if let (Some(left), Some(total)) = (
        body.get("limited_user_quotas").and_then(Value::as_object),
        body.get("monthly_quotas").and_then(Value::as_object),
    ) {
        for name in ["chat", "completions"] {
            if let (Some(remaining), Some(limit)) = (
                left.get(name).and_then(Value::as_f64),
                total.get(name).and_then(Value::as_f64),
            ) {
                let window = QuotaWindow::new(name, UNIT, limit - remaining, Some(limit));
                facts.quota.push(with_reset(window));
            }
        }
    }
    facts
}

/// One snapshot as a window: unlimited ones have no limit; otherwise the entitlement
/// is the limit and what is not remaining is used (`remaining` may be negative:
/// overage). A snapshot that says neither is skipped.
fn snapshot(name: &str, snapshot: &Value) -> Option<QuotaWindow> {
    let number = |key: &str| snapshot.get(key).and_then(Value::as_f64);
    if snapshot.get("unlimited").and_then(Value::as_bool) == Some(true) {
        return Some(QuotaWindow::new(name, UNIT, 0.0, None));
    }
    let limit = number("entitlement")?;
    let remaining = number("remaining")
        .or_else(|| number("quota_remaining"))
        .or_else(|| number("percent_remaining").map(|percent| limit * percent / 100.0))?;
    Some(QuotaWindow::new(name, UNIT, limit - remaining, Some(limit)))
}

/// The chat models of a `/models` answer. Embedding models are left out (they serve no
/// chat route). The context window is `max_prompt_tokens` (Copilot's hard input
/// limit) when given, else `max_context_window_tokens`.
pub fn models(body: &Value) -> Vec<ModelInfo> {
    let Some(data) = body.get("data").and_then(Value::as_array) else {
        return Vec::new();
    };
    data.iter()
        .filter_map(|model| {
            let id = model.get("id").and_then(Value::as_str)?;
            let capabilities = model.get("capabilities");
            let kind = capabilities
                .and_then(|c| c.get("type"))
                .and_then(Value::as_str);
            if kind.is_some_and(|kind| kind != "chat") {
                return None;
            }
            let limits = capabilities.and_then(|c| c.get("limits"));
            let limit = |key: &str| {
                limits
                    .and_then(|l| l.get(key))
                    .and_then(Value::as_u64)
                    .and_then(|n| u32::try_from(n).ok())
            };
            let mut info = ModelInfo::new(id);
            info.display_name = model.get("name").and_then(Value::as_str).map(str::to_owned);
            info.context_window =
                limit("max_prompt_tokens").or_else(|| limit("max_context_window_tokens"));
            info.max_output_tokens = limit("max_output_tokens");
            let routes = model.get("supported_endpoints").and_then(Value::as_array);
            for route in routes.into_iter().flatten().filter_map(Value::as_str) {
                info = info.route(route);
            }
            Some(info)
        })
        .collect()
}

/// Unix seconds of `2026-01-01`, `2026-01-01T00:00:00Z` or `...T00:00:00.000+00:00`
/// (a date alone is its midnight UTC; an offset is applied).
pub fn unix_seconds(text: &str) -> Option<u64> {
    let text = text.trim();
    let (date, time) = match text.split_once(['T', ' ']) {
        Some((date, time)) => (date, Some(time)),
        None => (text, None),
    };
    let mut fields = date.split('-').map(|n| n.parse::<i64>().ok());
    let (year, month, day) = (fields.next()??, fields.next()??, fields.next()??);
    if fields.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let mut seconds = days_from_civil(year, month, day) * 86_400;
    if let Some(time) = time {
        let (clock, offset) = split_offset(time)?;
        let mut parts = clock.split(':');
        let hours: i64 = parts.next()?.parse().ok()?;
        let minutes: i64 = parts.next()?.parse().ok()?;
        let secs: i64 = match parts.next() {
            Some(s) => s.split('.').next()?.parse().ok()?,
            None => 0,
        };
        seconds += hours * 3600 + minutes * 60 + secs - offset;
    }
    u64::try_from(seconds).ok()
}

/// A time of day and its UTC offset in seconds (`Z` or none: 0).
fn split_offset(time: &str) -> Option<(&str, i64)> {
    if let Some(clock) = time.strip_suffix('Z') {
        return Some((clock, 0));
    }
    match time.rfind(['+', '-']) {
        Some(at) => {
            let (clock, offset) = time.split_at(at);
            let sign = if offset.starts_with('-') { -1 } else { 1 };
            let (h, m) = offset[1..].split_once(':').unwrap_or((&offset[1..], "0"));
            let offset = h.parse::<i64>().ok()? * 3600 + m.parse::<i64>().ok()? * 60;
            Some((clock, sign * offset))
        }
        None => Some((time, 0)),
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}
