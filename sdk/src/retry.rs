//! Retry hints: `retry-after-ms` (OpenAI, Azure) and `Retry-After` (RFC 9110: delay
//! seconds or an HTTP date).

use std::time::{SystemTime, UNIX_EPOCH};

use crate::types::find_header;

/// Milliseconds to wait according to the response headers, when they say.
/// `retry-after-ms` wins because it is the more precise of the two.
pub fn retry_after_ms(headers: &[(String, String)]) -> Option<u64> {
    if let Some(ms) =
        find_header(headers, "retry-after-ms").and_then(|value| value.trim().parse::<f64>().ok())
        && ms.is_finite()
        && ms >= 0.0
    {
        return Some(ms as u64);
    }
    let value = find_header(headers, "retry-after")?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    parse_retry_after(value, now)
}

/// Parse one `Retry-After` value into milliseconds, given the current Unix time in
/// seconds (for the date form; a date in the past means "now": 0).
pub fn parse_retry_after(value: &str, now_unix_secs: u64) -> Option<u64> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then_some((seconds * 1000.0) as u64);
    }
    let at = parse_http_date(value)?;
    Some(at.saturating_sub(now_unix_secs) * 1000)
}

/// Parse an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) into Unix seconds; the
/// obsolete forms are not accepted (no upstream of ours sends them).
pub fn parse_http_date(value: &str) -> Option<u64> {
    let rest = value
        .split_once(", ")
        .map(|(_, rest)| rest)
        .unwrap_or(value);
    let mut fields = rest.split_whitespace();
    let day: u64 = fields.next()?.parse().ok()?;
    let month = match fields.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = fields.next()?.parse().ok()?;
    let mut clock = fields
        .next()?
        .split(':')
        .map(|part| part.parse::<u64>().ok());
    let (hour, minute, second) = (clock.next()??, clock.next()??, clock.next()??);
    if fields.next()? != "GMT" || day == 0 || day > 31 || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day as i64);
    u64::try_from(days)
        .ok()
        .map(|days| days * 86_400 + hour * 3600 + minute * 60 + second)
}

/// An instant an upstream names (a quota reset): Unix seconds, fractions accepted, or
/// RFC 3339 (`T`, `t` or a space; a fraction; `Z` or an offset). Unix seconds.
pub fn parse_instant(value: &str) -> Option<f64> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then_some(seconds);
    }
    parse_rfc3339(value)
}

/// `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)` into Unix seconds.
fn parse_rfc3339(value: &str) -> Option<f64> {
    let (date, rest) = value.split_once(['T', 't', ' '])?;
    let mut ymd = date.split('-');
    let (year, month, day): (i64, i64, i64) = (
        ymd.next()?.parse().ok()?,
        ymd.next()?.parse().ok()?,
        ymd.next()?.parse().ok()?,
    );
    let (clock, offset_s) = if let Some(clock) = rest.strip_suffix(['Z', 'z']) {
        (clock, 0)
    } else {
        let at = rest.rfind(['+', '-'])?;
        let (clock, offset) = rest.split_at(at);
        let sign = if offset.starts_with('-') { -1 } else { 1 };
        let (hours, minutes) = offset[1..].split_once(':')?;
        let offset: i64 = hours.parse::<i64>().ok()? * 3600 + minutes.parse::<i64>().ok()? * 60;
        (clock, sign * offset)
    };
    let mut hms = clock.split(':');
    let (hour, minute): (i64, i64) = (hms.next()?.parse().ok()?, hms.next()?.parse().ok()?);
    let second: f64 = hms.next()?.parse().ok()?;
    if ymd.next().is_some()
        || hms.next().is_some()
        || !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || !(0.0..61.0).contains(&second)
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let at = (days * 86_400 + hour * 3600 + minute * 60 - offset_s) as f64 + second;
    (at >= 0.0).then_some(at)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let shifted_month = (month + 9) % 12;
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn delay_seconds_become_milliseconds() {
        assert_eq!(parse_retry_after("30", 0), Some(30_000));
        assert_eq!(parse_retry_after("1.5", 0), Some(1_500));
        assert_eq!(parse_retry_after("-1", 0), None);
        assert_eq!(parse_retry_after("soon", 0), None);
    }

    #[test]
    fn an_http_date_counts_from_now() {
        // 1994-11-06T08:49:37Z is Unix 784111777.
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_767),
            Some(10_000)
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_999),
            Some(0)
        );
    }

    #[test]
    fn retry_after_ms_header_wins_over_retry_after() {
        assert_eq!(
            retry_after_ms(&headers(&[
                ("Retry-After", "20"),
                ("retry-after-ms", "250")
            ])),
            Some(250)
        );
        assert_eq!(
            retry_after_ms(&headers(&[("retry-after", "2")])),
            Some(2_000)
        );
        assert_eq!(retry_after_ms(&headers(&[])), None);
    }

    #[test]
    fn an_instant_is_unix_seconds_or_rfc_3339() {
        assert_eq!(parse_instant("1796600000"), Some(1_796_600_000.0));
        assert_eq!(parse_instant("1796600000.5"), Some(1_796_600_000.5));
        assert_eq!(parse_instant("2026-12-06T22:00:00Z"), Some(1_796_594_400.0));
        assert_eq!(
            parse_instant("2026-12-06T23:00:00+01:00"),
            Some(1_796_594_400.0)
        );
        assert_eq!(
            parse_instant("2026-12-06 22:00:00.250Z"),
            Some(1_796_594_400.25)
        );
        assert_eq!(parse_instant("yesterday"), None);
        assert_eq!(parse_instant("-5"), None);
    }
}
