//! The credential store as a person meets it: CLIProxyAPI's auth directory dropped in
//! as it is, files edited by hand while Plugboard runs, a crash in the middle of a
//! write, and the credential files other tools leave, imported.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use plugboard::accounts::file::{AccountFile, Tokens};
use plugboard::accounts::import;
use plugboard::accounts::store::{Snapshot, Store};
use plugboard::credentials::Secret;

/// 2026-07-25T14:10:01Z, the expiry every fixture states in its own form.
const EXPIRY: u64 = 1_784_988_601;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/auth")
}

fn at(seconds: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
}

/// A private copy of the CLIProxyAPI fixtures directory (tests write to it).
fn cliproxyapi_copy() -> (tempfile::TempDir, PathBuf) {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("auth");
    fs::create_dir(&dir).unwrap();
    for entry in fs::read_dir(fixtures().join("cliproxyapi")).unwrap() {
        let path = entry.unwrap().path();
        fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
    }
    (temp, dir)
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Each account's label by id, as one `on_change` call saw them.
type Labels = BTreeMap<String, Option<String>>;

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    // Generous: the store promises 2 s; a loaded test machine gets slack.
    let deadline = Instant::now() + Duration::from_secs(6);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn expose(secret: &Option<Secret>) -> Option<&str> {
    secret.as_ref().map(Secret::expose)
}

#[test]
fn a_cliproxyapi_auth_directory_loads_as_it_is() {
    let (_temp, dir) = cliproxyapi_copy();
    let store = Store::open(&dir).unwrap();
    let snapshot = store.snapshot();

    // (id, kind, label, expiry)
    let expected: [(&str, &str, Option<&str>, Option<SystemTime>); 13] = [
        (
            "antigravity-dev@example.com",
            "antigravity",
            Some("dev@example.com"),
            Some(at(EXPIRY)),
        ),
        (
            "claude-dev@example.com",
            "claude-oauth",
            Some("dev@example.com"),
            Some(at(EXPIRY)),
        ),
        (
            "codex-1a2b3c4d-dev@example.com-plus",
            "codex",
            Some("dev@example.com"),
            Some(at(EXPIRY)),
        ),
        ("copilot-monalisa", "copilot", Some("monalisa"), None),
        (
            "gemini-cli-work@example.org",
            "gemini-cli",
            Some("work@example.org"),
            Some(at(EXPIRY)),
        ),
        (
            "gemini-dev@example.com-my-project",
            "gemini-cli",
            Some("dev@example.com"),
            Some(at(EXPIRY)),
        ),
        ("github-copilot-octocat", "copilot", Some("octocat"), None),
        (
            "iflow-dev@example.com-1784980000",
            "iflow",
            Some("dev@example.com"),
            Some(at(EXPIRY)),
        ),
        (
            "kimi-1784980000000",
            "kimi",
            Some("kimi main"),
            Some(at(EXPIRY)),
        ),
        (
            "kiro-dev",
            "kiro-idc",
            Some("kiro@example.com"),
            Some(at(EXPIRY)),
        ),
        (
            "qwen-dev@example.com",
            "qwen",
            Some("dev@example.com"),
            Some(at(EXPIRY)),
        ),
        (
            "vertex-my-project",
            "vertex",
            Some("proxy@my-project-123.iam.gserviceaccount.com"),
            None,
        ),
        (
            "xai-dev@example.com",
            "xai",
            Some("dev@example.com"),
            Some(at(EXPIRY)),
        ),
    ];
    let ids: Vec<&str> = snapshot.accounts.keys().map(String::as_str).collect();
    assert_eq!(ids, expected.iter().map(|e| e.0).collect::<Vec<_>>());
    for (id, kind, label, expiry) in expected {
        let account = &snapshot.accounts[id];
        assert_eq!(account.id, id);
        assert_eq!(account.kind, kind, "{id}");
        assert_eq!(account.label.as_deref(), label, "{id}");
        assert_eq!(account.tokens.expires_at, expiry, "{id}");
        assert_eq!(account.disabled, None, "{id}");
    }

    let get = |id: &str| snapshot.accounts[id].clone();
    let codex = get("codex-1a2b3c4d-dev@example.com-plus");
    assert_eq!(
        codex.attributes["chatgpt-account-id"],
        "11111111-2222-3333-4444-555555555555"
    );
    assert_eq!(expose(&codex.tokens.refresh), Some("rt_fake-codex-refresh"));
    assert!(codex.tokens.id_token.is_some());
    assert_eq!(codex.tokens.last_refresh, Some(at(EXPIRY - 3600)));

    let claude = get("claude-dev@example.com");
    assert_eq!(claude.file_type, "claude");
    assert_eq!(
        claude.attributes["organization-id"],
        "99999999-8888-7777-6666-555555555555"
    );
    assert_eq!(
        claude.attributes["account-uuid"],
        "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
    );
    assert_eq!(
        claude.tokens.id_token.as_ref().map(Secret::expose),
        None,
        "an empty id token is none"
    );
    assert_eq!(claude.priority, 5);

    assert_eq!(
        get("antigravity-dev@example.com").attributes["project-id"],
        "bright-river-a1b2c"
    );

    let gemini = get("gemini-dev@example.com-my-project");
    assert_eq!(gemini.file_type, "gemini");
    assert_eq!(
        expose(&gemini.tokens.access),
        Some("ya29.fake-gemini-access")
    );
    assert_eq!(gemini.attributes["project-id"], "my-project-123");
    assert_eq!(
        gemini.endpoints["token"],
        "https://oauth2.googleapis.com/token"
    );
    let client = gemini.client.as_ref().unwrap();
    assert_eq!(client.id, "681255809395-fake.apps.googleusercontent.com");
    assert_eq!(
        client.secret.as_ref().unwrap().expose(),
        "GOCSPX-fake-gemini-client"
    );

    let qwen = get("qwen-dev@example.com");
    assert_eq!(qwen.base_url.as_deref(), Some("https://portal.qwen.ai"));

    let iflow = get("iflow-dev@example.com-1784980000");
    assert_eq!(expose(&iflow.tokens.access), Some("fake-iflow-access"));
    assert_eq!(
        iflow.other_secret("api-key").unwrap().expose(),
        "sk-fake-iflow-api-key"
    );
    assert_eq!(iflow.tokens.last_refresh, Some(at(EXPIRY - 86_400)));

    let xai = get("xai-dev@example.com");
    assert_eq!(
        xai.base_url.as_deref(),
        Some("https://cli-chat-proxy.grok.com/v1")
    );

    let octocat = get("github-copilot-octocat");
    assert_eq!(
        expose(&octocat.tokens.access),
        Some("ghu_fakeCopilotGithubToken0001")
    );
    let monalisa = get("copilot-monalisa");
    assert_eq!(
        expose(&monalisa.tokens.access),
        Some("ghu_fakeCopilotGithubToken0002"),
        "the long-lived GitHub token, not the short Copilot one"
    );

    let kiro = get("kiro-dev");
    assert_eq!(
        kiro.attributes["profile-arn"],
        "arn:aws:codewhisperer:us-east-1:123456789012:profile/FAKEPROFILE"
    );
    assert_eq!(kiro.attributes["auth-method"], "IdC");
    assert_eq!(kiro.attributes["provider"], "BuilderId");
    assert_eq!(kiro.attributes["region"], "us-east-1");
    let client = kiro.client.as_ref().unwrap();
    assert_eq!(client.id, "fake-kiro-client-id");
    assert_eq!(client.expires_at, Some(at(EXPIRY + 86_400 * 90)));

    let vertex = get("vertex-my-project");
    assert_eq!(vertex.attributes["project-id"], "my-project-123");
    assert_eq!(vertex.attributes["location"], "us-central1");
    let service_account = vertex.other_secret("service-account").unwrap();
    assert!(service_account.expose().contains("FAKEKEY"));
    assert!(vertex.secrets().contains(&service_account));

    // The two bad files are refused, each reason naming its file.
    let mut refused: Vec<_> = snapshot
        .refused
        .iter()
        .map(|refused| {
            (
                refused
                    .path
                    .file_name()
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_owned(),
                refused.reason.clone(),
            )
        })
        .collect();
    refused.sort();
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert_eq!(refused[0].0, "broken.json");
    assert!(
        refused[0].1.contains("broken.json") && refused[0].1.contains("not a JSON object"),
        "{}",
        refused[0].1
    );
    assert_eq!(refused[1].0, "mystery.json");
    assert!(
        refused[1].1.contains("mystery.json")
            && refused[1].1.contains("unknown account type `mystery-ai`"),
        "{}",
        refused[1].1
    );
    for refused in &snapshot.refused {
        assert!(
            !refused.reason.contains("fake-"),
            "a reason never carries a token: {}",
            refused.reason
        );
    }
}

#[test]
fn the_directory_is_private_and_every_file_written_is_0600() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("home/.plugboard/accounts");
    let store = Store::open(&dir).unwrap();
    assert_eq!(mode(&dir), 0o700);
    assert!(store.snapshot().accounts.is_empty());

    let id = store.new_id("claude-oauth", Some("Me@Example.com"));
    assert_eq!(id, "claude-oauth-me@example.com");
    let account = AccountFile::new(
        &id,
        "claude-oauth",
        Some("me@example.com".into()),
        Tokens {
            access: Some(Secret::new("sk-ant-oat01-fake-new")),
            refresh: Some(Secret::new("sk-ant-ort01-fake-new")),
            expires_at: Some(at(EXPIRY)),
            ..Tokens::default()
        },
        BTreeMap::new(),
    );
    store.save(&account).unwrap();
    let path = dir.join("claude-oauth-me@example.com.json");
    assert_eq!(mode(&path), 0o600);
    assert_eq!(store.get(&id).unwrap().tokens.expires_at, Some(at(EXPIRY)));
    assert_eq!(
        store.new_id("claude-oauth", Some("me@example.com")),
        "claude-oauth-me@example.com-2"
    );
    assert!(
        store
            .save(&AccountFile::new(
                "../escape",
                "claude-oauth",
                None,
                Tokens::default(),
                BTreeMap::new()
            ))
            .is_err()
    );
    assert!(
        store
            .save(&AccountFile::new(
                ".hidden",
                "claude-oauth",
                None,
                Tokens::default(),
                BTreeMap::new()
            ))
            .is_err()
    );

    // A directory someone left open is closed on open.
    let open_dir = temp.path().join("shared");
    fs::create_dir(&open_dir).unwrap();
    fs::set_permissions(&open_dir, fs::Permissions::from_mode(0o755)).unwrap();
    Store::open(&open_dir).unwrap();
    assert_eq!(mode(&open_dir), 0o700);

    assert!(store.remove(&id).unwrap());
    assert!(!path.exists());
    assert!(store.get(&id).is_none());
    assert!(!store.remove(&id).unwrap());
}

#[test]
fn a_crash_mid_write_leaves_a_temporary_file_that_loading_ignores() {
    let (_temp, dir) = cliproxyapi_copy();
    // What a process killed between write and rename leaves: half a file, hidden.
    let leftover = dir.join(".kimi-1784980000000.json.1a2b3c4d5e6f.tmp");
    fs::write(&leftover, b"{\n  \"type\": \"kimi\",\n  \"access_t").unwrap();
    fs::write(dir.join("notes.txt"), b"not an account").unwrap();
    fs::create_dir(dir.join("backup")).unwrap();
    fs::write(dir.join("backup/codex-old.json"), b"{}").unwrap();

    let store = Store::open(&dir).unwrap();
    let snapshot = store.snapshot();
    assert_eq!(snapshot.accounts.len(), 13);
    assert_eq!(
        snapshot.refused.len(),
        2,
        "only broken.json and mystery.json: {:?}",
        snapshot.refused
    );
    assert!(
        leftover.exists(),
        "another process's leftovers are not Plugboard's to delete"
    );

    // A save leaves no temporary file of its own, only the new whole file.
    let mut kimi = (*store.get("kimi-1784980000000").unwrap()).clone();
    kimi.update_tokens(&Tokens {
        access: Some(Secret::new("fake-kimi-access-2")),
        expires_at: Some(at(EXPIRY + 3600)),
        ..Tokens::default()
    });
    store.save(&kimi).unwrap();
    let temporaries: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert_eq!(
        temporaries,
        [leftover.file_name().unwrap().to_str().unwrap()]
    );
    let written: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join("kimi-1784980000000.json")).unwrap()).unwrap();
    assert_eq!(
        written["expired"],
        EXPIRY + 3600,
        "unix seconds stay unix seconds"
    );
    assert_eq!(
        written["device_id"], "fake-device-id",
        "keys Plugboard does not own stay"
    );
    assert_eq!(written["access_token"], "fake-kimi-access-2");
    assert_eq!(written["refresh_token"], "fake-kimi-refresh");
}

#[test]
fn a_refused_file_is_never_rewritten() {
    let (_temp, dir) = cliproxyapi_copy();
    let broken = dir.join("broken.json");
    let mystery = dir.join("mystery.json");
    let before = (fs::read(&broken).unwrap(), fs::read(&mystery).unwrap());
    let store = Store::open(&dir).unwrap();

    assert!(!store.rescan(), "nothing changed");
    for account in store.snapshot().accounts.values() {
        let mut account = (**account).clone();
        account.set_disabled(Some("testing"));
        store.save(&account).unwrap();
    }
    assert_eq!(
        store
            .snapshot()
            .accounts
            .values()
            .filter(|a| a.disabled.is_some())
            .count(),
        13
    );
    assert!(!store.rescan(), "the store's own writes are not changes");

    // Not by a save under its name, not by remove.
    let impostor = AccountFile::new("broken", "codex", None, Tokens::default(), BTreeMap::new());
    let error = store.save(&impostor).unwrap_err().to_string();
    assert!(error.contains("broken.json"), "{error}");
    assert!(!store.remove("mystery").unwrap());
    // A new account's id steps around it.
    fs::write(dir.join("codex-me@example.com.json"), b"{ not json").unwrap();
    assert!(store.rescan());
    assert_eq!(
        store.new_id("codex", Some("me@example.com")),
        "codex-me@example.com-2"
    );

    assert_eq!(
        (fs::read(&broken).unwrap(), fs::read(&mystery).unwrap()),
        before
    );
}

#[test]
fn files_added_changed_and_removed_by_hand_are_live_within_seconds() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("auth");
    let store = Store::open(&dir).unwrap();
    let seen: Arc<Mutex<Vec<Labels>>> = Arc::default();
    let record = seen.clone();
    let _watch = store
        .watch(Box::new(move |snapshot: &Snapshot| {
            let labels = snapshot
                .accounts
                .iter()
                .map(|(id, account)| (id.clone(), account.label.clone()))
                .collect();
            record.lock().unwrap().push(labels);
        }))
        .unwrap();
    let calls = || seen.lock().unwrap().len();

    // Added: copied in from CLIProxyAPI.
    let source = fixtures().join("cliproxyapi/qwen-dev@example.com.json");
    let path = dir.join("qwen-dev@example.com.json");
    fs::copy(&source, &path).unwrap();
    wait_until("the copied file is an account", || {
        store.get("qwen-dev@example.com").is_some()
    });
    wait_until("on_change saw it", || {
        seen.lock()
            .unwrap()
            .last()
            .is_some_and(|labels| labels.contains_key("qwen-dev@example.com"))
    });

    // Changed: edited in place by hand.
    let edited = fs::read_to_string(&source)
        .unwrap()
        .replace("dev@example.com", "renamed@example.com");
    fs::write(&path, edited).unwrap();
    wait_until("the edit is live", || {
        store.get("qwen-dev@example.com").unwrap().label.as_deref() == Some("renamed@example.com")
    });
    wait_until("on_change saw the edit", || {
        seen.lock().unwrap().last().is_some_and(|labels| {
            labels["qwen-dev@example.com"].as_deref() == Some("renamed@example.com")
        })
    });

    // The store's own save is not an outside change.
    let calls_before_save = calls();
    let mut account = (*store.get("qwen-dev@example.com").unwrap()).clone();
    account.set_disabled(Some("testing"));
    store.save(&account).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        calls(),
        calls_before_save,
        "a save by the store itself calls no on_change"
    );
    assert!(
        store
            .get("qwen-dev@example.com")
            .unwrap()
            .disabled
            .is_some()
    );

    // Removed.
    fs::remove_file(&path).unwrap();
    wait_until("the removal is live", || {
        store.get("qwen-dev@example.com").is_none()
    });
    wait_until("on_change saw the removal", || {
        seen.lock()
            .unwrap()
            .last()
            .is_some_and(|labels| labels.is_empty())
    });
}

fn import_one(name: &str) -> (&'static str, Vec<AccountFile>) {
    let mut imported = import::read(&fixtures().join("tools").join(name)).unwrap();
    assert_eq!(imported.len(), 1);
    let imported = imported.remove(0);
    (imported.format, imported.accounts)
}

#[test]
fn other_tools_credential_files_import_as_accounts() {
    let (format, accounts) = import_one("codex-auth.json");
    assert_eq!(format, "Codex CLI");
    let codex = &accounts[0];
    assert_eq!(
        (codex.kind.as_str(), codex.label.as_deref()),
        ("codex", Some("dev@example.com"))
    );
    assert_eq!(codex.id, "codex-dev@example.com");
    assert_eq!(
        codex.attributes["chatgpt-account-id"],
        "11111111-2222-3333-4444-555555555555"
    );
    assert_eq!(
        codex.tokens.expires_at,
        Some(at(EXPIRY)),
        "from the access token's exp"
    );
    assert_eq!(
        expose(&codex.tokens.refresh),
        Some("rt_fake-codex-cli-refresh")
    );
    assert!(codex.tokens.last_refresh.is_some());

    let error = import::read(&fixtures().join("tools/codex-apikey-auth.json"))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("only an OpenAI API key") && error.contains("api-key"),
        "{error}"
    );
    assert!(!error.contains("sk-fake-openai-key"));

    let (format, accounts) = import_one("claude-credentials.json");
    assert_eq!(format, "Claude Code");
    let claude = &accounts[0];
    assert_eq!(claude.kind, "claude-oauth");
    assert_eq!(claude.attributes["subscription-type"], "max");
    assert_eq!(claude.tokens.expires_at, Some(at(EXPIRY)));
    assert!(claude.id.starts_with("claude-oauth-"));

    let (format, accounts) = import_one("gemini-oauth_creds.json");
    assert_eq!(format, "Gemini CLI");
    let gemini = &accounts[0];
    assert_eq!(
        (gemini.kind.as_str(), gemini.label.as_deref()),
        ("gemini-cli", Some("gcli@example.com"))
    );
    assert_eq!(gemini.tokens.expires_at, Some(at(EXPIRY)));

    let (format, accounts) = import_one("kiro/kiro-auth-token.json");
    assert_eq!(format, "Kiro");
    let kiro = &accounts[0];
    assert_eq!(kiro.kind, "kiro-idc");
    assert_eq!(kiro.attributes["auth-method"], "IdC");
    assert_eq!(kiro.attributes["region"], "eu-central-1");
    assert_eq!(
        kiro.attributes["api-region"], "us-east-1",
        "no profile ARN yet: the login region is not the API region"
    );
    assert_eq!(
        kiro.tokens.expires_at,
        Some(at(EXPIRY) + Duration::from_millis(899))
    );
    let client = kiro.client.as_ref().expect("the companion registration");
    assert_eq!(client.id, "fake-registered-client-id");
    assert_eq!(
        client.secret.as_ref().unwrap().expose(),
        "fake-registered-client-secret"
    );
    assert!(
        kiro.secrets()
            .iter()
            .any(|secret| secret.expose() == "fake-registered-client-secret")
    );

    let (format, accounts) = import_one("apps.json");
    assert_eq!(format, "GitHub Copilot");
    let found: Vec<_> = accounts
        .iter()
        .map(|a| {
            (
                a.label.as_deref().unwrap(),
                a.attributes["github-host"].as_str(),
                expose(&a.tokens.access).unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("octocat", "github.com", "ghu_fakeAppsToken0001"),
            (
                "octo-enterprise",
                "ghe.example.com",
                "ghu_fakeAppsToken0002"
            )
        ]
    );
    let (_, accounts) = import_one("hosts.json");
    assert_eq!(accounts[0].label.as_deref(), Some("hubot"));
    assert_eq!(
        accounts[0].identity().as_deref(),
        Some("copilot:github.com:hubot")
    );

    let error = import::read(&fixtures().join("tools/unknown-shape.json"))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("unknown-shape.json") && error.contains("Codex CLI auth.json"),
        "{error}"
    );
}

#[test]
fn imports_save_into_the_store_and_the_same_account_is_found_again() {
    let temp = tempfile::tempdir().unwrap();
    let store = Store::open(&temp.path().join("accounts")).unwrap();

    // A whole CLIProxyAPI directory: every account, ids kept; bad files skipped.
    let imported = import::read(&fixtures().join("cliproxyapi")).unwrap();
    let accounts: Vec<&AccountFile> = imported.iter().flat_map(|i| &i.accounts).collect();
    assert_eq!(
        imported.iter().map(|i| i.format).collect::<Vec<_>>(),
        ["CLIProxyAPI"]
    );
    assert_eq!(accounts.len(), 13);
    for account in &accounts {
        assert!(store.find_same(account).is_none());
        store.save(account).unwrap();
    }
    // The saved copies are byte-for-byte what CLIProxyAPI wrote, re-indented.
    let original: serde_json::Value =
        serde_json::from_slice(&fs::read(fixtures().join("cliproxyapi/kiro-dev.json")).unwrap())
            .unwrap();
    let copy: serde_json::Value =
        serde_json::from_slice(&fs::read(store.dir().join("kiro-dev.json")).unwrap()).unwrap();
    assert_eq!(original, copy);

    // Codex CLI's login of the same ChatGPT account is the stored one.
    let (_, codex) = import_one("codex-auth.json");
    let same = store.find_same(&codex[0]).expect("same ChatGPT account id");
    assert_eq!(same.id, "codex-1a2b3c4d-dev@example.com-plus");
    // Copilot's hosts.json user is someone else.
    let (_, hubot) = import_one("hosts.json");
    assert!(store.find_same(&hubot[0]).is_none());
    let id = store.new_id("copilot", hubot[0].label.as_deref());
    let mut hubot = hubot.into_iter().next().unwrap();
    hubot.id = id.clone();
    store.save(&hubot).unwrap();
    assert_eq!(store.get(&id).unwrap().kind, "copilot");
    assert_eq!(store.find_same(&hubot).unwrap().id, id);
}
