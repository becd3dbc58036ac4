//! Stories of the web page at `/ui/` against the real `plugboard serve`: the shell is
//! public and carries its security headers, its assets come with their types and are
//! cached for good, and `/` leads a browser to the page only when the management API
//! is on (a management key is configured).
//!
//! The built page is what `just build` / `just test` embed (`ui/dist/`, from `just ui`);
//! a binary built without it serves a page that says how to build it, and these stories
//! check that instead.

mod serve_support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serve_support::Plugboard;

/// The management key of the stories.
const MANAGEMENT_KEY: &str = "mk-ui-story-key-1";

/// A client that does not follow redirects.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

fn empty_adapters(dir: &Path) -> PathBuf {
    let adapters = dir.join("adapters");
    std::fs::create_dir_all(&adapters).unwrap();
    adapters
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_is_served_with_a_strict_policy_and_its_assets_with_their_types() {
    let dir = tempfile::tempdir().unwrap();
    let pb = Plugboard::start(
        &empty_adapters(dir.path()),
        &format!("management: {{key: {MANAGEMENT_KEY}}}\n"),
    );
    let client = client();

    // The shell: public (no key), HTML, never cached without asking, locked down.
    let shell = client.get(pb.url("/ui/")).send().await.unwrap();
    assert_eq!(shell.status(), 200);
    assert_eq!(header(&shell, "content-type"), "text/html; charset=utf-8");
    assert_eq!(header(&shell, "cache-control"), "no-cache");
    let csp = header(&shell, "content-security-policy").to_owned();
    for rule in [
        "default-src 'self'",
        "script-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(rule), "{rule} in {csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(header(&shell, "x-content-type-options"), "nosniff");
    assert_eq!(header(&shell, "referrer-policy"), "no-referrer");
    let html = shell.text().await.unwrap();

    if !plugboard::server::ui::BUILT {
        assert!(
            html.contains("was not built") && html.contains("just build"),
            "the fallback page says how to build the UI: {html}"
        );
        return;
    }
    // The built shell names its script and stylesheet by hashed names under /ui/assets/.
    let asset = |attribute: &str| {
        let start = html
            .find(&format!("{attribute}=\"/ui/assets/"))
            .unwrap_or_else(|| panic!("the shell names an asset by `{attribute}`: {html}"))
            + attribute.len()
            + 2;
        html[start..start + html[start..].find('"').unwrap()].to_owned()
    };
    let script = asset("src");
    assert!(script.ends_with(".js"), "{script}");
    assert!(!html.contains("<script>"), "no inline script: {html}");
    let stylesheet = html
        .split("<link rel=\"stylesheet\" href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the shell links its stylesheet")
        .to_owned();

    let js = client.get(pb.url(&script)).send().await.unwrap();
    assert_eq!(js.status(), 200, "{script}");
    assert_eq!(
        header(&js, "content-type"),
        "text/javascript; charset=utf-8"
    );
    assert_eq!(
        header(&js, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(header(&js, "x-content-type-options"), "nosniff");
    assert!(js.text().await.unwrap().contains("/v0/management"));

    // A browser (which accepts gzip) gets the build's gzipped copy; the same bytes.
    let packed = client
        .get(pb.url(&script))
        .header("accept-encoding", "gzip, deflate, br")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&packed, "content-encoding"), "gzip");
    assert_eq!(
        header(&packed, "content-type"),
        "text/javascript; charset=utf-8"
    );
    assert!(header(&packed, "vary").contains("accept-encoding"));
    let packed = packed.bytes().await.unwrap();
    assert!(packed.starts_with(&[0x1f, 0x8b]), "a gzip stream");
    let css = client.get(pb.url(&stylesheet)).send().await.unwrap();
    assert_eq!(css.status(), 200, "{stylesheet}");
    assert_eq!(header(&css, "content-type"), "text/css; charset=utf-8");

    // An asset that is not there is a 404, not the shell.
    let missing = client
        .get(pb.url("/ui/assets/nothing-XXXX.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    // `/ui` leads to `/ui/`.
    let bare = client.get(pb.url("/ui")).send().await.unwrap();
    assert!(bare.status().is_redirection());
    assert_eq!(header(&bare, "location"), "/ui/");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_root_leads_to_the_page_only_when_the_management_api_is_on() {
    let dir = tempfile::tempdir().unwrap();
    let client = client();

    let on = Plugboard::start(
        &empty_adapters(dir.path()),
        &format!("management: {{key: {MANAGEMENT_KEY}}}\n"),
    );
    let root = client.get(on.url("/")).send().await.unwrap();
    assert!(root.status().is_redirection(), "{}", root.status());
    assert_eq!(header(&root, "location"), "/ui/");
    // Claude Code's probe still gets its 200.
    let probe = client.head(on.url("/")).send().await.unwrap();
    assert_eq!(probe.status(), 200);

    let off = Plugboard::start(&empty_adapters(dir.path()), "");
    let root = client.get(off.url("/")).send().await.unwrap();
    assert_eq!(root.status(), 200);
    assert_eq!(root.text().await.unwrap(), "plugboard\n");
    // The page itself is still there (it says the API is off once signed in).
    assert_eq!(
        client.get(off.url("/ui/")).send().await.unwrap().status(),
        200
    );
}
