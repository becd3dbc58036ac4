//! Reasoning a client dialect has no field for, carried in the one opaque field it has.
//!
//! Providers attach two kinds of opaque reasoning data that must come back verbatim on
//! the next turn: a *signature* (Anthropic `thinking.signature`, Gemini
//! `thoughtSignature`) and a *redacted payload* (Anthropic `redacted_thinking.data`,
//! OpenAI `encrypted_content`). Each client dialect has a field for only one of them,
//! so when a provider's kind differs from the client's, the other kind rides in that
//! field behind a marker, and the surface's decoder tells the two apart when the client
//! replays it. Clients treat the field as opaque, so the marker is invisible to them.
//! Documented for clients in docs/conformance/.

/// Marks a redacted payload carried in a signature field.
const REDACTED_PREFIX: &str = "plugboard-redacted:";
/// Marks a signature carried in a redacted-payload field (`encrypted_content`).
const SIGNATURE_PREFIX: &str = "plugboard-signature:";

/// The value for a dialect's *signature* field: the signature itself, else the
/// redacted payload behind its marker.
pub fn as_signature(signature: Option<&str>, redacted: Option<&str>) -> Option<String> {
    match (signature.filter(|s| !s.is_empty()), redacted) {
        (Some(signature), _) => Some(signature.to_owned()),
        (None, Some(redacted)) => Some(format!("{REDACTED_PREFIX}{redacted}")),
        (None, None) => None,
    }
}

/// A signature field replayed by a client: `(signature, redacted)`.
pub fn from_signature(field: Option<String>) -> (Option<String>, Option<String>) {
    match field.filter(|s| !s.is_empty()) {
        Some(field) => match field.strip_prefix(REDACTED_PREFIX) {
            Some(redacted) => (None, Some(redacted.to_owned())),
            None => (Some(field), None),
        },
        None => (None, None),
    }
}

/// The value for a dialect's *redacted payload* field: the payload itself, else the
/// signature behind its marker.
pub fn as_redacted(signature: Option<&str>, redacted: Option<&str>) -> Option<String> {
    match (redacted, signature.filter(|s| !s.is_empty())) {
        (Some(redacted), _) => Some(redacted.to_owned()),
        (None, Some(signature)) => Some(format!("{SIGNATURE_PREFIX}{signature}")),
        (None, None) => None,
    }
}

/// A redacted-payload field replayed by a client: `(signature, redacted)`.
pub fn from_redacted(field: Option<String>) -> (Option<String>, Option<String>) {
    match field {
        Some(field) => match field.strip_prefix(SIGNATURE_PREFIX) {
            Some(signature) => (Some(signature.to_owned()), None),
            None => (None, Some(field)),
        },
        None => (None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_survives_a_trip_through_the_other_kinds_field() {
        let carried = as_signature(None, Some("gAAAAB-encrypted"));
        assert_eq!(
            carried.as_deref(),
            Some("plugboard-redacted:gAAAAB-encrypted")
        );
        assert_eq!(
            from_signature(carried),
            (None, Some("gAAAAB-encrypted".into()))
        );

        let carried = as_redacted(Some("EqQBsig"), None);
        assert_eq!(carried.as_deref(), Some("plugboard-signature:EqQBsig"));
        assert_eq!(from_redacted(carried), (Some("EqQBsig".into()), None));
    }

    #[test]
    fn a_native_value_passes_unchanged_and_empty_means_none() {
        assert_eq!(
            as_signature(Some("sig"), Some("data")).as_deref(),
            Some("sig")
        );
        assert_eq!(
            from_signature(Some("sig".into())),
            (Some("sig".into()), None)
        );
        assert_eq!(
            as_redacted(Some("sig"), Some("data")).as_deref(),
            Some("data")
        );
        assert_eq!(
            from_redacted(Some("data".into())),
            (None, Some("data".into()))
        );
        assert_eq!(as_signature(Some(""), None), None);
        assert_eq!(from_signature(Some(String::new())), (None, None));
    }
}
