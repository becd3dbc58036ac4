//! Test fixup `test-remember`: a guest that keeps what it sees. Its `on-request` keeps
//! the request's text in a static; its `on-upstream-request` stamps the upstream request
//! with the text of the request this instance served before (`x-remembered`, empty for
//! its first) and how many requests it has served (`x-served`). A fresh instance per
//! request remembers nothing; an instance the host reuses shows exactly what it could
//! carry from one request into the next, so a story can prove whose requests share one.

use std::sync::Mutex;

use plugboard_sdk::prelude::*;

/// The header carrying the previous request's text.
pub const REMEMBERED_HEADER: &str = "x-remembered";
/// The header carrying how many requests this instance has served.
pub const SERVED_HEADER: &str = "x-served";

/// What this instance has seen: the latest request's text, the one before, a count.
static SEEN: Mutex<Seen> = Mutex::new(Seen {
    latest: String::new(),
    previous: String::new(),
    served: 0,
});

struct Seen {
    latest: String,
    previous: String,
    served: u32,
}

/// The component.
pub struct Remember;

impl Fixup for Remember {
    fn info() -> FixupInfo {
        FixupInfo::new(
            "test-remember",
            env!("CARGO_PKG_VERSION"),
            "remembers the previous request's text (a test of instance reuse)",
        )
    }

    const ON_REQUEST: Option<RequestHook> = Some(keep);
    const ON_UPSTREAM_REQUEST: Option<UpstreamRequestHook> = Some(tell);
}

/// Keep this request's text, and move the one kept before aside.
fn keep(_ctx: &FixupContext, request: ChatRequest) -> Result<ChatRequest, AdapterError> {
    let text: Vec<&str> = request
        .messages
        .iter()
        .flat_map(|message| &message.parts)
        .filter_map(|part| match part {
            Part::Text(text) => Some(text.text.as_str()),
            _ => None,
        })
        .collect();
    let mut seen = SEEN.lock().unwrap_or_else(|p| p.into_inner());
    seen.previous = std::mem::replace(&mut seen.latest, text.join(" "));
    seen.served += 1;
    Ok(request)
}

/// Say what was kept from before (header-safe: printable ASCII only).
fn tell(_ctx: &FixupContext, request: HttpRequest) -> Result<HttpRequest, AdapterError> {
    let seen = SEEN.lock().unwrap_or_else(|p| p.into_inner());
    let previous: String = seen
        .previous
        .chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(1000)
        .collect();
    Ok(request
        .with_header(REMEMBERED_HEADER, previous.trim())
        .with_header(SERVED_HEADER, seen.served.to_string()))
}

export_fixup!(Remember);
