//! `adapters`: what is loaded, uploading a component, deleting one.
//!
//! An upload is written into the adapters directory atomically (a hidden temporary
//! file renamed into place), exactly what an operator's atomic deploy does, so the
//! directory's own rules apply: validated, compiled, swapped in whole, a refused file
//! never replacing the component previously loaded from it. The call then rescans the
//! directory itself (the same rescan the watcher runs, one at a time) and answers with
//! the file's fate: loaded (200) or refused (422, with the reason).

use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::status::components;
use super::{Management, Peer, error, ok};

/// Longest an upload waits for its rescan (validation and compilation).
const RESCAN_WAIT: Duration = Duration::from_secs(120);

/// Longest component file name.
const MAX_NAME_LEN: usize = 200;

/// `GET adapters`: loaded components (id, kind, version, contract version, hash,
/// file) and refused files with their reasons.
pub(super) async fn list(State(management): State<Arc<Management>>) -> Response {
    let (loaded, refused) = components(&management.gateway());
    ok(json!({
        "dir": management.config().adapters_dir.display().to_string(),
        "loaded": loaded,
        "refused": refused,
    }))
}

/// Whether `file` may name a component of the adapters directory: `NAME.wasm`, NAME
/// of letters, digits, `-`, `_`, `.`, not hidden.
fn valid_name(file: &str) -> bool {
    let Some(stem) = file.strip_suffix(".wasm") else {
        return false;
    };
    !stem.is_empty()
        && file.len() <= MAX_NAME_LEN
        && !stem.starts_with('.')
        && !stem.contains("..")
        && stem
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn bad_name(file: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "invalid_file_name",
        format!(
            "`{file}` cannot name a component: use NAME.wasm (letters, digits, `-`, `_`, `.`; not hidden)"
        ),
    )
}

/// `PUT adapters/{file}`: the body is the component.
pub(super) async fn upload(
    State(management): State<Arc<Management>>,
    Extension(peer): Extension<Peer>,
    Path(file): Path<String>,
    body: Bytes,
) -> Response {
    if !valid_name(&file) {
        return bad_name(&file);
    }
    if !body.starts_with(b"\0asm") {
        return error(
            StatusCode::BAD_REQUEST,
            "not_wasm",
            "the body is not a WebAssembly component (it does not start with `\\0asm`)".to_owned(),
        );
    }
    let dir = management.config().adapters_dir.clone();
    let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&body));
    if let Err(e) = crate::accounts::store::write_atomically(&dir, &file, &body) {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "write_failed",
            format!("{e:#}"),
        );
    }
    tracing::info!(peer = %peer.0, file, hash = %format!("sha256:{hash}"), bytes = body.len(), "management: adapter uploaded");
    let rescan =
        tokio::time::timeout(RESCAN_WAIT, management.gateway().runtime.load_dir(&dir)).await;
    let refused = match rescan {
        Ok(Ok(refused)) => refused,
        Ok(Err(e)) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "rescan_failed",
                format!("{e:#}"),
            );
        }
        Err(_) => {
            return error(
                StatusCode::ACCEPTED,
                "still_loading",
                format!(
                    "`{file}` is written; it was not validated within {} s (see `GET adapters`)",
                    RESCAN_WAIT.as_secs()
                ),
            );
        }
    };
    let named = |path: &std::path::Path| path.file_name().is_some_and(|name| name == file.as_str());
    if let Some(failure) = refused.iter().find(|f| named(&f.path)) {
        tracing::info!(peer = %peer.0, file, reason = %failure.reason, "management: uploaded adapter refused");
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "adapter_refused",
            failure.reason.clone(),
        );
    }
    let (loaded, _) = components(&management.gateway());
    let found = loaded
        .into_iter()
        .find(|c| c["file"] == file.as_str() && c["hash"] == format!("sha256:{hash}"));
    match found {
        Some(component) => ok(json!({"file": file, "loaded": component})),
        None => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "adapter_refused",
            format!("`{file}` was not loaded (see `GET adapters`)"),
        ),
    }
}

/// `DELETE adapters/{file}`: the file is removed and the directory rescanned, so its
/// component leaves the registry (requests in flight finish on it).
pub(super) async fn remove(
    State(management): State<Arc<Management>>,
    Extension(peer): Extension<Peer>,
    Path(file): Path<String>,
) -> Response {
    if !valid_name(&file) {
        return bad_name(&file);
    }
    let dir = management.config().adapters_dir.clone();
    match std::fs::remove_file(dir.join(&file)) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return error(
                StatusCode::NOT_FOUND,
                "unknown_file",
                format!("No `{file}` in the adapters directory"),
            );
        }
        Err(e) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "delete_failed",
                format!("cannot delete {}: {e}", dir.join(&file).display()),
            );
        }
    }
    tracing::info!(peer = %peer.0, file, "management: adapter deleted");
    if let Ok(Err(e)) =
        tokio::time::timeout(RESCAN_WAIT, management.gateway().runtime.load_dir(&dir)).await
    {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "rescan_failed",
            format!("{e:#}"),
        );
    }
    let (loaded, refused) = components(&management.gateway());
    ok(json!({"file": file, "deleted": true, "loaded": loaded, "refused": refused}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_wasm_names_are_accepted() {
        for good in ["openai.wasm", "my_adapter-2.0.wasm"] {
            assert!(valid_name(good), "{good}");
        }
        for bad in [
            ".hidden.wasm",
            "../x.wasm",
            "a/b.wasm",
            "x.wat",
            ".wasm",
            "a..b.wasm",
            "sp ace.wasm",
        ] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
