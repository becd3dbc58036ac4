//! Embeds the web page (`ui/dist/`, built by `just ui`: `npm ci && npm run build` in
//! `ui/`) into the binary: writes `$OUT_DIR/ui_assets.rs`, a table of every file under
//! `ui/dist/` by its path, for `server::ui` to serve at `/ui/`.
//!
//! When `ui/dist/` is missing (npm never ran), the table holds one page that says so in
//! words and how to build it, so `cargo build` never fails for lack of npm.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let ui = manifest.join("..").join("ui");
    let dist = ui.join("dist");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("ui_assets.rs");
    let mut files = Vec::new();
    if dist.join("index.html").is_file() {
        println!("cargo:rerun-if-changed={}", dist.display());
        collect(&dist, &dist, &mut files);
    } else if ui.is_dir() {
        // A build appearing later creates `ui/dist`, which changes `ui/`.
        println!("cargo:rerun-if-changed={}", ui.display());
    } else {
        println!(
            "cargo:rerun-if-changed={}",
            manifest.join("build.rs").display()
        );
    }
    files.sort();
    let mut code = String::from(
        "/// Every file of the built page: (path under `/ui/`, contents).\n\
         pub static ASSETS: &[(&str, &[u8])] = &[\n",
    );
    for (name, path) in &files {
        let _ = writeln!(
            code,
            "    ({name:?}, include_bytes!({:?})),",
            path.display().to_string()
        );
    }
    code.push_str("];\n");
    let _ = writeln!(
        code,
        "/// Whether `ui/dist/` was built (else [`ASSETS`] is empty and the fallback page is served).\npub const BUILT: bool = {};",
        !files.is_empty()
    );
    std::fs::write(&out, code).expect("write ui_assets.rs");
}

/// Every file under `dir`, as (path relative to `root` with `/`, absolute path).
fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, files);
        } else if let Ok(relative) = path.strip_prefix(root) {
            let name = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            let absolute = std::path::absolute(&path).unwrap_or(path.clone());
            files.push((name, absolute));
        }
    }
}
