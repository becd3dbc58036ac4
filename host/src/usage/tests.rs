//! The store on its own: rows written in batches come back summed per group and
//! bucket, survive a reopen, export as CSV, and age out past retention.

use std::time::{Duration, Instant};

use super::*;

fn row(
    time_ms: i64,
    key: &str,
    provider: &str,
    model: &str,
    status: u16,
    tokens: (u64, u64),
) -> Row {
    Row {
        time_ms,
        client_key: key.into(),
        provider: provider.into(),
        adapter: "openai".into(),
        account: format!("{provider}#1"),
        model: model.into(),
        upstream_model: model.into(),
        dialect: "openai-chat".into(),
        stream: false,
        status,
        error: if status >= 400 {
            "rate_limited".into()
        } else {
            String::new()
        },
        attempts: 1,
        latency_ms: 12,
        ttft_ms: None,
        input_tokens: (status < 400).then_some(tokens.0),
        output_tokens: (status < 400).then_some(tokens.1),
        cache_read_tokens: None,
        cache_write_tokens: None,
        reasoning_tokens: None,
    }
}

/// Wait (bounded) until the store holds `count` rows.
fn wait_for_rows(reader: &UsageReader, count: u64) -> Report {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(report) = reader.report(&Query::default())
            && report.total.requests == count
        {
            return report;
        }
        assert!(
            Instant::now() < deadline,
            "the store never held {count} rows"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

const HOUR: i64 = 3_600_000;
const T0: i64 = 1_796_000_000_000 - (1_796_000_000_000 % (24 * HOUR)); // a UTC midnight

#[test]
fn a_teams_day_sums_per_key_provider_and_status_and_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("usage.db");
    let writer = UsageWriter::start(&path, 100_000).unwrap();
    let rows = [
        row(T0 + 10, "alice", "openai", "gpt-4o", 200, (10, 5)),
        row(T0 + 20, "alice", "anthropic", "claude", 200, (7, 3)),
        row(T0 + HOUR + 5, "bob", "openai", "gpt-4o", 200, (100, 50)),
        row(T0 + HOUR + 6, "bob", "openai", "gpt-4o", 429, (0, 0)),
        row(T0 + 2 * HOUR, "", "openai", "gpt-4o-mini", 200, (1, 1)),
    ];
    for r in &rows {
        assert!(writer.send(r.clone()));
    }
    let reader = UsageReader::new(&path);
    // Committed within the batch window, without a close.
    let report = wait_for_rows(&reader, 5);
    assert_eq!(report.total.input_tokens, 118);
    assert_eq!(report.total.output_tokens, 59);
    assert_eq!(report.total.errors, 1);
    writer.close();

    // Reopened (a restart): the same rows.
    let writer = UsageWriter::start(&path, 100_000).unwrap();
    let by_key = reader
        .report(&Query::from_params(Some("client-key,status"), None, None, None).unwrap())
        .unwrap();
    let find = |key: &str, status: &str| {
        by_key
            .groups
            .iter()
            .find(|g| {
                g.key
                    == vec![
                        (GroupKey::ClientKey, key.into()),
                        (GroupKey::Status, status.into()),
                    ]
            })
            .map(|g| g.totals.clone())
            .unwrap_or_else(|| panic!("no group {key}/{status}: {by_key:?}"))
    };
    assert_eq!(find("alice", "200").requests, 2);
    assert_eq!(find("alice", "200").input_tokens, 17);
    assert_eq!(find("bob", "200").output_tokens, 50);
    assert_eq!(find("bob", "429").requests, 1);
    assert_eq!(find("bob", "429").input_tokens, 0);
    assert_eq!(find("", "200").requests, 1);
    let sum: u64 = by_key.groups.iter().map(|g| g.totals.input_tokens).sum();
    assert_eq!(sum, by_key.total.input_tokens);

    // A range and an hourly series.
    let second_hour = reader
        .report(
            &Query::from_params(
                Some("provider"),
                Some(&((T0 + HOUR) / 1000).to_string()),
                Some(&((T0 + 2 * HOUR) / 1000).to_string()),
                Some("hour"),
            )
            .unwrap(),
        )
        .unwrap();
    assert_eq!(second_hour.total.requests, 2);
    assert_eq!(second_hour.groups.len(), 1);
    assert_eq!(second_hour.groups[0].totals.input_tokens, 100);
    let bucket = second_hour.groups[0].bucket.as_deref().unwrap();
    assert_eq!(parse_instant(bucket).unwrap(), T0 + HOUR);
    let daily = reader
        .report(&Query::from_params(None, None, None, Some("day")).unwrap())
        .unwrap();
    assert_eq!(daily.groups.len(), 1);
    assert_eq!(daily.groups[0].totals.requests, 5);

    // The JSON names each key.
    let json = serde_json::to_value(&by_key).unwrap();
    assert_eq!(json["groups"][0]["key"]["client-key"], "alice"); // the most requests first
    assert_eq!(json["total"]["requests"], 5);

    // The export: every row, parsed back field by field.
    let exported = reader.rows(&Query::default()).unwrap();
    assert_eq!(exported, rows);
    let csv = rows_to_csv(&exported);
    let lines: Vec<&str> = csv.trim_end().split("\r\n").collect();
    assert_eq!(lines.len(), 6);
    let header: Vec<&str> = lines[0].split(',').collect();
    let bob_429: Vec<&str> = lines[4].split(',').collect();
    assert_eq!(header.len(), bob_429.len());
    let field = |name: &str| bob_429[header.iter().position(|h| *h == name).unwrap()];
    assert_eq!(field("client_key"), "bob");
    assert_eq!(field("status"), "429");
    assert_eq!(field("input_tokens"), "");
    writer.close();
}

#[test]
fn the_summary_table_lists_each_group_and_the_total() {
    let report = Report {
        from: None,
        to: None,
        group_by: vec![GroupKey::Provider],
        bucket: None,
        total: Totals {
            requests: 3,
            input_tokens: 30,
            ..Totals::default()
        },
        groups: vec![
            Group {
                key: vec![(GroupKey::Provider, "openai".into())],
                bucket: None,
                totals: Totals {
                    requests: 2,
                    input_tokens: 20,
                    ..Totals::default()
                },
            },
            Group {
                key: vec![(GroupKey::Provider, String::new())],
                bucket: None,
                totals: Totals {
                    requests: 1,
                    input_tokens: 10,
                    ..Totals::default()
                },
            },
        ],
    };
    let table = summary_table(&report);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines[0], "usage, all time");
    assert!(
        lines[1].starts_with("provider") && lines[1].contains("requests"),
        "{table}"
    );
    assert!(
        lines[2].starts_with("openai") && lines[2].contains("20"),
        "{table}"
    );
    assert!(lines[3].starts_with('-'), "{table}");
    assert!(
        lines[4].starts_with("TOTAL") && lines[4].contains("30"),
        "{table}"
    );
}

#[test]
fn rows_past_retention_are_pruned() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usage.db");
    let writer = UsageWriter::start(&path, 1).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    writer.send(row(now - 3 * 86_400_000, "old", "p", "m", 200, (1, 1)));
    writer.send(row(now, "new", "p", "m", 200, (2, 2)));
    writer.close();
    writer::prune_now(&path, Duration::from_secs(86_400));
    let rows = UsageReader::new(&path).rows(&Query::default()).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].client_key, "new");
}

#[test]
fn query_words_are_checked_with_the_accepted_forms() {
    assert!(GroupKey::parse_list("provider, client_key").is_ok());
    let wrong = GroupKey::parse_list("provider,colour").unwrap_err();
    assert!(
        wrong.contains("colour") && wrong.contains("client-key"),
        "{wrong}"
    );
    assert_eq!(parse_instant("1970-01-01T00:00:10Z").unwrap(), 10_000);
    assert_eq!(parse_instant("10").unwrap(), 10_000);
    assert!(
        Query::from_params(None, Some("yesterday"), None, None)
            .unwrap_err()
            .starts_with("from:")
    );
    assert!(Bucket::parse("week").is_err());
    assert_eq!(Bucket::parse("minute"), Ok(Bucket::Minute));
    let day_ago = parse_since("1d").unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert!((now - day_ago - 86_400_000).abs() < 60_000);
}

#[test]
fn a_minute_series_carries_mean_latency_and_time_to_first_token() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usage.db");
    let writer = UsageWriter::start(&path, 100_000).unwrap();
    let streamed = |time_ms, latency_ms, ttft_ms| Row {
        stream: true,
        latency_ms,
        ttft_ms: Some(ttft_ms),
        ..row(time_ms, "alice", "openai", "gpt-4o", 200, (10, 5))
    };
    let rows = [
        // The first minute: a streamed request and a plain one.
        streamed(T0 + 1_000, 300, 100),
        Row {
            latency_ms: 100,
            ..row(T0 + 2_000, "alice", "openai", "gpt-4o", 200, (1, 1))
        },
        // The third minute: two streamed requests.
        streamed(T0 + 2 * 60_000 + 5, 1_000, 200),
        streamed(T0 + 2 * 60_000 + 6, 2_000, 401),
    ];
    for r in &rows {
        assert!(writer.send(r.clone()));
    }
    let reader = UsageReader::new(&path);
    let all = wait_for_rows(&reader, 4);
    assert_eq!(all.total.latency_ms_avg, Some(850));
    // Only the streamed requests have a first token: (100 + 200 + 401) / 3.
    assert_eq!(all.total.ttft_ms_avg, Some(234));

    let per_minute = reader
        .report(&Query::from_params(Some("provider"), None, None, Some("minute")).unwrap())
        .unwrap();
    let minutes: Vec<(i64, u64, Option<u64>, Option<u64>)> = per_minute
        .groups
        .iter()
        .map(|g| {
            (
                parse_instant(g.bucket.as_deref().unwrap()).unwrap() - T0,
                g.totals.requests,
                g.totals.latency_ms_avg,
                g.totals.ttft_ms_avg,
            )
        })
        .collect();
    assert_eq!(
        minutes,
        vec![
            (0, 2, Some(200), Some(100)),
            (2 * 60_000, 2, Some(1_500), Some(301)),
        ]
    );
    // In JSON, beside the sums.
    let json = serde_json::to_value(&per_minute).unwrap();
    assert_eq!(json["bucket"], "minute");
    assert_eq!(json["groups"][1]["latency_ms_avg"], 1500);
    assert_eq!(json["groups"][0]["ttft_ms_avg"], 100);

    // No request, no mean.
    let empty = reader
        .report(
            &Query::from_params(None, Some(&((T0 + HOUR) / 1000).to_string()), None, None).unwrap(),
        )
        .unwrap();
    assert_eq!(empty.total.requests, 0);
    assert_eq!(empty.total.latency_ms_avg, None);
    writer.close();
}

#[test]
fn the_quota_seed_counts_what_the_key_s_limits_admitted_since_a_moment() {
    use crate::governance::{QuotaSeed, Totals as QuotaTotals};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usage.db");
    let writer = UsageWriter::start(&path, 100_000).unwrap();
    let refused = |code: &str| Row {
        status: 429,
        error: code.into(),
        attempts: 0,
        ..row(T0 + 50, "alice", "", "gpt-4o", 429, (0, 0))
    };
    let undecoded = Row {
        model: String::new(),
        status: 400,
        attempts: 0,
        ..row(T0 + 60, "alice", "", "", 400, (0, 0))
    };
    let rows = [
        row(T0 - HOUR, "alice", "openai", "gpt-4o", 200, (1000, 1000)), // before
        row(T0 + 10, "alice", "openai", "gpt-4o", 200, (10, 5)),
        row(T0 + 20, "alice", "openai", "gpt-4o", 429, (0, 0)), // upstream's 429: admitted
        refused(crate::governance::REFUSED_RATE),
        refused(crate::governance::REFUSED_QUOTA),
        refused(crate::governance::REFUSED_MODEL),
        // Admitted, then every account was resting: counted, as the counters did.
        refused("rate_limit_exceeded"),
        undecoded,
        row(T0 + 30, "bob", "openai", "gpt-4o", 200, (7, 3)),
        row(T0 + 40, "", "openai", "gpt-4o", 200, (1, 1)), // a plain api-key
    ];
    for r in &rows {
        assert!(writer.send(r.clone()));
    }
    let reader = UsageReader::new(&path);
    wait_for_rows(&reader, rows.len() as u64);
    let since = time::OffsetDateTime::from_unix_timestamp(T0 / 1000).unwrap();
    let mut seeded = reader.totals_since(since).unwrap();
    seeded.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        seeded,
        vec![
            (
                "alice".to_owned(),
                QuotaTotals {
                    requests: 3,
                    tokens: 15
                }
            ),
            (
                "bob".to_owned(),
                QuotaTotals {
                    requests: 1,
                    tokens: 10
                }
            ),
        ]
    );
    writer.close();
}

/// Niceness of a thread's `stat` text (field 19: after the `(comm)` field, index 16).
#[cfg(target_os = "linux")]
fn niceness(stat: &str) -> i64 {
    let (_, after) = stat.rsplit_once(')').expect("a stat line");
    after
        .split_whitespace()
        .nth(16)
        .expect("field 19")
        .parse()
        .expect("a number")
}

/// Niceness of each of this process's threads named `name`.
#[cfg(target_os = "linux")]
fn niceness_of_threads(name: &str) -> Vec<i64> {
    let mut found = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim() == name
            && let Ok(stat) = std::fs::read_to_string(task.path().join("stat"))
        {
            found.push(niceness(&stat));
        }
    }
    found
}

#[cfg(target_os = "linux")]
#[test]
fn the_writer_thread_gives_way_to_requests() {
    // Threads start at their creator's niceness: the writer should end at 10, or
    // stay where it started if the test runs nicer than that.
    let own = niceness(&std::fs::read_to_string("/proc/thread-self/stat").unwrap());
    let wanted = own.max(i64::from(super::writer::WRITER_NICE));
    let dir = tempfile::tempdir().unwrap();
    let writer = UsageWriter::start(&dir.path().join("usage.db"), 1).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let nice = niceness_of_threads("usage-writer");
        if !nice.is_empty() && nice.iter().all(|n| *n == wanted) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the writer's niceness stayed at {nice:?}, not {wanted}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // The thread that started it keeps its own.
    let after = niceness(&std::fs::read_to_string("/proc/thread-self/stat").unwrap());
    assert_eq!(after, own);
    writer.close();
}
