//! Crash safety of the credential store: `plugboard accounts refresh ID` killed with
//! SIGKILL at a random instant, fifty times, against the scripted OAuth server that
//! rotates refresh tokens. After every kill the account file parses and holds either
//! the token pair it held before or the pair the server issued in that round; never a
//! torn file, never a mix, never a temporary file read as an account.
//!
//! The OAuth protocol itself has a window no store can close: the server rotated (the
//! old refresh token is dead) and the process died before writing the new one. The
//! server has no switch to keep old refresh tokens alive, so each round seeds the
//! token the file holds back into it (`add_refresh_token`): the rounds test the store,
//! not the protocol, and the rounds that landed in that window are counted.

mod oauth_support;
mod serve_support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oauth_support::{MockConfig, MockOAuth};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// A child still running after this is killed and the test fails.
const CHILD_LIMIT: Duration = Duration::from_secs(30);
/// Rounds of spawn and kill.
const ROUNDS: usize = 50;
/// The whole test stops starting rounds after this.
const BUDGET: Duration = Duration::from_secs(50);

const SEED_ACCESS: &str = "at-seed-0123456789";
const SEED_REFRESH: &str = "rt-seed-0123456789";

/// A config with one `test-oauth` entry on the store `auth`, its endpoints at `mock`.
fn config(dir: &Path, auth: &Path, mock: &MockOAuth) -> PathBuf {
    let built = serve_support::test_adapters_with(&["test-oauth"]).join("test-oauth.wasm");
    let adapters = dir.join("adapters");
    std::fs::create_dir_all(&adapters).unwrap();
    std::fs::copy(built, adapters.join("test-oauth.wasm")).unwrap();
    let endpoints: Vec<String> = mock
        .endpoints()
        .into_iter()
        .filter(|(name, _)| name != "base")
        .map(|(name, url)| format!("{name}: '{url}'"))
        .collect();
    let text = format!(
        "api-keys: [k]\nadapters-dir: '{}'\ncache-dir: '{}'\nauth-dir: '{}'\n\
         providers:\n  - name: sub\n    adapter: test-oauth\n    models: [m]\n    \
         accounts: auth-dir\n    endpoints: {{{}}}\n",
        adapters.display(),
        serve_support::shared_compile_cache().display(),
        auth.display(),
        endpoints.join(", ")
    );
    let path = dir.join("config.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `plugboard ARGS --config CONFIG`, quiet, without proxies from the environment.
fn command(config: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_plugboard"));
    command.args(args).arg("--config").arg(config);
    for name in [
        "RUST_LOG",
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        command.env_remove(name);
    }
    command.stdin(Stdio::null());
    command
}

/// Run to the end (killed after [`CHILD_LIMIT`]): success and stdout.
async fn run(config: &Path, args: &[&str]) -> (bool, String) {
    let config = config.to_owned();
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let child = command(&config, &args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        let (sender, receiver) = std::sync::mpsc::channel::<()>();
        let watchdog = std::thread::spawn(move || {
            if receiver.recv_timeout(CHILD_LIMIT).is_err() {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
        });
        let output = child.wait_with_output().unwrap();
        let _ = sender.send(());
        let _ = watchdog.join();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if !output.status.success() {
            eprintln!("plugboard {args:?} failed:\n{stdout}\n{stderr}");
        }
        (output.status.success(), stdout)
    })
    .await
    .unwrap()
}

/// The account file's token pair; panics naming the round when it is not whole JSON.
fn pair(path: &Path, round: usize) -> (String, String, Value) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("round {round}: no file: {e}"));
    let doc: Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "round {round}: the file is torn ({e}): {:?}",
            String::from_utf8_lossy(&bytes)
        )
    });
    let text = |key: &str| {
        doc[key]
            .as_str()
            .unwrap_or_else(|| panic!("round {round}: no {key} in {doc}"))
            .to_owned()
    };
    (text("access_token"), text("refresh_token"), doc)
}

/// A uniform delay in `[0, up_to]`.
fn random_delay(up_to: Duration) -> Duration {
    let mut bytes = [0u8; 8];
    getrandom::getrandom(&mut bytes).unwrap();
    let micros = up_to.as_micros().max(1) as u64;
    Duration::from_micros(u64::from_le_bytes(bytes) % (micros + 1))
}

/// The names in `dir`: (account files the store reads, hidden temporary files).
fn names(dir: &Path) -> (Vec<String>, Vec<String>) {
    let mut accounts = Vec::new();
    let mut temporary = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && name.ends_with(".tmp") {
            temporary.push(name);
        } else if name.ends_with(".json") && !name.starts_with('.') {
            accounts.push(name);
        }
    }
    accounts.sort();
    (accounts, temporary)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_killed_at_any_instant_leaves_the_old_tokens_or_the_new_ones() {
    let started = Instant::now();
    let mock = MockOAuth::start(MockConfig::default()).await;
    assert!(MockConfig::default().rotate_refresh, "the server rotates");
    mock.add_refresh_token(SEED_REFRESH);
    let dir = tempfile::tempdir().unwrap();
    let auth = dir.path().join("auth");
    std::fs::create_dir(&auth).unwrap();
    std::fs::set_permissions(&auth, std::fs::Permissions::from_mode(0o700)).unwrap();
    let file = auth.join("one.json");
    std::fs::write(
        &file,
        serde_json::to_vec_pretty(&serde_json::json!({
            "plugboard": 1,
            "type": "pkce",
            "email": "one@example.com",
            "access_token": SEED_ACCESS,
            "refresh_token": SEED_REFRESH,
            "expired": "2030-01-01T00:00:00Z",
        }))
        .unwrap(),
    )
    .unwrap();
    let config = config(dir.path(), &auth, &mock);

    // One run to warm the compile cache, one measured: the kills land anywhere from
    // startup to the end of a whole run.
    assert!(run(&config, &["accounts", "refresh", "one"]).await.0);
    let clock = Instant::now();
    assert!(run(&config, &["accounts", "refresh", "one"]).await.0);
    let whole_run = clock.elapsed();
    assert_eq!(mock.issued_access().len(), 2);
    let (access, refresh, _) = pair(&file, 0);
    assert_eq!(
        (access, refresh),
        (
            mock.issued_access()[1].clone(),
            mock.issued_refresh()[1].clone()
        )
    );

    let (mut rounds, mut unchanged, mut written, mut lost_rotation, mut leftovers) =
        (0, 0, 0, 0, 0);
    for round in 1..=ROUNDS {
        if started.elapsed() > BUDGET {
            break;
        }
        let (before_access, before_refresh, _) = pair(&file, round);
        // Seed back what the file holds (see the module docs).
        mock.add_refresh_token(&before_refresh);
        let issued_before = mock.issued_access().len();

        let mut child = command(&config, &["accounts", "refresh", "one"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        tokio::time::sleep(random_delay(whole_run)).await;
        let _ = child.kill(); // SIGKILL
        let deadline = Instant::now() + CHILD_LIMIT;
        while child.try_wait().unwrap().is_none() {
            assert!(
                Instant::now() < deadline,
                "round {round}: the child did not die"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // A request the child sent just before dying is still answered: let it land.
        tokio::time::sleep(Duration::from_millis(30)).await;

        let (access, refresh, doc) = pair(&file, round);
        let issued_access = mock.issued_access();
        let issued_refresh = mock.issued_refresh();
        assert_eq!(issued_access.len(), issued_refresh.len());
        let issued_now: Vec<(&String, &String)> = issued_access[issued_before..]
            .iter()
            .zip(&issued_refresh[issued_before..])
            .collect();
        assert!(issued_now.len() <= 1, "round {round}: one refresh at most");
        if (access.as_str(), refresh.as_str()) == (&before_access, &before_refresh) {
            unchanged += 1;
            if !issued_now.is_empty() {
                lost_rotation += 1;
            }
        } else {
            assert!(
                issued_now.contains(&(&access, &refresh)),
                "round {round}: the file holds a pair that is neither the old one nor the one \
                 issued in this round"
            );
            written += 1;
        }
        assert!(
            doc.get("disabled").is_none_or(|d| d == false),
            "round {round}: {doc}"
        );
        assert_eq!(
            doc["email"], "one@example.com",
            "round {round}: other keys kept"
        );
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600,
            "round {round}"
        );
        let (accounts, temporary) = names(&auth);
        assert_eq!(
            accounts,
            ["one.json"],
            "round {round}: only the account is readable"
        );
        for name in &temporary {
            let mode = std::fs::metadata(auth.join(name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "round {round}: {name} is private");
        }
        leftovers = leftovers.max(temporary.len());
        rounds += 1;
    }
    eprintln!(
        "{rounds} rounds in {:?} (a whole run: {whole_run:?}): {written} wrote the new pair, \
         {unchanged} left the old one ({lost_rotation} of them after the server had rotated); \
         at most {leftovers} temporary file(s) left at once",
        started.elapsed()
    );
    assert!(rounds >= 20, "only {rounds} rounds ran within {BUDGET:?}");

    // A temporary file left by a writer killed mid-write is ignored by `list`, which
    // still works and shows the one account.
    std::fs::write(
        auth.join(".one.json.0123456789ab.tmp"),
        br#"{"plugboard": 1, "type": "pkce", "access_token": "at-tor"#,
    )
    .unwrap();
    let (ok, listed) = run(&config, &["accounts", "list", "--json"]).await;
    assert!(ok);
    let listed: Value = serde_json::from_str(&listed).unwrap();
    let accounts = listed["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 1, "{listed}");
    assert_eq!(accounts[0]["id"], "one");
    assert_eq!(accounts[0]["state"], "ok");
    assert_eq!(listed["refused"], serde_json::json!([]));
    let (access, _, _) = pair(&file, ROUNDS + 1);
    let fingerprint = hex(&Sha256::digest(access.as_bytes())[..4]);
    assert_eq!(accounts[0]["fingerprint"], fingerprint.as_str());

    // And the chain is whole: one more refresh, not killed, rotates as usual.
    let (_, refresh, _) = pair(&file, ROUNDS + 1);
    mock.add_refresh_token(&refresh);
    let (ok, out) = run(&config, &["accounts", "refresh", "one"]).await;
    assert!(ok);
    assert!(out.starts_with("refreshed `one`: expires "), "{out}");
    let (access, refresh, _) = pair(&file, ROUNDS + 2);
    assert_eq!(&access, mock.issued_access().last().unwrap());
    assert_eq!(&refresh, mock.issued_refresh().last().unwrap());
    assert!(started.elapsed() < Duration::from_secs(90));
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
