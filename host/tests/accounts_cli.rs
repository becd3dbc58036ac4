//! Stories of `plugboard login` and `plugboard accounts …` as a person runs them: the
//! real binary as a child process, a config with one `test-oauth` entry on a credential
//! store in a temporary directory, and the strict scripted OAuth server
//! (`oauth_support`) behind its endpoints. Each story checks what lands on disk (file,
//! mode, tokens), what is printed, and that no token is ever printed.

mod oauth_support;
mod serve_support;

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use oauth_support::{DeviceStep, MockConfig, MockOAuth, account, at};
use serde_json::Value;

/// A child still running after this is killed and the story fails.
const CHILD_LIMIT: Duration = Duration::from_secs(30);

/// The email of the id token the mock issues.
const MOCK_EMAIL: &str = "user@example.com";

/// A config (one `test-oauth` entry on the store), its store and a place for files.
struct Setup {
    dir: tempfile::TempDir,
    config: PathBuf,
    auth: PathBuf,
}

impl Setup {
    /// A config whose entry `sub` points every `test-oauth` endpoint at `mock`, and an
    /// empty store.
    fn new(mock: &MockOAuth) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let auth = dir.path().join("auth");
        Setup::with_store(mock, dir, auth)
    }

    /// [`Setup::new`] with the store at `auth` (which may already hold files).
    fn with_store(mock: &MockOAuth, dir: tempfile::TempDir, auth: PathBuf) -> Setup {
        let adapters = only_test_oauth(dir.path());
        let endpoints: Vec<String> = mock
            .endpoints()
            .into_iter()
            .filter(|(name, _)| name != "base")
            .map(|(name, url)| format!("{name}: '{url}'"))
            .collect();
        let config = format!(
            "api-keys: [k]\nadapters-dir: '{}'\ncache-dir: '{}'\nauth-dir: '{}'\n\
             providers:\n  - name: sub\n    adapter: test-oauth\n    models: [m]\n    \
             accounts: auth-dir\n    endpoints: {{{}}}\n",
            adapters.display(),
            serve_support::shared_compile_cache().display(),
            auth.display(),
            endpoints.join(", ")
        );
        let path = dir.path().join("config.yaml");
        std::fs::write(&path, config).unwrap();
        Setup {
            dir,
            config: path,
            auth,
        }
    }

    /// Run `plugboard ARGS --config <config>` to its end (stdin empty).
    async fn run(&self, args: &[&str]) -> Done {
        self.spawn(args, &[], false).finish().await
    }

    /// Start `plugboard ARGS --config <config>` with `env` added; stdin piped when
    /// `stdin`, else empty.
    fn spawn(&self, args: &[&str], env: &[(&str, OsString)], stdin: bool) -> Running {
        let mut command = Command::new(env!("CARGO_BIN_EXE_plugboard"));
        command.args(args).arg("--config").arg(&self.config);
        for name in [
            "RUST_LOG",
            "BROWSER",
            "HTTP_PROXY",
            "http_proxy",
            "HTTPS_PROXY",
            "https_proxy",
            "ALL_PROXY",
            "all_proxy",
        ] {
            command.env_remove(name);
        }
        command.env("NO_COLOR", "1");
        for (name, value) in env {
            command.env(name, value);
        }
        command
            .stdin(if stdin { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("the plugboard binary starts");
        let (sender, lines) = tokio::sync::mpsc::unbounded_channel();
        let stderr = Arc::new(Mutex::new(String::new()));
        let stdout = Arc::new(Mutex::new(String::new()));
        let err_pipe = child.stderr.take().unwrap();
        let err_text = stderr.clone();
        let err_reader = std::thread::spawn(move || {
            for line in BufReader::new(err_pipe).split(b'\n') {
                let Ok(line) = line else { break };
                let line = String::from_utf8_lossy(&line).into_owned();
                err_text.lock().unwrap().push_str(&format!("{line}\n"));
                let _ = sender.send(line);
            }
        });
        let mut out_pipe = child.stdout.take().unwrap();
        let out_text = stdout.clone();
        let out_reader = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = out_pipe.read_to_end(&mut bytes);
            *out_text.lock().unwrap() = String::from_utf8_lossy(&bytes).into_owned();
        });
        Running {
            child,
            stderr,
            stdout,
            lines,
            readers: vec![err_reader, out_reader],
        }
    }

    /// The account files of the store (names, sorted).
    fn files(&self) -> Vec<String> {
        account_files(&self.auth)
    }

    /// The account file `id`, parsed.
    fn stored(&self, id: &str) -> Value {
        let bytes = std::fs::read(self.auth.join(format!("{id}.json"))).unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }
}

/// The adapters directory of a story: `test-oauth` alone (the test components
/// directory holds others, some refused on purpose).
fn only_test_oauth(into: &Path) -> PathBuf {
    let built = serve_support::test_adapters_with(&["test-oauth"]).join("test-oauth.wasm");
    let dir = into.join("adapters");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(built, dir.join("test-oauth.wasm")).unwrap();
    dir
}

/// The names of the files of `dir` the store reads as accounts (`*.json`, not hidden).
fn account_files(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json") && !name.starts_with('.'))
        .collect();
    names.sort();
    names
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// A child process of the CLI.
struct Running {
    child: Child,
    stderr: Arc<Mutex<String>>,
    stdout: Arc<Mutex<String>>,
    lines: tokio::sync::mpsc::UnboundedReceiver<String>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

/// How a child ended.
#[derive(Debug)]
struct Done {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Done {
    /// Everything it printed.
    fn printed(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

impl Running {
    /// The first stderr line (from now) containing `needle`.
    async fn line_with(&mut self, needle: &str) -> String {
        let deadline = tokio::time::Instant::now() + CHILD_LIMIT;
        loop {
            match tokio::time::timeout_at(deadline, self.lines.recv()).await {
                Ok(Some(line)) if line.contains(needle) => return line,
                Ok(Some(_)) => {}
                Ok(None) => panic!(
                    "the CLI ended without printing {needle:?}; stderr:\n{}",
                    self.stderr.lock().unwrap()
                ),
                Err(_) => {
                    let _ = self.child.kill();
                    panic!(
                        "the CLI printed no {needle:?} within {CHILD_LIMIT:?}; stderr:\n{}",
                        self.stderr.lock().unwrap()
                    );
                }
            }
        }
    }

    /// Type `line` and Enter, then close stdin.
    fn type_line(&mut self, line: &str) {
        let mut stdin = self.child.stdin.take().expect("stdin is piped");
        writeln!(stdin, "{line}").unwrap();
    }

    /// Wait for the end (killing it after [`CHILD_LIMIT`]) and collect its output.
    async fn finish(mut self) -> Done {
        let deadline = Instant::now() + CHILD_LIMIT;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break Some(status);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let readers = std::mem::take(&mut self.readers);
        tokio::task::spawn_blocking(move || {
            for reader in readers {
                let _ = reader.join();
            }
        })
        .await
        .unwrap();
        let stderr = self.stderr.lock().unwrap().clone();
        assert!(
            status.is_some(),
            "the CLI was still running after {CHILD_LIMIT:?}; stderr:\n{stderr}"
        );
        Done {
            ok: status.is_some_and(|status| status.success()),
            stdout: self.stdout.lock().unwrap().clone(),
            stderr,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Every token the mock issued is absent from `text`.
fn no_issued_token(mock: &MockOAuth, text: &str) {
    for token in mock.issued_access().iter().chain(&mock.issued_refresh()) {
        assert!(
            !text.contains(token.as_str()),
            "a token was printed:\n{text}"
        );
    }
}

/// The account id in a "logged in: account `ID` added|updated" line.
fn logged_in_id(stdout: &str) -> String {
    let rest = stdout
        .split("logged in: account `")
        .nth(1)
        .unwrap_or_else(|| panic!("no login line in {stdout:?}"));
    rest.split('`').next().unwrap().to_owned()
}

/// `plugboard login sub --type pkce --no-browser`: open the printed URL as a browser
/// would, and paste what `paste` makes of the address it ends on.
async fn paste_login(setup: &Setup, paste: impl FnOnce(String) -> String) -> Done {
    let mut cli = setup.spawn(
        &["login", "sub", "--type", "pkce", "--no-browser"],
        &[],
        true,
    );
    let line = cli.line_with("Open this URL to log in: ").await;
    let url = line
        .split("Open this URL to log in: ")
        .nth(1)
        .unwrap()
        .trim()
        .to_owned();
    cli.line_with("paste").await;
    let location = MockOAuth::browse(&url)
        .await
        .unwrap_or_else(|(status, page)| panic!("the login page refused: {status} {page}"));
    cli.type_line(&paste(location));
    cli.finish().await
}

/// `url` with its `state` replaced.
fn with_state(url: &str, state: &str) -> String {
    let mut parsed = reqwest::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .into_owned()
        .map(|(k, v)| {
            if k == "state" {
                (k, state.to_owned())
            } else {
                (k, v)
            }
        })
        .collect();
    parsed.query_pairs_mut().clear().extend_pairs(pairs);
    parsed.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pasted_redirect_logs_in_again_updates_and_a_foreign_state_stores_nothing() {
    let mock = MockOAuth::start(MockConfig::default()).await;
    let setup = Setup::new(&mock);

    // A redirect whose state is not this login's: refused before any exchange.
    let forged = paste_login(&setup, |location| with_state(&location, "forged-state")).await;
    assert!(!forged.ok, "{forged:?}");
    assert!(
        forged.stderr.contains("state differs") && forged.stderr.contains("nothing was exchanged"),
        "{}",
        forged.stderr
    );
    assert_eq!(mock.counts().authorization_code, 0);
    assert!(setup.files().is_empty(), "{:?}", setup.files());

    // The real redirect: one file, 0600, the tokens the mock issued, named by email.
    let first = paste_login(&setup, |location| location).await;
    assert!(first.ok, "{first:?}");
    assert!(
        first.stdout.contains("` added (pkce, user@example.com)"),
        "{}",
        first.stdout
    );
    let id = logged_in_id(&first.stdout);
    assert_eq!(setup.files(), [format!("{id}.json")]);
    assert_eq!(mode(&setup.auth.join(format!("{id}.json"))), 0o600);
    assert_eq!(mode(&setup.auth), 0o700);
    let file = setup.stored(&id);
    assert_eq!(file["plugboard"], 1);
    assert_eq!(file["type"], "pkce");
    assert_eq!(file["email"], MOCK_EMAIL);
    assert_eq!(file["access_token"], mock.issued_access()[0].as_str());
    assert_eq!(file["refresh_token"], mock.issued_refresh()[0].as_str());
    assert!(
        file["expired"].as_str().is_some_and(|at| at.ends_with('Z')),
        "{file}"
    );
    assert!(
        first
            .stdout
            .contains(&format!("stored in {}", setup.auth.display()))
    );
    no_issued_token(&mock, &first.printed());

    // The same identity again: the one file is updated with the new tokens.
    let second = paste_login(&setup, |location| location).await;
    assert!(second.ok, "{second:?}");
    assert!(
        second
            .stdout
            .contains(&format!("logged in: account `{id}` updated")),
        "{}",
        second.stdout
    );
    assert_eq!(setup.files(), [format!("{id}.json")]);
    let file = setup.stored(&id);
    assert_eq!(file["access_token"], mock.issued_access()[1].as_str());
    assert_eq!(file["refresh_token"], mock.issued_refresh()[1].as_str());
    assert_eq!(mock.counts().authorization_code, 2);
    no_issued_token(&mock, &second.printed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_opened_browser_comes_back_to_the_listener_and_the_account_is_stored() {
    let mock = MockOAuth::start(MockConfig::default()).await;
    let setup = Setup::new(&mock);
    // A browser: notes the URL it was given, follows the login page's redirect to the
    // loopback listener.
    let script = setup.dir.path().join("browser.sh");
    let opened = setup.dir.path().join("opened");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$1\" > '{}'\nexec curl -sSL --noproxy '*' -o /dev/null \"$1\"\n",
            opened.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();

    let done = setup
        .spawn(
            &["login", "sub", "--type", "pkce"],
            &[("BROWSER", script.into_os_string())],
            false,
        )
        .finish()
        .await;

    assert!(done.ok, "{done:?}");
    let url = std::fs::read_to_string(&opened).unwrap();
    assert!(url.starts_with(&mock.url("/authorize?")), "{url}");
    assert!(done.stderr.contains(url.trim()), "the URL is printed too");
    assert!(
        done.stdout.contains("` added (pkce, user@example.com)"),
        "{}",
        done.stdout
    );
    let id = logged_in_id(&done.stdout);
    assert_eq!(setup.files(), [format!("{id}.json")]);
    let file = setup.stored(&id);
    assert_eq!(file["access_token"], mock.issued_access()[0].as_str());
    assert_eq!(file["refresh_token"], mock.issued_refresh()[0].as_str());
    assert_eq!(mock.counts().authorize, 1);
    assert_eq!(mock.counts().authorization_code, 1);
    no_issued_token(&mock, &done.printed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_login_shows_the_code_waits_while_pending_and_a_denial_stores_nothing() {
    let mock = MockOAuth::start(MockConfig::default()).await;
    mock.script_device(vec![DeviceStep::Pending, DeviceStep::Tokens]);
    let setup = Setup::new(&mock);

    let mut cli = setup.spawn(&["login", "sub", "--type", "device"], &[], false);
    let shown = cli.line_with("enter the code").await;
    let done = cli.finish().await;

    assert!(
        shown.contains(&format!("Open {} ", mock.url("/device"))),
        "{shown}"
    );
    let code = shown.rsplit(' ').next().unwrap();
    assert!(
        code.starts_with("MOCK-")
            && code.len() == 9
            && code[5..].bytes().all(|b| b.is_ascii_digit()),
        "{shown}"
    );
    assert!(done.ok, "{done:?}");
    assert_eq!(mock.counts().device_start, 1);
    assert_eq!(
        mock.counts().device_code,
        2,
        "one pending poll, then the tokens"
    );
    assert!(done.stdout.contains("` added (device)"), "{}", done.stdout);
    let id = logged_in_id(&done.stdout);
    assert_eq!(setup.files(), [format!("{id}.json")]);
    assert_eq!(mode(&setup.auth.join(format!("{id}.json"))), 0o600);
    let file = setup.stored(&id);
    assert_eq!(file["type"], "device");
    assert_eq!(file["access_token"], mock.issued_access()[0].as_str());
    assert_eq!(file["refresh_token"], mock.issued_refresh()[0].as_str());
    no_issued_token(&mock, &done.printed());

    // The user says no: a clear failure, and nothing more in the store.
    mock.script_device(vec![DeviceStep::Denied]);
    let denied = setup.run(&["login", "sub", "--type", "device"]).await;
    assert!(!denied.ok, "{denied:?}");
    assert!(
        denied.stderr.contains("login failed: the login was denied"),
        "{}",
        denied.stderr
    );
    assert_eq!(setup.files(), [format!("{id}.json")]);
    assert_eq!(mock.issued_access().len(), 1);
}

/// The secret values of a file of another tool, found in its text (a broken file
/// too).
fn secrets_in(text: &str) -> Vec<String> {
    const KEYS: [&str; 12] = [
        "access_token",
        "refresh_token",
        "id_token",
        "api_key",
        "client_secret",
        "clientSecret",
        "github_token",
        "copilot_token",
        "private_key",
        "accessToken",
        "refreshToken",
        "oauth_token",
    ];
    let mut found = Vec::new();
    for key in KEYS {
        let quoted = format!("\"{key}\"");
        for (at, _) in text.match_indices(&quoted) {
            let rest = text[at + quoted.len()..].trim_start();
            let Some(rest) = rest.strip_prefix(':') else {
                continue;
            };
            let Some(rest) = rest.trim_start().strip_prefix('"') else {
                continue;
            };
            let value = &rest[..rest.find('"').unwrap_or(rest.len())];
            if value.len() >= 8 {
                found.push(value.replace("\\n", "\n"));
            }
        }
    }
    found
}

fn is_fingerprint(text: &str) -> bool {
    text.len() == 8
        && text
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_a_cliproxyapi_directory_shows_every_account_waiting_and_the_refused_files() {
    let mock = MockOAuth::start(MockConfig::default()).await;
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/auth/cliproxyapi");
    let dir = tempfile::tempdir().unwrap();
    let auth = dir.path().join("auth");
    std::fs::create_dir(&auth).unwrap();
    let mut before = Vec::new();
    let mut secrets = Vec::new();
    for entry in std::fs::read_dir(&fixtures).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        secrets.extend(secrets_in(&String::from_utf8_lossy(&bytes)));
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        std::fs::write(auth.join(&name), &bytes).unwrap();
        before.push((name, bytes));
    }
    before.sort();
    assert!(
        secrets.len() >= 20,
        "the fixtures hold tokens: {}",
        secrets.len()
    );
    assert!(
        secrets.iter().any(|s| s == "1//fake-gemini-refresh"),
        "nested `token` read"
    );
    let setup = Setup::with_store(&mock, dir, auth.clone());

    let table = setup.run(&["accounts", "list"]).await;
    let json = setup.run(&["accounts", "list", "--json"]).await;
    assert!(table.ok, "{table:?}");
    assert!(json.ok, "{json:?}");

    // Nothing written: the same files, byte for byte.
    let mut after: Vec<(String, Vec<u8>)> = std::fs::read_dir(&auth)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    after.sort();
    assert_eq!(after, before, "listing changed the directory");

    let listed: Value = serde_json::from_str(&json.stdout).unwrap();
    let accounts = listed["accounts"].as_array().unwrap();
    let refused: Vec<String> = listed["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let path = PathBuf::from(r["path"].as_str().unwrap());
            assert!(!r["reason"].as_str().unwrap().is_empty(), "{r}");
            path.file_name().unwrap().to_string_lossy().into_owned()
        })
        .collect();
    assert_eq!(refused, ["broken.json", "mystery.json"]);
    assert_eq!(accounts.len(), before.len() - refused.len());
    let mut fingerprints = 0;
    for row in accounts {
        let id = row["id"].as_str().unwrap();
        assert!(
            before.iter().any(|(name, _)| *name == format!("{id}.json")),
            "{id} is a fixture's stem"
        );
        assert_eq!(row["state"], "waiting-for-adapter", "{row}");
        assert_eq!(
            row["reason"].as_str().unwrap(),
            format!(
                "no loaded adapter declares credential kind `{}`",
                row["kind"].as_str().unwrap()
            )
        );
        assert_eq!(row["entries"], serde_json::json!([]), "{row}");
        if let Some(fingerprint) = row["fingerprint"].as_str() {
            fingerprints += 1;
            assert!(is_fingerprint(fingerprint), "{row}");
            assert!(table.stdout.contains(&format!("sha256:{fingerprint}")));
        }
        // The same row in the table.
        let line = table
            .stdout
            .lines()
            .find(|line| line.starts_with(&format!("{id} ")))
            .unwrap_or_else(|| panic!("{id} in the table:\n{}", table.stdout));
        assert!(
            line.contains("waiting-for-adapter: no loaded adapter"),
            "{line}"
        );
    }
    assert!(fingerprints >= 10, "{fingerprints}");
    assert!(table.stdout.starts_with(&format!(
        "{}: {} account(s), 2 refused",
        auth.display(),
        accounts.len()
    )));
    for name in &refused {
        let line = format!("refused {}: ", auth.join(name).display());
        assert!(table.stdout.contains(&line), "{line} in:\n{}", table.stdout);
    }
    assert!(table.stdout.contains("unknown account type `mystery-ai`"));
    for secret in &secrets {
        assert!(
            !table.printed().contains(secret.as_str()) && !json.printed().contains(secret.as_str()),
            "a fixture's secret was printed"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_says_ok_for_a_renewable_expired_token_disabled_and_expired() {
    let mock = MockOAuth::start(MockConfig::default()).await;
    let setup = Setup::new(&mock);
    let none = Value::Null;
    account(
        &setup.auth,
        "renewable",
        "pkce",
        "at-old-0123456789",
        Some("rt-0123456789"),
        &at(-60),
        none.clone(),
    );
    account(
        &setup.auth,
        "off",
        "pkce",
        "at-off-0123456789",
        Some("rt-off-0123456789"),
        &at(3600),
        serde_json::json!({"disabled": true, "disabled_reason": "x"}),
    );
    account(
        &setup.auth,
        "key",
        "api-key",
        "sk-key-0123456789",
        None,
        &at(-60),
        none,
    );

    let json = setup.run(&["accounts", "list", "--json"]).await;
    let table = setup.run(&["accounts", "list"]).await;
    assert!(json.ok && table.ok, "{json:?} {table:?}");

    let listed: Value = serde_json::from_str(&json.stdout).unwrap();
    let row = |id: &str| {
        listed["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["id"] == id)
            .unwrap_or_else(|| panic!("{id} listed: {listed}"))
            .clone()
    };
    let renewable = row("renewable");
    assert_eq!(renewable["state"], "ok");
    assert_eq!(renewable["reason"], "token expired; refreshed on first use");
    assert_eq!(renewable["entries"], serde_json::json!(["sub"]));
    assert_eq!(renewable["label"], "renewable@example.com");
    let off = row("off");
    assert_eq!(off["state"], "disabled");
    assert_eq!(off["reason"], "x");
    let key = row("key");
    assert_eq!(key["state"], "expired");
    assert!(
        key["reason"].as_str().unwrap().contains("log in again"),
        "{key}"
    );
    assert_eq!(listed["refused"], serde_json::json!([]));

    let line = |id: &str| {
        table
            .stdout
            .lines()
            .find(|line| line.starts_with(&format!("{id} ")))
            .unwrap_or_else(|| panic!("{id} in:\n{}", table.stdout))
            .to_owned()
    };
    assert!(line("renewable").ends_with("ok: token expired; refreshed on first use"));
    assert!(line("off").ends_with("disabled: x"));
    assert!(line("key").contains("expired: its token expired"));
    for secret in [
        "at-old-0123456789",
        "rt-0123456789",
        "at-off-0123456789",
        "sk-key-0123456789",
    ] {
        assert!(!json.printed().contains(secret) && !table.printed().contains(secret));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn importing_other_tools_files_twice_updates_the_same_accounts_and_remove_deletes() {
    let mock = MockOAuth::start(MockConfig::default()).await;
    let setup = Setup::new(&mock);
    // The sources, copied (the story checks they are left byte for byte).
    let tools = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/auth/tools");
    let src = setup.dir.path().join("src");
    std::fs::create_dir_all(src.join("kiro")).unwrap();
    let names = [
        "codex-auth.json",
        "claude-credentials.json",
        "gemini-oauth_creds.json",
        "apps.json",
        "kiro/kiro-auth-token.json",
        "kiro/0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c.json",
    ];
    let mut sources = Vec::new();
    for name in names {
        std::fs::copy(tools.join(name), src.join(name)).unwrap();
        sources.push((src.join(name), std::fs::read(src.join(name)).unwrap()));
    }
    let paths: Vec<String> = names[..5]
        .iter()
        .map(|name| src.join(name).display().to_string())
        .collect();
    let mut args = vec!["accounts", "import"];
    args.extend(paths.iter().map(String::as_str));

    let first = setup.run(&args).await;
    assert!(first.ok, "{first:?}");
    let added: Vec<&str> = first
        .stdout
        .lines()
        .filter(|l| l.starts_with("added `"))
        .collect();
    assert_eq!(
        added.len(),
        6,
        "codex, claude, gemini, kiro, two Copilot hosts:\n{}",
        first.stdout
    );
    assert_eq!(first.stdout.lines().count(), 6, "{}", first.stdout);
    for (format, kind) in [
        ("(Codex CLI)", "(codex, dev@example.com)"),
        ("(Claude Code)", "(claude-oauth)"),
        ("(Gemini CLI)", "(gemini-cli, gcli@example.com)"),
        ("(Kiro)", "(kiro-idc)"),
        ("(GitHub Copilot)", "(copilot, octocat)"),
        ("(GitHub Copilot)", "(copilot, octo-enterprise)"),
    ] {
        assert!(
            added
                .iter()
                .any(|l| l.ends_with(format) && l.contains(kind)),
            "{kind} {format} in:\n{}",
            first.stdout
        );
    }
    let files = setup.files();
    assert_eq!(files.len(), 6, "{files:?}");
    for name in &files {
        assert_eq!(mode(&setup.auth.join(name)), 0o600, "{name}");
    }
    let mut secrets = Vec::new();
    for (_, bytes) in &sources {
        secrets.extend(secrets_in(&String::from_utf8_lossy(bytes)));
    }
    // The Kiro account carries its registered client from the companion file.
    let kiro = files.iter().find(|name| name.starts_with("kiro-")).unwrap();
    let kiro_file = setup.stored(kiro.trim_end_matches(".json"));
    assert_eq!(
        kiro_file["refresh_token"], "aorFakeKiroIdeRefresh",
        "{kiro_file}"
    );
    assert!(
        kiro_file.to_string().contains("fake-registered-client-id"),
        "{kiro_file}"
    );

    let contents: Vec<Vec<u8>> = files
        .iter()
        .map(|name| std::fs::read(setup.auth.join(name)).unwrap())
        .collect();
    let again = setup.run(&args).await;
    assert!(again.ok, "{again:?}");
    let updated = again
        .stdout
        .lines()
        .filter(|l| l.starts_with("updated `"))
        .count();
    assert_eq!(
        updated, 6,
        "every account is found again:\n{}",
        again.stdout
    );
    assert_eq!(setup.files(), files, "no new file");
    for (name, old) in files.iter().zip(&contents) {
        let new: Value =
            serde_json::from_slice(&std::fs::read(setup.auth.join(name)).unwrap()).unwrap();
        let old: Value = serde_json::from_slice(old).unwrap();
        assert_eq!(new["access_token"], old["access_token"], "{name}");
        assert_eq!(new["type"], old["type"], "{name}");
    }
    for (path, bytes) in &sources {
        assert_eq!(
            &std::fs::read(path).unwrap(),
            bytes,
            "{} was changed",
            path.display()
        );
    }
    for secret in &secrets {
        assert!(
            !first.printed().contains(secret.as_str())
                && !again.printed().contains(secret.as_str())
        );
    }

    // Remove one; an unknown id is an error naming it.
    let id = files[0].trim_end_matches(".json").to_owned();
    let removed = setup.run(&["accounts", "remove", &id]).await;
    assert!(removed.ok, "{removed:?}");
    assert!(
        removed.stdout.contains(&format!("removed `{id}`")),
        "{}",
        removed.stdout
    );
    assert_eq!(setup.files(), files[1..]);
    let unknown = setup.run(&["accounts", "remove", "no-such-account"]).await;
    assert!(!unknown.ok, "{unknown:?}");
    assert!(
        unknown.stderr.contains("no account `no-such-account`"),
        "{}",
        unknown.stderr
    );
    assert_eq!(setup.files(), files[1..]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refreshing_stores_the_new_tokens_and_a_revoked_token_disables_the_account() {
    let mock = MockOAuth::start(MockConfig::default()).await;
    mock.add_refresh_token("rt-known-0123456789");
    mock.add_refresh_token("rt-revoked-0123456789");
    mock.revoke_refresh_token("rt-revoked-0123456789");
    let setup = Setup::new(&mock);
    let keep = serde_json::json!({"priority": 3, "note": "kept as it was"});
    account(
        &setup.auth,
        "one",
        "pkce",
        "at-one-0123456789",
        Some("rt-known-0123456789"),
        &at(600),
        keep,
    );
    account(
        &setup.auth,
        "two",
        "pkce",
        "at-two-0123456789",
        Some("rt-revoked-0123456789"),
        &at(600),
        Value::Null,
    );

    let done = setup.run(&["accounts", "refresh", "one"]).await;
    assert!(done.ok, "{done:?}");
    let file = setup.stored("one");
    assert_eq!(file["access_token"], mock.issued_access()[0].as_str());
    assert_eq!(file["refresh_token"], mock.issued_refresh()[0].as_str());
    assert_eq!(file["note"], "kept as it was");
    assert_eq!(file["priority"], 3);
    let expires = file["expired"].as_str().unwrap();
    assert_eq!(
        done.stdout.trim(),
        format!("refreshed `one`: expires {expires}")
    );
    assert!(
        expires > at(3000).as_str() && expires <= at(3700).as_str(),
        "{expires}"
    );
    assert_eq!(mode(&setup.auth.join("one.json")), 0o600);
    assert_eq!(mock.last_body()["refresh_token"], "rt-known-0123456789");
    no_issued_token(&mock, &done.printed());
    assert!(!done.printed().contains("rt-known-0123456789"));

    let refused = setup.run(&["accounts", "refresh", "two"]).await;
    assert!(!refused.ok, "{refused:?}");
    assert!(
        refused.stderr.contains("account `two` is disabled"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("invalid_grant"),
        "{}",
        refused.stderr
    );
    assert!(!refused.printed().contains("rt-revoked-0123456789"));
    let file = setup.stored("two");
    assert_eq!(file["disabled"], true);
    assert!(
        file["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("invalid_grant"),
        "{file}"
    );
    assert_eq!(file["access_token"], "at-two-0123456789");
    assert_eq!(file["refresh_token"], "rt-revoked-0123456789");

    // `list` says so; an unknown id is an error naming it.
    let listed = setup.run(&["accounts", "list", "--json"]).await;
    let listed: Value = serde_json::from_str(&listed.stdout).unwrap();
    let two = listed["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["id"] == "two")
        .unwrap()
        .clone();
    assert_eq!(two["state"], "disabled");
    assert!(two["reason"].as_str().unwrap().contains("invalid_grant"));
    let unknown = setup.run(&["accounts", "refresh", "nobody"]).await;
    assert!(!unknown.ok);
    assert!(
        unknown.stderr.contains("no account `nobody`"),
        "{}",
        unknown.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_that_cannot_start_says_what_to_do_and_stores_nothing() {
    let mock = MockOAuth::start(MockConfig::default()).await;
    let setup = Setup::new(&mock);

    let several = setup.run(&["login", "sub"]).await;
    assert!(!several.ok);
    assert!(
        several.stderr.contains(
            "adapter `test-oauth` has several logins; choose one with --type (pkce, setup, device)"
        ),
        "{}",
        several.stderr
    );
    let unknown = setup.run(&["login", "nope", "--type", "pkce"]).await;
    assert!(!unknown.ok);
    assert!(
        unknown
            .stderr
            .contains("no provider entry `nope` in the config (entries: sub)"),
        "{}",
        unknown.stderr
    );
    let key = setup.run(&["login", "--type", "api-key"]).await;
    assert!(!key.ok);
    assert!(key.stderr.contains("is a key you supply"), "{}", key.stderr);
    let nothing = setup.run(&["login"]).await;
    assert!(!nothing.ok);
    assert!(
        nothing.stderr.contains("say what to log in to"),
        "{}",
        nothing.stderr
    );
    assert_eq!(mock.counts(), oauth_support::Counts::default());
    assert!(setup.files().is_empty());
}

/// The real `anthropic` adapter's `claude-oauth` kind, end to end: the login runs
/// against the scripted server set up as Claude's (its public client id, the redirect
/// `http://localhost:54545/callback` registered exactly, PKCE, a JSON code exchange),
/// pasted back in Claude's `CODE#STATE` form; then `plugboard serve` on that store
/// refreshes the expired token on the way and places the new one as a bearer with the
/// OAuth beta, never as `x-api-key`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claude_subscription_logs_in_through_the_anthropic_adapter_and_serves() {
    const CLAUDE_CLIENT_ID: &str = "9d1c250a-e61b-44d9-88ed-5944d1962f5e";
    let mock = MockOAuth::start(MockConfig {
        client_id: CLAUDE_CLIENT_ID.to_owned(),
        redirect: oauth_support::RedirectRule::Exact(vec![
            "http://localhost:54545/callback".to_owned(),
        ]),
        require_pkce: true,
        ..MockConfig::default()
    })
    .await;
    let upstream = serve_support::ScriptedUpstream::start().await;
    upstream.reply(serve_support::Reply::json(
        200,
        serde_json::json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
            "content": [{"type": "text", "text": "hello from the subscription"}],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 3, "output_tokens": 5}
        }),
    ));
    let dir = tempfile::tempdir().unwrap();
    let auth = dir.path().join("auth");
    let adapters = serve_support::adapters_with(&["anthropic"]);
    let entry = format!(
        "auth-dir: '{}'\nproviders:\n  - name: claude\n    adapter: anthropic\n    models: [claude-sonnet-4-5]\n    accounts: auth-dir\n    endpoints: {{base: '{}', authorize: '{}', token: '{}'}}\n",
        auth.display(),
        upstream.base_url,
        mock.url("/authorize"),
        mock.url("/token"),
    );
    let config = dir.path().join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "api-keys: [k]\nadapters-dir: '{}'\ncache-dir: '{}'\n{entry}",
            adapters.display(),
            serve_support::shared_compile_cache().display()
        ),
    )
    .unwrap();
    let setup = Setup {
        dir,
        config,
        auth: auth.clone(),
    };

    let mut cli = setup.spawn(&["login", "claude", "--no-browser"], &[], true);
    let line = cli.line_with("Open this URL to log in: ").await;
    let url = line
        .split("Open this URL to log in: ")
        .nth(1)
        .unwrap()
        .trim()
        .to_owned();
    assert!(
        url.contains("redirect_uri=http%3A%2F%2Flocalhost%3A54545%2Fcallback"),
        "{url}"
    );
    let location = MockOAuth::browse(&url)
        .await
        .expect("the login page approves");
    let back = reqwest::Url::parse(&location).unwrap();
    let query: std::collections::HashMap<String, String> =
        back.query_pairs().into_owned().collect();
    cli.line_with("paste").await;
    cli.type_line(&format!("{}#{}", query["code"], query["state"]));
    let done = cli.finish().await;
    assert!(done.ok, "{}", done.printed());
    let id = logged_in_id(&done.stdout);
    assert!(id.starts_with("claude-oauth-"), "{id}");
    assert_eq!(mock.counts().authorization_code, 1);
    let exchange = mock.last_body();
    assert_eq!(
        exchange.get("grant_type").map(String::as_str),
        Some("authorization_code")
    );
    assert!(
        exchange.contains_key("state"),
        "Claude's JSON exchange carries the state"
    );
    no_issued_token(&mock, &done.printed());
    let stored = setup.stored(&id);
    assert_eq!(stored["type"], "claude-oauth");
    let token = mock.issued_access().last().cloned().unwrap();
    assert_eq!(stored["access_token"], token.as_str());

    // By the first request the token has expired: it is refreshed on the way (Claude's
    // JSON refresh, with its scope), and the new one is what the upstream sees.
    let mut expired = stored.clone();
    expired["expired"] = oauth_support::at(-60).into();
    std::fs::write(
        auth.join(format!("{id}.json")),
        serde_json::to_vec_pretty(&expired).unwrap(),
    )
    .unwrap();
    let gateway = serve_support::Plugboard::start(&adapters, &entry);
    let answer = serve_support::client()
        .post(gateway.url("/v1/messages"))
        .header("x-api-key", serve_support::CLIENT_KEY)
        .header("anthropic-version", "2023-06-01")
        .header("content-type", "application/json")
        .body(
            serde_json::json!({
                "model": "claude-sonnet-4-5", "max_tokens": 32,
                "messages": [{"role": "user", "content": "hi"}]
            })
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let body: Value = serde_json::from_str(&answer.text().await.unwrap()).unwrap();
    assert_eq!(body["content"][0]["text"], "hello from the subscription");
    assert_eq!(mock.counts().refresh_token, 1, "refreshed on the way");
    let refresh = mock.last_body();
    assert_eq!(
        refresh.get("grant_type").map(String::as_str),
        Some("refresh_token")
    );
    assert!(
        refresh.contains_key("scope"),
        "Claude's refresh names its scope"
    );
    let token = mock.issued_access().last().cloned().unwrap();
    let received = upstream.received();
    assert_eq!(received.len(), 1);
    let seen = &received[0];
    assert_eq!(
        seen.header("authorization"),
        Some(format!("Bearer {token}").as_str())
    );
    assert_eq!(seen.header("x-api-key"), None);
    assert!(
        seen.header("anthropic-beta")
            .unwrap_or("")
            .split(',')
            .any(|b| b.trim() == "oauth-2025-04-20"),
        "{:?}",
        seen.header("anthropic-beta")
    );
    assert!(!gateway.log().contains(&token));
}

/// A kind that asks for an account setup: after the login, the host runs the
/// adapter's `account-setup`, which asks `GET {base}/whoami` (sent with the new token,
/// which the adapter never sees) and settles on `project-id` and the id token's email;
/// they land in the account file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_runs_the_adapters_account_setup_and_stores_what_it_found() {
    let mock = MockOAuth::start(MockConfig::default()).await;
    let setup = Setup::new(&mock);
    let config = std::fs::read_to_string(&setup.config).unwrap();
    std::fs::write(
        &setup.config,
        config.replace(
            "endpoints: {",
            &format!("endpoints: {{base: '{}', ", mock.url("/api")),
        ),
    )
    .unwrap();

    let mut cli = setup.spawn(
        &["login", "sub", "--type", "setup", "--no-browser"],
        &[],
        true,
    );
    let line = cli.line_with("Open this URL to log in: ").await;
    let url = line
        .split("Open this URL to log in: ")
        .nth(1)
        .unwrap()
        .trim()
        .to_owned();
    cli.line_with("paste").await;
    let location = MockOAuth::browse(&url)
        .await
        .expect("the login page approves");
    cli.type_line(&location);
    let done = cli.finish().await;
    assert!(done.ok, "{}", done.printed());
    no_issued_token(&mock, &done.printed());

    let id = logged_in_id(&done.stdout);
    let stored = setup.stored(&id);
    assert_eq!(stored["type"], "setup");
    assert_eq!(
        stored["attributes"]["project-id"], "proj-from-whoami",
        "{stored}"
    );
    assert_eq!(stored["attributes"]["email"], MOCK_EMAIL, "{stored}");
    let token = mock.issued_access().last().cloned().unwrap();
    assert_eq!(
        mock.last_headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok()),
        Some(format!("Bearer {token}").as_str()),
        "the setup's request carried the new token"
    );
}
