//! Keys through their life: identified by their key, created, changed, deleted, and
//! created keys read back after a restart.

use std::time::Duration;

use super::*;
use crate::config::Config;

fn config_keys(yaml: &str) -> Vec<ClientKeyEntry> {
    let (config, _) = Config::parse(yaml).unwrap();
    config.client_keys.0
}

fn alice_and_bob() -> Governance {
    Governance::new(&config_keys(
        "client-keys:\n  - {name: alice, key: sk-alice-key, models: [gpt-up], rpm: 1}\n  - {name: bob, key: sk-bob-key}\n",
    ))
}

#[test]
fn a_presented_key_names_its_caller_and_nothing_else_does() {
    let governance = alice_and_bob();
    assert_eq!(
        governance.identify(&["nope".into(), "sk-bob-key".into()]),
        Some("bob".to_owned())
    );
    assert_eq!(
        governance.identify(&["sk-alice-key".into()]),
        Some("alice".to_owned())
    );
    assert_eq!(governance.identify(&["sk-alice-ke".into()]), None);
    assert_eq!(governance.identify(&[]), None);
    assert!(!format!("{governance:?}").contains("sk-"));
}

#[test]
fn limits_refuse_in_client_terms_and_plain_callers_pass() {
    let governance = alice_and_bob();
    let alice = Caller::named("alice");
    let error = governance.admit(&alice, "gpt-other").unwrap_err();
    assert_eq!(error.kind, ErrorKind::Permission);
    assert_eq!(error.code.as_deref(), Some("model_not_allowed"));
    assert_eq!(error.usage_class, Some(REFUSED_MODEL));

    let first = governance.admit(&alice, "gpt-up").unwrap();
    drop(first);
    let error = governance.admit(&alice, "gpt-up").unwrap_err();
    assert_eq!(error.kind, ErrorKind::RateLimited);
    assert_eq!(error.code.as_deref(), Some("rate_limit_exceeded"));
    assert_eq!(error.usage_class, Some(REFUSED_RATE));
    let wait = error.retry_after_secs().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");

    for _ in 0..10 {
        governance.admit(&Caller::plain(), "anything").unwrap();
        governance.admit(&Caller::named("bob"), "anything").unwrap();
    }
}

#[test]
fn an_admission_frees_its_slot_and_records_its_tokens_when_dropped() {
    let governance = Governance::new(&config_keys(
        "client-keys:\n  - {name: carol, key: sk-carol-key, concurrency: 1, tokens-per-day: 100}\n",
    ));
    let carol = Caller::named("carol");
    let admission = governance.admit(&carol, "m").unwrap();
    let refused = governance.admit(&carol, "m").unwrap_err();
    assert_eq!(refused.retry_after, Some(Duration::from_secs(1)));
    admission.tally().add(&Usage {
        input_tokens: Some(70),
        output_tokens: Some(30),
        ..Usage::default()
    });
    assert_eq!(governance.get("carol").unwrap().usage.in_flight, 1);
    drop(admission);
    let usage = governance.get("carol").unwrap().usage;
    assert_eq!((usage.in_flight, usage.tokens_today), (0, 100));
    let refused = governance.admit(&carol, "m").unwrap_err();
    assert_eq!(refused.code.as_deref(), Some("insufficient_quota"));
    assert_eq!(refused.usage_class, Some(REFUSED_QUOTA));
}

#[test]
fn created_keys_survive_a_restart_and_only_their_digest_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let path = keys_file_for(&dir.path().join("config.yaml"));
    let entries = config_keys("client-keys:\n  - {name: alice, key: sk-alice-key}\n");

    let governance = Governance::new(&entries);
    assert_eq!(governance.attach_file(&path).unwrap(), 0);
    let limits = KeyLimits {
        rpm: Some(5),
        ..KeyLimits::default()
    };
    let created = governance.create("ci", limits.clone()).unwrap();
    assert_eq!(created.view.origin, Origin::Api);
    assert!(matches!(
        governance.create("alice", KeyLimits::default()),
        Err(KeyError::NameTaken(_))
    ));
    assert!(matches!(
        governance.create("bad name", KeyLimits::default()),
        Err(KeyError::Invalid(_))
    ));
    let stored = std::fs::read_to_string(&path).unwrap();
    assert!(!stored.contains(created.key.expose()), "{stored}");
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // A restart: the config's keys, then the file.
    let restarted = Governance::new(&entries);
    assert_eq!(restarted.attach_file(&path).unwrap(), 1);
    assert_eq!(
        restarted.identify(&[created.key.expose().to_owned()]),
        Some("ci".to_owned())
    );
    let listed = restarted.list();
    let names: Vec<_> = listed.iter().map(|key| key.name.as_str()).collect();
    assert_eq!(names, ["alice", "ci"]);
    assert_eq!(listed[1].limits, limits);
    assert_eq!(listed[1].fingerprint, created.view.fingerprint);
    assert_eq!(listed[1].fingerprint.len(), 8);

    // Limits change (a field left out stays, null removes), and persist.
    let patch: LimitsPatch =
        serde_json::from_str(r#"{"rpm": null, "tokens-per-day": 1000}"#).unwrap();
    let changed = restarted.update("ci", &patch).unwrap();
    assert_eq!(changed.limits.rpm, None);
    assert_eq!(changed.limits.tokens_per_day, Some(1000));
    assert!(matches!(
        restarted.update("alice", &patch),
        Err(KeyError::ConfigOwned(_))
    ));
    let zero: LimitsPatch = serde_json::from_str(r#"{"rpm": 0}"#).unwrap();
    assert!(matches!(
        restarted.update("ci", &zero),
        Err(KeyError::Invalid(_))
    ));
    let again = Governance::new(&entries);
    again.attach_file(&path).unwrap();
    assert_eq!(again.get("ci").unwrap().limits.tokens_per_day, Some(1000));

    // Deleted: no longer a key, here or after a restart.
    again.delete("ci").unwrap();
    assert!(matches!(again.delete("ci"), Err(KeyError::NotFound(_))));
    assert!(matches!(
        again.delete("alice"),
        Err(KeyError::ConfigOwned(_))
    ));
    assert_eq!(again.identify(&[created.key.expose().to_owned()]), None);
    let last = Governance::new(&entries);
    assert_eq!(last.attach_file(&path).unwrap(), 0);
}

#[test]
fn a_name_in_both_the_config_and_the_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(KEYS_FILE);
    let governance = Governance::new(&[]);
    governance.attach_file(&path).unwrap();
    governance.create("alice", KeyLimits::default()).unwrap();

    let entries = config_keys("client-keys:\n  - {name: alice, key: sk-alice-key}\n");
    let error = Governance::new(&entries).attach_file(&path).unwrap_err();
    assert!(
        format!("{error:#}").contains("client key `alice`"),
        "{error:#}"
    );
    // A reload that brings the name is refused too, and changes nothing.
    assert!(governance.reconfigure(&entries).is_err());
    assert_eq!(governance.list().len(), 1);
}

#[test]
fn a_reload_keeps_counters_of_kept_keys_and_drops_removed_ones() {
    let governance = alice_and_bob();
    drop(governance.admit(&Caller::named("bob"), "m").unwrap());
    governance
        .reconfigure(&config_keys(
            "client-keys:\n  - {name: bob, key: sk-bob-key, requests-per-day: 1}\n",
        ))
        .unwrap();
    assert_eq!(governance.identify(&["sk-alice-key".into()]), None);
    let refused = governance.admit(&Caller::named("bob"), "m").unwrap_err();
    assert_eq!(refused.kind, ErrorKind::RateLimited);
}

struct Stored(Vec<(String, Totals)>);

impl QuotaSeed for Stored {
    fn totals_since(&self, _since: time::OffsetDateTime) -> anyhow::Result<Vec<(String, Totals)>> {
        Ok(self.0.clone())
    }
}

#[test]
fn the_usage_store_seeds_the_day_and_month_quotas() {
    let governance = Governance::new(&config_keys(
        "client-keys:\n  - {name: dave, key: sk-dave-key, requests-per-month: 4}\n",
    ));
    let totals = Totals {
        requests: 4,
        tokens: 10,
    };
    governance
        .seed_from(&Stored(vec![
            ("dave".into(), totals),
            ("gone".into(), totals),
        ]))
        .unwrap();
    let refused = governance.admit(&Caller::named("dave"), "m").unwrap_err();
    assert_eq!(refused.code.as_deref(), Some("insufficient_quota"));
}
