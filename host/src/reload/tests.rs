//! The swap and its generations, without a server: a reloader over a config file in a
//! temporary directory and a runtime with no components (routing lists models as
//! configured).

use super::*;
use crate::pipeline::Gateway;
use crate::routing::CooldownReason;
use crate::runtime::{Runtime, RuntimeSettings};
use std::time::Instant;

const HEAD: &str = "listen: 127.0.0.1:0\napi-keys: [sk-client-key-1]\n";

fn providers(entries: &[(&str, &str, &str)]) -> String {
    let mut text = String::from(HEAD);
    text.push_str("providers:\n");
    for (name, key, model) in entries {
        text.push_str(&format!(
            "  - name: {name}\n    adapter: openai\n    base-url: http://127.0.0.1:9\n    api-keys: [{key}]\n    models: [{model}]\n"
        ));
    }
    text
}

struct Setup {
    _dir: tempfile::TempDir,
    path: PathBuf,
    live: LiveGateway,
    reloader: Arc<Reloader>,
}

fn setup(text: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, text).unwrap();
    let (config, _) = Config::parse(text).unwrap();
    let runtime = Runtime::new(RuntimeSettings {
        max_instances: 8,
        cache_dir: None,
        ..RuntimeSettings::default()
    })
    .unwrap();
    let gateway = Gateway::new(Arc::new(config), runtime).unwrap();
    let live = LiveGateway::new(gateway);
    let reloader = Reloader::new(live.clone(), path.clone(), text.to_owned(), None);
    Setup {
        _dir: dir,
        path,
        live,
        reloader,
    }
}

fn serves(gateway: &Gateway, model: &str) -> bool {
    gateway
        .router
        .plan(model, &gateway.runtime.registry())
        .is_ok()
}

#[test]
fn a_valid_change_is_the_next_generation_and_a_request_in_flight_keeps_its_own() {
    let s = setup(&providers(&[("old", "sk-upstream-old-1", "m-old")]));
    assert_eq!(s.reloader.generation(), 1);
    // A request in flight holds the generation it started with.
    let in_flight = s.live.current();

    std::fs::write(&s.path, providers(&[("new", "sk-upstream-new-1", "m-new")])).unwrap();
    let outcome = s.reloader.reload(Trigger::Api);
    let Outcome::Applied(applied) = &outcome else {
        panic!("not applied: {outcome:?}");
    };
    assert_eq!(applied.generation, 2);
    assert_eq!(applied.providers_added, ["new"]);
    assert_eq!(applied.providers_removed, ["old"]);
    assert!(applied.pending_restart.is_empty());

    let now = s.live.current();
    assert_eq!(now.generation, 2);
    assert!(serves(&now, "m-new") && !serves(&now, "m-old"));
    // The request in flight still routes under its own config.
    assert_eq!(in_flight.generation, 1);
    assert!(serves(&in_flight, "m-old") && !serves(&in_flight, "m-new"));
    assert_eq!(in_flight.config.providers[0].name, "old");

    // The redactor knows the new keys and still the old ones (an old request may echo one).
    let text = now
        .redactor
        .redact("sk-upstream-new-1 and sk-upstream-old-1");
    assert!(!text.contains("sk-upstream"), "{text}");
}

#[test]
fn cooldowns_of_accounts_that_stay_survive_a_reload() {
    let s = setup(&providers(&[("a", "sk-upstream-a-1", "m")]));
    let first = s.live.current();
    first.router.book().rest(
        "a#1",
        Duration::from_secs(60),
        CooldownReason::RateLimited,
        Instant::now(),
    );
    std::fs::write(
        &s.path,
        providers(&[("a", "sk-upstream-a-1", "m"), ("b", "sk-upstream-b-1", "m")]),
    )
    .unwrap();
    assert_eq!(s.reloader.reload(Trigger::Signal).generation(), 2);
    let now = s.live.current();
    assert!(
        now.router
            .book()
            .current("a#1", Instant::now())
            .is_some_and(|c| c.reason == CooldownReason::RateLimited)
    );
    // So `m` goes to the new entry's account first.
    let mut plan = now.router.plan("m", &now.runtime.registry()).unwrap();
    assert_eq!(plan.next_attempt().unwrap().account.id, "b#1");
}

#[test]
fn a_broken_config_is_refused_naming_key_and_line_and_the_old_one_stays() {
    let good = providers(&[("a", "sk-upstream-a-1", "m")]);
    let s = setup(&good);

    // An unknown key.
    std::fs::write(&s.path, format!("{good}    nope: 1\n")).unwrap();
    let Outcome::Refused(refusal) = s.reloader.reload(Trigger::File) else {
        panic!("an unknown key was accepted");
    };
    assert!(
        refusal.reason.contains("unknown field `nope`"),
        "{}",
        refusal.reason
    );
    assert!(refusal.reason.contains("line 9"), "{}", refusal.reason);
    assert_eq!(refusal.generation_in_force, 1);
    assert_eq!(refusal.trigger, Trigger::File);
    assert_eq!(s.reloader.generation(), 1);
    assert!(serves(&s.live.current(), "m"));
    assert_eq!(s.reloader.status().last_refused, Some(refusal));

    // Bad YAML.
    std::fs::write(&s.path, format!("{good}  - [unclosed\n")).unwrap();
    let Outcome::Refused(refusal) = s.reloader.reload(Trigger::File) else {
        panic!("bad YAML was accepted");
    };
    assert!(refusal.reason.contains("line"), "{}", refusal.reason);

    // A rule the validator checks: the second entry's name, with its line.
    std::fs::write(
        &s.path,
        providers(&[("a", "sk-upstream-a-1", "m"), ("a", "sk-upstream-a-2", "m")]),
    )
    .unwrap();
    let Outcome::Refused(refusal) = s.reloader.reload(Trigger::Api) else {
        panic!("a duplicate name was accepted");
    };
    assert!(
        refusal.reason.contains("`providers[1].name` at line 9"),
        "{}",
        refusal.reason
    );
    assert_eq!(s.reloader.generation(), 1);

    // Fixed: the next generation.
    std::fs::write(&s.path, providers(&[("b", "sk-upstream-b-1", "m")])).unwrap();
    assert_eq!(s.reloader.reload(Trigger::File).generation(), 2);
    // The last refusal stays on record.
    assert!(s.reloader.last_refused().is_some());
}

#[test]
fn a_value_in_the_wrong_place_is_not_repeated_in_the_reason() {
    let s = setup(&providers(&[("a", "sk-upstream-a-1", "m")]));
    let text = format!("{HEAD}retry:\n  max-attempts: sk-pasted-secret-value\n");
    let Outcome::Refused(refusal) = s.reloader.apply_text(&text) else {
        panic!("accepted");
    };
    assert!(
        refusal.reason.contains("max-attempts"),
        "{}",
        refusal.reason
    );
    assert!(
        !refusal.reason.contains("sk-pasted-secret-value"),
        "{}",
        refusal.reason
    );
}

#[test]
fn the_same_text_again_is_no_new_generation() {
    let text = providers(&[("a", "sk-upstream-a-1", "m")]);
    let s = setup(&text);
    assert_eq!(
        s.reloader.reload(Trigger::Signal),
        Outcome::Unchanged { generation: 1 }
    );
    assert_eq!(
        s.reloader.apply_text(&text),
        Outcome::Unchanged { generation: 1 }
    );
}

#[test]
fn restart_only_settings_are_held_back_and_reported() {
    let text = providers(&[("a", "sk-upstream-a-1", "m")]);
    let s = setup(&text);
    let changed = text.replace("listen: 127.0.0.1:0", "listen: 127.0.0.1:9999")
        + "limits:\n  max-body-bytes: 1024\nretry:\n  max-attempts: 7\n";
    std::fs::write(&s.path, changed).unwrap();
    let Outcome::Applied(applied) = s.reloader.reload(Trigger::File) else {
        panic!("not applied");
    };
    assert_eq!(applied.pending_restart, ["listen", "limits.max-body-bytes"]);
    let now = s.live.current();
    // What is in force says the running values; the live ones changed.
    assert_eq!(now.config.listen, "127.0.0.1:0");
    assert_eq!(now.config.limits.max_body_bytes, 32 << 20);
    assert_eq!(now.config.retry.max_attempts, 7);
    assert_eq!(
        s.reloader.status().pending_restart,
        ["listen", "limits.max-body-bytes"]
    );
}

#[test]
fn apply_text_writes_the_file_atomically_and_a_refused_text_leaves_it_alone() {
    let text = providers(&[("a", "sk-upstream-a-1", "m")]);
    let s = setup(&text);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&s.path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let refused = s.reloader.apply_text("providers: [{name: x}]\n");
    assert!(matches!(
        refused,
        Outcome::Refused(Refusal {
            trigger: Trigger::Put,
            ..
        })
    ));
    assert_eq!(std::fs::read_to_string(&s.path).unwrap(), text);

    let next = providers(&[("b", "sk-upstream-b-1", "m2")]);
    assert_eq!(s.reloader.apply_text(&next).generation(), 2);
    assert_eq!(std::fs::read_to_string(&s.path).unwrap(), next);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&s.path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // No temporary file is left beside it.
    let names: Vec<_> = std::fs::read_dir(s.path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["config.yaml"]);
    // The watcher's reload of the written file finds nothing new.
    assert_eq!(
        s.reloader.reload(Trigger::File),
        Outcome::Unchanged { generation: 2 }
    );
}

#[test]
fn hiding_values_keeps_the_rest_of_the_reason() {
    assert_eq!(
        hide_values(
            r#"retry.max-attempts: invalid type: string "sk-a\"b", expected u32 at line 3"#
        ),
        "retry.max-attempts: invalid type: a string, expected u32 at line 3"
    );
    assert_eq!(hide_values("no values here"), "no values here");
}
