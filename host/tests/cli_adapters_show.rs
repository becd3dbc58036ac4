//! `plugboard adapters show ID`: what a component declares, as text and as JSON.

mod serve_support;

use serve_support::*;

#[test]
fn show_prints_each_credential_kind_and_endpoint_of_a_provider_as_json() {
    let dir = adapters_with(&["anthropic"]);
    let (ok, stdout, stderr) = run_cli(&[
        "adapters",
        "show",
        "anthropic",
        "--adapters",
        dir.to_str().unwrap(),
        "--json",
    ]);
    assert!(ok, "{stderr}");
    let shown: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(shown["kind"], "provider");
    assert_eq!(shown["contract-version"], "0.2.0");
    assert_eq!(shown["endpoints"]["base"], "https://api.anthropic.com");
    assert!(
        shown["endpoints"]["token"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
    assert!(
        shown["endpoints"]["authorize"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
    let kinds: Vec<&str> = shown["credential-kinds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["api-key", "claude-oauth"]);
    let oauth = &shown["credential-kinds"][1];
    assert_eq!(oauth["placement"], "bearer");
    let login = &oauth["obtain"]["authorization-code"];
    assert_eq!(login["pkce"], true);
    assert_eq!(login["exchange"]["endpoint"], "token");
    assert!(oauth["refresh"]["lead-s"].as_u64().unwrap() > 0);
}

#[test]
fn show_prints_text_for_humans_and_a_fixups_guards() {
    let dir = adapters_with(&["anthropic", "merge-turns"]);
    let dir = dir.to_str().unwrap();
    let (ok, stdout, stderr) = run_cli(&["adapters", "show", "anthropic", "--adapters", dir]);
    assert!(ok, "{stderr}");
    for expected in [
        "credential kinds:",
        "claude-oauth",
        "x-api-key: <secret>",
        "Authorization: Bearer <secret>",
        "PKCE",
        "endpoints",
        "https://api.anthropic.com",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
    let (ok, stdout, stderr) = run_cli(&[
        "adapters",
        "show",
        "merge-turns",
        "--adapters",
        dir,
        "--json",
    ]);
    assert!(ok, "{stderr}");
    let shown: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(shown["kind"], "fixup");
    assert_eq!(shown["hooks"], serde_json::json!(["request"]));
    assert_eq!(shown["applies-to"]["models"], serde_json::json!([]));
}

#[test]
fn an_unknown_id_is_named_with_what_is_loaded() {
    let dir = adapters_with(&["anthropic"]);
    let (ok, _, stderr) = run_cli(&[
        "adapters",
        "show",
        "nope",
        "--adapters",
        dir.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(stderr.contains("no component `nope`"), "{stderr}");
    assert!(stderr.contains("anthropic"), "{stderr}");
}
