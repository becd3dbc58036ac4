//! Queries over the store: totals, groups, time buckets, rows; and their renderings
//! (the terminal table, CSV).

use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, params_from_iter};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::Row;

/// A column requests can be grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GroupKey {
    /// The client key's name (empty: the plain `api-keys` list).
    ClientKey,
    /// The provider entry.
    Provider,
    /// The account.
    Account,
    /// The model the client asked for.
    Model,
    /// The model asked of the upstream.
    UpstreamModel,
    /// The client's dialect.
    Dialect,
    /// The HTTP status the client got.
    Status,
}

impl GroupKey {
    /// Every key, by its name in `group-by`.
    const ALL: [(&'static str, GroupKey); 7] = [
        ("client-key", GroupKey::ClientKey),
        ("provider", GroupKey::Provider),
        ("account", GroupKey::Account),
        ("model", GroupKey::Model),
        ("upstream-model", GroupKey::UpstreamModel),
        ("dialect", GroupKey::Dialect),
        ("status", GroupKey::Status),
    ];

    /// Its name in `group-by` and in reports.
    pub fn name(self) -> &'static str {
        GroupKey::ALL
            .iter()
            .find(|(_, key)| *key == self)
            .map(|(name, _)| *name)
            .unwrap_or("?")
    }

    fn column(self) -> &'static str {
        match self {
            GroupKey::ClientKey => "client_key",
            GroupKey::Provider => "provider",
            GroupKey::Account => "account",
            GroupKey::Model => "model",
            GroupKey::UpstreamModel => "upstream_model",
            GroupKey::Dialect => "dialect",
            GroupKey::Status => "status",
        }
    }

    /// Parse `client-key,provider,...` (spaces allowed; `client_key` too).
    pub fn parse_list(text: &str) -> Result<Vec<GroupKey>, String> {
        let mut keys = Vec::new();
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let normal = name.replace('_', "-").to_ascii_lowercase();
            let key = GroupKey::ALL
                .iter()
                .find(|(known, _)| *known == normal)
                .map(|(_, key)| *key)
                .ok_or_else(|| {
                    let known: Vec<_> = GroupKey::ALL.iter().map(|(n, _)| *n).collect();
                    format!(
                        "cannot group by `{name}`: one of {} (comma-separated)",
                        known.join(", ")
                    )
                })?;
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        Ok(keys)
    }
}

/// A time series step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Bucket {
    /// Minutes (requests per minute, for the last hour or so).
    Minute,
    /// UTC hours.
    Hour,
    /// UTC days.
    Day,
}

impl Bucket {
    /// `minute`, `hour` or `day`.
    pub fn parse(text: &str) -> Result<Bucket, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "minute" => Ok(Bucket::Minute),
            "hour" => Ok(Bucket::Hour),
            "day" => Ok(Bucket::Day),
            other => Err(format!(
                "bucket `{other}` is not one of `minute`, `hour`, `day`"
            )),
        }
    }

    fn millis(self) -> i64 {
        match self {
            Bucket::Minute => 60_000,
            Bucket::Hour => 3_600_000,
            Bucket::Day => 86_400_000,
        }
    }
}

/// What to report: a time range (`from` inclusive, `to` exclusive, Unix ms), groups
/// and an optional time bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Earliest arrival included, Unix milliseconds.
    pub from_ms: Option<i64>,
    /// Arrivals before this, Unix milliseconds.
    pub to_ms: Option<i64>,
    /// Group by these columns, in this order.
    pub group_by: Vec<GroupKey>,
    /// And by this time step.
    pub bucket: Option<Bucket>,
}

impl Query {
    /// The query the management API's parameters say: `group-by` (comma-separated
    /// names), `from` / `to` (RFC 3339 or Unix seconds), `bucket` (`minute`, `hour`, `day`). The
    /// error names the parameter and what it accepts.
    pub fn from_params(
        group_by: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
        bucket: Option<&str>,
    ) -> Result<Query, String> {
        Ok(Query {
            group_by: group_by
                .map(GroupKey::parse_list)
                .transpose()?
                .unwrap_or_default(),
            from_ms: from
                .map(|t| parse_instant(t).map_err(|e| format!("from: {e}")))
                .transpose()?,
            to_ms: to
                .map(|t| parse_instant(t).map_err(|e| format!("to: {e}")))
                .transpose()?,
            bucket: bucket.map(Bucket::parse).transpose()?,
        })
    }

    fn range_sql(&self) -> (String, Vec<i64>) {
        let mut clauses = Vec::new();
        let mut values = Vec::new();
        if let Some(from) = self.from_ms {
            clauses.push("time_ms >= ?");
            values.push(from);
        }
        if let Some(to) = self.to_ms {
            clauses.push("time_ms < ?");
            values.push(to);
        }
        if clauses.is_empty() {
            (String::new(), values)
        } else {
            (format!(" WHERE {}", clauses.join(" AND ")), values)
        }
    }
}

/// An instant: RFC 3339 (`2026-12-07T00:00:00Z`) or Unix seconds; as Unix ms.
pub fn parse_instant(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<i64>() {
        return Ok(seconds.saturating_mul(1000));
    }
    OffsetDateTime::parse(text, &Rfc3339)
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
        .map_err(|_| format!("`{text}` is neither RFC 3339 nor Unix seconds"))
}

/// `--since`: an instant ([`parse_instant`]) or an age back from now: `90m`, `24h`,
/// `7d`, `30s`.
pub fn parse_since(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let unit = text.chars().last().unwrap_or(' ');
    let seconds_per = match unit {
        's' => Some(1),
        'm' => Some(60),
        'h' => Some(3600),
        'd' => Some(86_400),
        _ => None,
    };
    if let (Some(per), Ok(count)) = (seconds_per, text[..text.len() - 1].parse::<u64>()) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let since = now.saturating_sub(Duration::from_secs(count.saturating_mul(per)));
        return Ok(since.as_millis() as i64);
    }
    parse_instant(text)
        .map_err(|_| format!("`{text}` is none of: an age (30m, 24h, 7d), RFC 3339, Unix seconds"))
}

/// Sums over some requests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Requests.
    pub requests: u64,
    /// Requests answered with a status of 400 or more, or whose stream failed or was
    /// left by the client.
    pub errors: u64,
    /// Prompt tokens (cached included).
    pub input_tokens: u64,
    /// Generated tokens (reasoning included).
    pub output_tokens: u64,
    /// Prompt tokens read from cache.
    pub cache_read_tokens: u64,
    /// Prompt tokens written to cache.
    pub cache_write_tokens: u64,
    /// Reasoning tokens.
    pub reasoning_tokens: u64,
    /// Mean time from arrival to the answer's end, milliseconds (`None`: no request).
    pub latency_ms_avg: Option<u64>,
    /// Mean time to the first streamed token, milliseconds, over the streamed requests
    /// that had one (`None`: none did).
    pub ttft_ms_avg: Option<u64>,
}

/// One group (and bucket) of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    /// The group's value for each `group-by` key, in order (`status` as its number in
    /// text); in JSON, an object from key name to value.
    #[serde(serialize_with = "key_as_map")]
    pub key: Vec<(GroupKey, String)>,
    /// The bucket's start (RFC 3339, UTC) when the query has a bucket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    /// Its sums.
    #[serde(flatten)]
    pub totals: Totals,
}

fn key_as_map<S: serde::Serializer>(
    key: &[(GroupKey, String)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = serializer.serialize_map(Some(key.len()))?;
    for (name, value) in key {
        map.serialize_entry(name.name(), value)?;
    }
    map.end()
}

/// A report: the query's range, its totals, and its groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// From (RFC 3339), when bounded.
    pub from: Option<String>,
    /// To (RFC 3339), when bounded.
    pub to: Option<String>,
    /// The grouping asked for.
    pub group_by: Vec<GroupKey>,
    /// The bucket asked for.
    pub bucket: Option<Bucket>,
    /// Over the whole range.
    pub total: Totals,
    /// Per group and bucket (empty without either), largest request count first
    /// (time order with a bucket).
    pub groups: Vec<Group>,
}

const SUMS: &str = "COUNT(*), \
    SUM(CASE WHEN status >= 400 OR error != '' THEN 1 ELSE 0 END), \
    COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0), \
    COALESCE(SUM(cache_read_tokens), 0), COALESCE(SUM(cache_write_tokens), 0), \
    COALESCE(SUM(reasoning_tokens), 0), \
    CAST(ROUND(AVG(latency_ms)) AS INTEGER), CAST(ROUND(AVG(ttft_ms)) AS INTEGER)";

fn totals_at(row: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<Totals> {
    let get = |i: usize| -> rusqlite::Result<u64> {
        Ok(row.get::<_, Option<i64>>(first + i)?.unwrap_or(0).max(0) as u64)
    };
    Ok(Totals {
        requests: get(0)?,
        errors: get(1)?,
        input_tokens: get(2)?,
        output_tokens: get(3)?,
        cache_read_tokens: get(4)?,
        cache_write_tokens: get(5)?,
        reasoning_tokens: get(6)?,
        latency_ms_avg: row
            .get::<_, Option<i64>>(first + 7)?
            .map(|v| v.max(0) as u64),
        ttft_ms_avg: row
            .get::<_, Option<i64>>(first + 8)?
            .map(|v| v.max(0) as u64),
    })
}

/// See [`super::UsageReader::report`].
pub(super) fn report(conn: &Connection, query: &Query) -> anyhow::Result<Report> {
    let (range, values) = query.range_sql();
    let total = conn.query_row(
        &format!("SELECT {SUMS} FROM requests{range}"),
        params_from_iter(values.iter()),
        |row| totals_at(row, 0),
    )?;
    let mut groups = Vec::new();
    if !query.group_by.is_empty() || query.bucket.is_some() {
        let mut columns: Vec<String> = query
            .group_by
            .iter()
            .map(|key| format!("CAST({} AS TEXT)", key.column()))
            .collect();
        if let Some(bucket) = query.bucket {
            let step = bucket.millis();
            columns.push(format!("(time_ms / {step}) * {step}"));
        }
        let listed = columns.join(", ");
        let order = if query.bucket.is_some() {
            format!("{}, COUNT(*) DESC", columns.len())
        } else {
            "COUNT(*) DESC".to_owned()
        };
        let positions: Vec<String> = (1..=columns.len()).map(|i| i.to_string()).collect();
        let sql = format!(
            "SELECT {listed}, {SUMS} FROM requests{range} GROUP BY {} ORDER BY {order}, {}",
            positions.join(", "),
            positions.join(", ")
        );
        let mut statement = conn.prepare(&sql)?;
        let keys = query.group_by.clone();
        let bucketed = query.bucket.is_some();
        let mapped = statement.query_map(params_from_iter(values.iter()), |row| {
            let mut key = Vec::new();
            for (i, name) in keys.iter().enumerate() {
                key.push((*name, row.get::<_, String>(i)?));
            }
            let bucket = if bucketed {
                Some(rfc3339(row.get::<_, i64>(keys.len())?))
            } else {
                None
            };
            Ok(Group {
                key,
                bucket,
                totals: totals_at(row, columns.len())?,
            })
        })?;
        for group in mapped {
            groups.push(group?);
        }
    }
    Ok(Report {
        from: query.from_ms.map(rfc3339),
        to: query.to_ms.map(rfc3339),
        group_by: query.group_by.clone(),
        bucket: query.bucket,
        total,
        groups,
    })
}

/// See [`super::UsageReader::rows`].
pub(super) fn rows(conn: &Connection, query: &Query) -> anyhow::Result<Vec<Row>> {
    let (range, values) = query.range_sql();
    let mut statement = conn.prepare(&format!(
        "SELECT time_ms, client_key, provider, adapter, account, model, upstream_model,
            dialect, stream, status, error, attempts, latency_ms, ttft_ms, input_tokens,
            output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens
         FROM requests{range} ORDER BY time_ms, id"
    ))?;
    let unsigned = |value: Option<i64>| value.map(|v| v.max(0) as u64);
    let mapped = statement.query_map(params_from_iter(values.iter()), |row| {
        Ok(Row {
            time_ms: row.get(0)?,
            client_key: row.get(1)?,
            provider: row.get(2)?,
            adapter: row.get(3)?,
            account: row.get(4)?,
            model: row.get(5)?,
            upstream_model: row.get(6)?,
            dialect: row.get(7)?,
            stream: row.get(8)?,
            status: row.get(9)?,
            error: row.get(10)?,
            attempts: row.get(11)?,
            latency_ms: row.get::<_, i64>(12)?.max(0) as u64,
            ttft_ms: unsigned(row.get(13)?),
            input_tokens: unsigned(row.get(14)?),
            output_tokens: unsigned(row.get(15)?),
            cache_read_tokens: unsigned(row.get(16)?),
            cache_write_tokens: unsigned(row.get(17)?),
            reasoning_tokens: unsigned(row.get(18)?),
        })
    })?;
    Ok(mapped.collect::<Result<_, _>>()?)
}

/// Unix ms as RFC 3339 (UTC, milliseconds).
fn rfc3339(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| ms.to_string())
}

/// The CSV export: a header line, then one line per row (RFC 4180 quoting; `time`
/// in RFC 3339, absent counts empty).
pub fn rows_to_csv(rows: &[Row]) -> String {
    let mut out = String::from(
        "time,client_key,provider,adapter,account,model,upstream_model,dialect,stream,status,\
         error,attempts,latency_ms,ttft_ms,input_tokens,output_tokens,cache_read_tokens,\
         cache_write_tokens,reasoning_tokens\r\n",
    );
    let opt = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
    for row in rows {
        let fields = [
            rfc3339(row.time_ms),
            row.client_key.clone(),
            row.provider.clone(),
            row.adapter.clone(),
            row.account.clone(),
            row.model.clone(),
            row.upstream_model.clone(),
            row.dialect.clone(),
            row.stream.to_string(),
            row.status.to_string(),
            row.error.clone(),
            row.attempts.to_string(),
            row.latency_ms.to_string(),
            opt(row.ttft_ms),
            opt(row.input_tokens),
            opt(row.output_tokens),
            opt(row.cache_read_tokens),
            opt(row.cache_write_tokens),
            opt(row.reasoning_tokens),
        ];
        let quoted: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&quoted.join(","));
        out.push_str("\r\n");
    }
    out
}

fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

/// A report as a terminal table: one line per group (or bucket), then the total.
pub fn summary_table(report: &Report) -> String {
    let mut header: Vec<String> = report
        .group_by
        .iter()
        .map(|k| k.name().to_owned())
        .collect();
    if report.bucket.is_some() {
        header.push("bucket".into());
    }
    for name in [
        "requests",
        "errors",
        "input",
        "output",
        "cache-read",
        "cache-write",
        "reasoning",
    ] {
        header.push(name.into());
    }
    let numbers = |t: &Totals| {
        [
            t.requests,
            t.errors,
            t.input_tokens,
            t.output_tokens,
            t.cache_read_tokens,
            t.cache_write_tokens,
            t.reasoning_tokens,
        ]
        .map(|n| n.to_string())
    };
    let mut lines: Vec<Vec<String>> = Vec::new();
    for group in &report.groups {
        let mut line: Vec<String> = group
            .key
            .iter()
            .map(|(_, value)| {
                if value.is_empty() {
                    "-".to_owned()
                } else {
                    value.clone()
                }
            })
            .collect();
        if let Some(bucket) = &group.bucket {
            line.push(bucket.clone());
        }
        line.extend(numbers(&group.totals));
        lines.push(line);
    }
    let labels = header.len() - 7;
    let mut total: Vec<String> = (0..labels)
        .map(|i| {
            if i == 0 {
                "TOTAL".to_owned()
            } else {
                String::new()
            }
        })
        .collect();
    total.extend(numbers(&report.total));
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            std::iter::once(&header)
                .chain(lines.iter())
                .chain(std::iter::once(&total))
                .map(|line| line[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let write_line = |out: &mut String, line: &[String]| {
        let cells: Vec<String> = line
            .iter()
            .enumerate()
            .map(|(i, cell)| {
                if i < labels {
                    format!("{cell:<width$}", width = widths[i])
                } else {
                    format!("{cell:>width$}", width = widths[i])
                }
            })
            .collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    };
    let range = match (&report.from, &report.to) {
        (Some(from), Some(to)) => format!("from {from} to {to}"),
        (Some(from), None) => format!("since {from}"),
        (None, Some(to)) => format!("until {to}"),
        (None, None) => "all time".to_owned(),
    };
    let mut out = format!("usage, {range}\n");
    write_line(&mut out, &header);
    for line in &lines {
        write_line(&mut out, line);
    }
    write_line(&mut out, &total);
    out
}
