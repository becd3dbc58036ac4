//! Test fixup `test-stamp`: stamps the upstream request with `x-plugboard-stamp: v1`
//! (version 1.0.0), or `v2` (version 2.0.0) when built with feature `v2`, so hot-swap
//! tests can see which build served a request.

use plugboard_sdk::prelude::*;

/// The header this fixup adds.
pub const STAMP_HEADER: &str = "x-plugboard-stamp";

/// The stamp and version of this build.
#[cfg(not(feature = "v2"))]
pub const STAMP: (&str, &str) = ("v1", "1.0.0");
/// The stamp and version of this build.
#[cfg(feature = "v2")]
pub const STAMP: (&str, &str) = ("v2", "2.0.0");

/// The component.
pub struct Stamp;

impl Fixup for Stamp {
    fn info() -> FixupInfo {
        FixupInfo::new(
            "test-stamp",
            STAMP.1,
            "adds x-plugboard-stamp to upstream requests",
        )
    }

    const ON_UPSTREAM_REQUEST: Option<UpstreamRequestHook> = Some(stamp);
}

/// Adds this build's stamp.
fn stamp(_ctx: &FixupContext, request: HttpRequest) -> Result<HttpRequest, AdapterError> {
    Ok(request.with_header(STAMP_HEADER, STAMP.0))
}

export_fixup!(Stamp);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upstream_request_leaves_with_this_builds_stamp() {
        let stamped = stamp(
            &FixupContext::for_tests(),
            HttpRequest::post_json("https://x.test/", b"{}".to_vec()),
        )
        .unwrap();
        assert_eq!(stamped.header(STAMP_HEADER), Some(STAMP.0));
        let info = plugboard_sdk::fixup::info_of::<Stamp>();
        assert_eq!(info.version, STAMP.1);
        assert_eq!(info.hooks, Hooks::UPSTREAM_REQUEST);
    }
}
