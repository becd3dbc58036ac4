//! Config stories: the documented shape loads, mistakes are named precisely.

use super::*;

const EXAMPLE: &str = r#"
listen: 127.0.0.1:8317
api-keys: [sk-local-example]
adapters-dir: target/adapters
providers:
  - name: claude-main          # unique
    adapter: anthropic         # the id from the component's info()
    base-url: https://api.anthropic.com
    api-keys: [sk-ant-xxx]
    models: [claude-sonnet-4-5, {name: claude-opus-4-1, alias: opus}]
    fixups: [first-user-turn]  # applied in order
    allow-hosts: [api.anthropic.com]   # the egress grant; the base URL's host is granted implicitly
"#;

#[test]
fn the_documented_shape_loads_with_defaults_filled_in() {
    let (config, warnings) = Config::parse(EXAMPLE).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(config.listen_addr().unwrap().port(), 8317);
    assert_eq!(config.adapters_dir, PathBuf::from("target/adapters"));
    assert_eq!(config.cache_dir(), PathBuf::from("target/adapters/.cache"));
    assert_eq!(config.limits.max_body_bytes, 32 << 20);
    assert_eq!(config.retry.max_attempts, 3);
    assert_eq!(config.retry.cooldown_s, 60);
    let claude = &config.providers[0];
    assert_eq!(claude.adapter, "anthropic");
    assert_eq!(claude.api_keys[0].expose(), "sk-ant-xxx");
    assert_eq!(
        claude.models,
        vec![
            ModelEntry {
                name: "claude-sonnet-4-5".into(),
                alias: None
            },
            ModelEntry {
                name: "claude-opus-4-1".into(),
                alias: Some("opus".into())
            },
        ]
    );
    assert_eq!(claude.fixups, vec!["first-user-turn"]);
    assert_eq!(&*claude.config_json(), "{}");
    let settings = config.runtime_settings();
    assert_eq!(settings.guest_memory_bytes, 128 << 20);
    assert_eq!(settings.guest_call_timeout, Duration::from_millis(2000));
}

#[test]
fn the_example_file_at_the_repo_root_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config.example.yaml");
    let (config, _) = Config::load(&path).unwrap();
    assert!(!config.providers.is_empty());
}

#[test]
fn an_unknown_key_is_named_with_its_line() {
    let text =
        "api-keys: [k]\nproviders:\n  - name: a\n    adapter: openai\n    base-ulr: http://x\n";
    let err = format!("{:#}", Config::parse(text).unwrap_err());
    assert!(err.contains("base-ulr"), "{err}");
    assert!(err.contains("line 5"), "{err}");
}

#[test]
fn a_bad_model_entry_names_the_key() {
    let text = "api-keys: [k]\nproviders:\n  - name: a\n    adapter: openai\n    models: [{name: m, alais: x}]\n";
    let err = format!("{:#}", Config::parse(text).unwrap_err());
    assert!(err.contains("alais"), "{err}");
}

#[test]
fn no_client_keys_refuses_to_start_unless_said_explicitly() {
    let err = format!("{:#}", Config::parse("providers: []").unwrap_err());
    assert!(err.contains("allow-unauthenticated"), "{err}");
    let (config, _) = Config::parse("allow-unauthenticated: true").unwrap();
    assert!(config.api_keys.is_empty());
}

#[test]
fn provider_names_must_be_unique() {
    let text = "api-keys: [k]\nproviders:\n  - {name: a, adapter: openai}\n  - {name: a, adapter: anthropic}\n";
    let err = format!("{:#}", Config::parse(text).unwrap_err());
    assert!(err.contains("`a` is used twice"), "{err}");
}

#[test]
fn keys_and_config_values_expand_from_the_environment() {
    // SAFETY: this test is the only user of this variable name.
    unsafe { std::env::set_var("PLUGBOARD_TEST_CONFIG_KEY", "sk-from-env") };
    let text = "api-keys: ['${PLUGBOARD_TEST_CONFIG_KEY}']\nproviders:\n  - name: a\n    adapter: openai\n    api-keys: ['${PLUGBOARD_TEST_CONFIG_KEY}']\n    config: {region: '${PLUGBOARD_TEST_CONFIG_REGION:-eu}', n: 3}\n";
    let (config, _) = Config::parse(text).unwrap();
    assert_eq!(config.api_keys[0].expose(), "sk-from-env");
    assert_eq!(config.providers[0].api_keys[0].expose(), "sk-from-env");
    assert_eq!(
        &*config.providers[0].config_json(),
        r#"{"region":"eu","n":3}"#
    );
}

#[test]
fn an_unset_variable_names_the_variable_and_the_key() {
    let text = "api-keys: ['${PLUGBOARD_TEST_SURELY_UNSET}']";
    let err = format!("{:#}", Config::parse(text).unwrap_err());
    assert!(err.contains("PLUGBOARD_TEST_SURELY_UNSET"), "{err}");
    assert!(err.contains("api-keys"), "{err}");
}

#[test]
fn corrupt_yaml_is_reported_with_the_file_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.yaml");
    std::fs::write(&path, "listen: [unclosed\n").unwrap();
    let err = format!("{:#}", Config::load(&path).unwrap_err());
    assert!(err.contains("broken.yaml"), "{err}");
    assert!(err.contains("line"), "{err}");
}

#[test]
fn limits_and_retry_can_be_tuned() {
    let text = "api-keys: [k]\nlimits: {max-body-bytes: 1024, upstream-timeout-s: 5}\nretry: {max-attempts: 5, cooldown-s: 7}\n";
    let (config, _) = Config::parse(text).unwrap();
    assert_eq!(config.limits.max_body_bytes, 1024);
    assert_eq!(config.limits.upstream_timeout_s, 5);
    assert_eq!(config.limits.guest_call_timeout_ms, 2000);
    assert_eq!(config.retry.max_attempts, 5);
    assert_eq!(config.retry.cooldown_s, 7);
    assert_eq!(config.retry.quota_cooldown_s, 3600);
}

#[test]
fn an_unknown_top_level_key_is_named_with_its_line_even_on_line_1() {
    let err = format!(
        "{:#}",
        Config::parse("lisen: 127.0.0.1:1\napi-keys: [k]\n").unwrap_err()
    );
    assert!(err.contains("lisen"), "{err}");
    assert!(err.contains("line 1"), "{err}");
    let err = format!(
        "{:#}",
        Config::parse("api-keys: [k]\n\nadapter-dir: x\n").unwrap_err()
    );
    assert!(err.contains("adapter-dir"), "{err}");
    assert!(err.contains("line 3"), "{err}");
}

#[test]
fn an_unknown_nested_key_is_named_with_its_line() {
    let err = format!(
        "{:#}",
        Config::parse("api-keys: [k]\nlimits:\n  max-body-byte: 5\n").unwrap_err()
    );
    assert!(err.contains("max-body-byte"), "{err}");
    assert!(err.contains("line 3"), "{err}");
}

#[test]
fn a_duplicate_top_level_key_is_named_with_the_line_of_its_second_occurrence() {
    let err = format!(
        "{:#}",
        Config::parse("api-keys: [k]\nlisten: 127.0.0.1:1\nlisten: 127.0.0.1:2\n").unwrap_err()
    );
    assert!(err.contains("duplicate key `listen`"), "{err}");
    assert!(err.contains("line 3"), "{err}");
    let err = format!(
        "{:#}",
        Config::parse("api-keys: [k]\napi-keys: [j]\n").unwrap_err()
    );
    assert!(err.contains("duplicate key `api-keys`"), "{err}");
    assert!(err.contains("line 2"), "{err}");
}

#[test]
fn a_duplicate_nested_key_is_named_with_its_line() {
    let text = "api-keys: [k]\nlimits:\n  max-body-bytes: 5\n  max-body-bytes: 6\nproviders:\n  - name: a\n    adapter: openai\n    config:\n      region: eu\n      region: us\n";
    let err = format!("{:#}", Config::parse(text).unwrap_err());
    assert!(err.contains("duplicate key `max-body-bytes`"), "{err}");
    assert!(err.contains("line 4"), "{err}");
    let text = "api-keys: [k]\nproviders:\n  - name: a\n    adapter: openai\n    config:\n      region: eu\n      region: us\n";
    let err = format!("{:#}", Config::parse(text).unwrap_err());
    assert!(err.contains("duplicate key `region`"), "{err}");
    assert!(err.contains("line 7"), "{err}");
}

#[test]
fn client_connection_limits_have_defaults_and_can_be_tuned() {
    let (config, _) = Config::parse("api-keys: [k]").unwrap();
    assert_eq!(config.limits.header_read_timeout_s, 10);
    assert_eq!(config.limits.client_idle_timeout_s, 30);
    assert_eq!(config.limits.request_body_timeout_s, 30);
    assert_eq!(config.limits.max_connections, 4096);
    assert_eq!(config.limits.shutdown_grace_s, 25);
    let text = "api-keys: [k]\nlimits: {header-read-timeout-s: 1, client-idle-timeout-s: 2, request-body-timeout-s: 3, max-connections: 4, shutdown-grace-s: 0}\n";
    let (config, _) = Config::parse(text).unwrap();
    assert_eq!(config.limits.header_read_timeout_s, 1);
    assert_eq!(config.limits.client_idle_timeout_s, 2);
    assert_eq!(config.limits.request_body_timeout_s, 3);
    assert_eq!(config.limits.max_connections, 4);
    assert_eq!(config.limits.shutdown_grace_s, 0);
    let err = format!(
        "{:#}",
        Config::parse("api-keys: [k]\nlimits: {max-connections: 0}\n").unwrap_err()
    );
    assert!(err.contains("max-connections"), "{err}");
}

const ACCOUNTS: &str = r#"
api-keys: [sk-local]
providers:
  - name: claude
    adapter: anthropic
    api-keys: [sk-ant-key]
    accounts:
      - name: max-plan
        kind: claude-oauth
        secret: ${PLUGBOARD_TEST_OAUTH_TOKEN}
        attributes: {email: me@example.com}
    endpoints:
      token: https://login.example.test/v1/oauth/token
"#;

#[test]
fn named_accounts_of_a_kind_and_endpoint_overrides_load() {
    // SAFETY: tests that set this variable run in one process per test (nextest).
    unsafe { std::env::set_var("PLUGBOARD_TEST_OAUTH_TOKEN", "oat-secret") };
    let (config, _) = Config::parse(ACCOUNTS).unwrap();
    let claude = &config.providers[0];
    let account = claude.accounts.inline().next().unwrap();
    assert_eq!(account.name, "max-plan");
    assert_eq!(account.kind.as_deref(), Some("claude-oauth"));
    assert_eq!(account.secret.as_ref().unwrap().expose(), "oat-secret");
    assert_eq!(account.attributes["email"], "me@example.com");
    assert_eq!(
        claude.endpoint_override("token"),
        Some("https://login.example.test/v1/oauth/token")
    );
    assert_eq!(claude.endpoint_override("base"), None);
    assert!(format!("{account:?}").contains("redacted"));
    assert!(!format!("{account:?}").contains("oat-secret"));
}

#[test]
fn base_url_is_the_base_endpoint_and_cannot_be_set_twice() {
    let one = "api-keys: [k]\nproviders:\n  - {name: p, adapter: openai, base-url: 'http://127.0.0.1:9/v1'}\n";
    let (config, _) = Config::parse(one).unwrap();
    assert_eq!(
        config.providers[0].endpoint_override("base"),
        Some("http://127.0.0.1:9/v1")
    );
    let both = "api-keys: [k]\nproviders:\n  - {name: p, adapter: openai, base-url: 'http://a.test', endpoints: {base: 'http://b.test'}}\n";
    let error = format!("{:#}", Config::parse(both).unwrap_err());
    assert!(error.contains("not both"), "{error}");
}

#[test]
fn bad_accounts_and_endpoints_are_named() {
    let cases = [
        (
            "providers:\n  - {name: p, adapter: a, endpoints: {token: 'ftp://x.test'}}",
            "endpoints.token `ftp://x.test` must be an http(s) URL",
        ),
        (
            "providers:\n  - {name: p, adapter: a, accounts: [{name: a}, {name: a}]}",
            "account `a` is listed twice",
        ),
        (
            "providers:\n  - {name: p, adapter: a, accounts: [{name: 'x:y'}]}",
            "account name `x:y` must be non-empty",
        ),
        (
            "providers:\n  - {name: p, adapter: a, accounts: [{name: a, secret: ''}]}",
            "account `a` has an empty secret",
        ),
        (
            "providers:\n  - {name: p, adapter: a, accounts: [{name: a, token: x}]}",
            "unknown field `token`",
        ),
    ];
    for (providers, expected) in cases {
        let text = format!("api-keys: [k]\n{providers}\n");
        let error = format!("{:#}", Config::parse(&text).unwrap_err());
        assert!(error.contains(expected), "{providers}: {error}");
    }
}

#[test]
fn accounts_take_the_store_whole_or_by_id_beside_inline_ones() {
    let text = "api-keys: [k]\nauth-dir: /tmp/pb-auth\nproviders:\n  - {name: a, adapter: x, accounts: auth-dir}\n  - {name: b, adapter: x, refresh-lead-s: 90, accounts: [claude-me, {name: inline, secret: s3cr3t-value}]}\n  - {name: c, adapter: x}\n";
    let (config, _) = Config::parse(text).unwrap();
    assert_eq!(config.auth_dir(), std::path::PathBuf::from("/tmp/pb-auth"));
    let [a, b, c] = &config.providers[..] else {
        panic!()
    };
    assert!(matches!(a.accounts, AccountSelection::AuthDir));
    assert!(a.accounts.uses_store());
    assert_eq!(b.accounts.stored().collect::<Vec<_>>(), ["claude-me"]);
    assert_eq!(b.accounts.inline().next().unwrap().name, "inline");
    assert_eq!(b.refresh_lead_s, Some(90));
    assert!(!c.accounts.uses_store());

    for (bad, expected) in [
        (
            "accounts: everything",
            "the one word accepted is `auth-dir`",
        ),
        ("accounts: [../etc]", "must be the stem of a file"),
        ("accounts: [x, x]", "account `x` is listed twice"),
        ("accounts: [{name: a, token: x}]", "unknown field `token`"),
    ] {
        let text = format!("api-keys: [k]\nproviders:\n  - {{name: p, adapter: a, {bad}}}\n");
        let error = format!("{:#}", Config::parse(&text).unwrap_err());
        assert!(error.contains(expected), "{bad}: {error}");
    }
}

#[test]
fn the_default_auth_dir_is_under_home() {
    let (config, _) = Config::parse("api-keys: [k]\n").unwrap();
    let dir = config.auth_dir();
    assert!(dir.ends_with(".plugboard/auth"), "{}", dir.display());
    assert!(!dir.starts_with("~"), "{}", dir.display());
}

#[test]
fn context_recovery_is_off_unless_an_entry_names_its_reducing_fixup() {
    let text = "api-keys: [k]\nproviders:\n  - name: long\n    adapter: openai\n    context-recovery: {fixup: history-trim, budget-tokens: 60000}\n  - name: mid\n    adapter: openai\n    context-recovery:\n      fixup: history-trim\n  - {name: plain, adapter: openai}\n";
    let (config, warnings) = Config::parse(text).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let [long, mid, plain] = &config.providers[..] else {
        panic!()
    };
    assert_eq!(
        long.context_recovery,
        Some(ContextRecovery {
            fixup: "history-trim".into(),
            budget_tokens: Some(60_000)
        })
    );
    assert_eq!(mid.context_recovery.as_ref().unwrap().budget_tokens, None);
    assert_eq!(plain.context_recovery, None);
    assert!(
        long.fixups.is_empty(),
        "the reducing fixup is no ordinary fixup"
    );
}

#[test]
fn a_bad_context_recovery_is_named_with_its_key_and_line() {
    let text = "api-keys: [k]\nproviders:\n  - name: p\n    adapter: openai\n    context-recovery:\n      fixup: history-trim\n      budget: 60000\n";
    let error = format!("{:#}", Config::parse(text).unwrap_err());
    assert!(error.contains("unknown field `budget`"), "{error}");
    assert!(error.contains("line 7"), "{error}");
    for (bad, expected) in [
        (
            "context-recovery: {budget-tokens: 10}",
            "missing field `fixup`",
        ),
        (
            "context-recovery: {fixup: '', budget-tokens: 10}",
            "`context-recovery.fixup` is empty",
        ),
        (
            "context-recovery: {fixup: history-trim, budget-tokens: 0}",
            "`context-recovery.budget-tokens` must be at least 1",
        ),
        (
            "context-recovery: {fixup: history-trim, budget-tokens: -5}",
            "budget-tokens",
        ),
    ] {
        let text = format!("api-keys: [k]\nproviders:\n  - {{name: p, adapter: a, {bad}}}\n");
        let error = format!("{:#}", Config::parse(&text).unwrap_err());
        assert!(error.contains(expected), "{bad}: {error}");
    }
}

#[test]
fn a_rule_the_validator_checks_names_its_key_and_line() {
    let text = "api-keys: [k]\nproviders:\n  - name: a\n    adapter: openai\n  - name: a\n    adapter: anthropic\n";
    let err = format!("{:#}", Config::parse(text).unwrap_err());
    assert!(err.contains("`providers[1].name` at line 5"), "{err}");
    assert!(err.contains("`a` is used twice"), "{err}");

    // Inside an entry's accounts list, counted among all its items.
    let text = "api-keys: [k]\nproviders:\n  - name: a\n    adapter: openai\n    accounts:\n      - stored-one\n      - {name: 'bad name', secret: s}\n";
    let err = format!("{:#}", Config::parse(text).unwrap_err());
    assert!(
        err.contains("`providers[0].accounts[1].name` at line 7"),
        "{err}"
    );

    // A key left at its default has no line, and says so by having none.
    let err = format!("{:#}", Config::parse("providers: []").unwrap_err());
    assert!(err.starts_with("`api-keys`: "), "{err}");
}

#[test]
fn an_unset_variable_is_placed_at_its_key() {
    let text = "api-keys: [k]\nproviders:\n  - name: a\n    adapter: openai\n    base-url: '${PLUGBOARD_TEST_SURELY_UNSET_URL}'\n";
    let err = format!("{:#}", Config::parse(text).unwrap_err());
    assert!(err.contains("`providers[0].base-url` at line 5"), "{err}");
    assert!(err.contains("PLUGBOARD_TEST_SURELY_UNSET_URL"), "{err}");
}

#[test]
fn a_config_with_several_wrong_keys_names_each_with_its_line() {
    // Three keys the parser refuses: unknown at the top, unknown in an entry, a wrong type.
    let text = "api-keys: [k]\n\
                listen-adress: 1.2.3.4:1\n\
                providers:\n  \
                  - name: a\n    \
                    adapter: openai\n    \
                    modles: [m]\n\
                limits:\n  \
                  max-connections: lots\n";
    let error = Config::parse(text).unwrap_err();
    let errors = error
        .downcast_ref::<ConfigErrors>()
        .expect("every wrong key");
    assert_eq!(errors.0.len(), 3, "{errors:?}");
    assert!(
        errors.0[0].starts_with("`listen-adress` at line 2: unknown field"),
        "{errors:?}"
    );
    assert!(
        errors.0[1].starts_with("`providers[0].modles` at line 6: unknown field"),
        "{errors:?}"
    );
    assert!(
        errors.0[2].starts_with("`limits.max-connections` at line 8: invalid type"),
        "{errors:?}"
    );
    assert!(format!("{error:#}").starts_with("3 errors:\n  - `listen-adress`"));

    // Rules the validator checks: each broken one named, not only the first.
    let text = "api-keys: [k]\nretry: {max-attempts: 0}\nproviders:\n  - {name: a, adapter: openai}\n  - {name: a, adapter: ''}\n";
    let errors = Config::parse(text).unwrap_err();
    let errors = &errors.downcast_ref::<ConfigErrors>().unwrap().0;
    assert_eq!(
        errors
            .iter()
            .map(|e| e.split(':').next().unwrap())
            .collect::<Vec<_>>(),
        vec![
            "`retry.max-attempts` at line 2",
            "`providers[1].name` at line 5",
            "`providers[1].adapter` at line 5"
        ],
        "{errors:?}"
    );

    // One wrong key reads as before: no count, its line.
    let err = format!(
        "{:#}",
        Config::parse("api-keys: [k]\nlisten-adress: x\n").unwrap_err()
    );
    assert!(
        err.contains("listen-adress") && err.contains("line 2") && !err.contains("errors:"),
        "{err}"
    );
}
