//! Fixup `thinking-signatures`: reasoning signed by another provider never reaches an
//! upstream that verifies signatures.
//!
//! Anthropic and Gemini sign the reasoning they return and verify the signature when a
//! client sends it back. When a client switches models mid-conversation (Claude Code
//! moving from Claude to Gemini through Plugboard, say), the history carries signatures
//! the new upstream did not issue, and it refuses the whole request:
//!
//! - Anthropic: 400 `invalid_request_error` "messages.N.content.M: Invalid `signature`
//!   in `thinking` block". A thinking block without a signature is refused too
//!   ("thinking.signature: Field required"), so a foreign-signed block is removed whole.
//! - Gemini: 400 `INVALID_ARGUMENT` "Corrupted thought signature." (Vertex: "Thought
//!   signature is not valid"). Only the signature goes: the reasoning part stays
//!   unsigned (the gemini adapter sends no thought text without a signature), and a
//!   function call that carried a foreign signature gets the documented sentinel
//!   [`SKIP_SIGNATURE`] instead, since Gemini 3 refuses a call of the current turn
//!   that has none.
//!
//! # Who issued a signature
//!
//! The IR does not record it (a reasoning part carries the signature string only), so
//! [`issuer_of`] derives it from the signature's shape, conservatively: a signature is
//! *foreign* only when it is recognised as another provider's; one it cannot place is
//! kept, because stripping the target's own signature breaks a conversation that was
//! fine (Anthropic wants the thinking of the current tool-use turn back). The shapes:
//!
//! - `skip_thought_signature_validator`: Gemini's own sentinel.
//! - Otherwise the signature must be base64 (standard or URL-safe alphabet, optional
//!   padding) of at least [`MIN_SIGNATURE_LEN`] characters; its first decoded byte
//!   names the issuer: `0x12` Anthropic (protobuf field 2, as in `EqQBCkYI...`), `0x0a`
//!   Google (field 1, as in `CiQBvj72...`), `0x80` OpenAI (a Fernet token,
//!   `gAAAAAB...`, what `encrypted_content` holds).
//! - Anything else (short test strings, other formats) is unknown and kept.
//!
//! A signature the target issued is therefore never stripped: a Claude-to-Claude
//! conversation keeps its thinking byte for byte.

use plugboard_sdk::prelude::*;
use serde_json::Value;

/// Gemini's documented stand-in for a missing thought signature.
pub const SKIP_SIGNATURE: &str = "skip_thought_signature_validator";

/// The shortest string read as a real signature (both providers' are far longer; a
/// shorter one is too little to tell a provider's from an arbitrary string).
pub const MIN_SIGNATURE_LEN: usize = 50;

/// Who issued a reasoning signature (or an opaque reasoning payload).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Issuer {
    /// Anthropic (`thinking.signature`, `redacted_thinking.data`).
    Anthropic,
    /// Google (Gemini API, Vertex, Cloud Code Assist `thoughtSignature`).
    Google,
    /// OpenAI (`encrypted_content` of a reasoning item).
    OpenAi,
    /// Not recognisable: kept wherever it goes.
    Unknown,
}

/// The issuer of `signature`, from its shape (see the module docs for the rule).
pub fn issuer_of(signature: &str) -> Issuer {
    if signature == SKIP_SIGNATURE {
        return Issuer::Google;
    }
    let body = signature.trim_end_matches('=');
    if signature.len() < MIN_SIGNATURE_LEN
        || signature.len() - body.len() > 2
        || !body.bytes().all(|byte| base64_value(byte).is_some())
    {
        return Issuer::Unknown;
    }
    let mut sextets = body.bytes().filter_map(base64_value);
    let (Some(high), Some(low)) = (sextets.next(), sextets.next()) else {
        return Issuer::Unknown;
    };
    match (high << 2) | (low >> 4) {
        0x12 => Issuer::Anthropic,
        0x0a => Issuer::Google,
        0x80 => Issuer::OpenAi,
        _ => Issuer::Unknown,
    }
}

/// The 6-bit value of a base64 character (standard or URL-safe alphabet).
fn base64_value(byte: u8) -> Option<u8> {
    match byte {
        b'A'..=b'Z' => Some(byte - b'A'),
        b'a'..=b'z' => Some(byte - b'a' + 26),
        b'0'..=b'9' => Some(byte - b'0' + 52),
        b'+' | b'-' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    }
}

/// The issuer whose signatures the upstream behind adapter `adapter` accepts, for the
/// adapters whose upstreams verify them.
pub fn target_issuer(adapter: &str) -> Option<Issuer> {
    match adapter {
        "anthropic" => Some(Issuer::Anthropic),
        "gemini" => Some(Issuer::Google),
        _ => None,
    }
}

/// Whether `value` was issued by someone known other than `target`.
fn foreign(value: &str, target: Issuer) -> bool {
    !matches!(issuer_of(value), Issuer::Unknown) && issuer_of(value) != target
}

/// Remove or neutralise every reasoning signature in `request` that a provider other
/// than the one behind `adapter` issued. Adapters without signature checks: unchanged.
pub fn strip_foreign_signatures(adapter: &str, mut request: ChatRequest) -> ChatRequest {
    let Some(target) = target_issuer(adapter) else {
        return request;
    };
    for (index, message) in request.messages.iter_mut().enumerate() {
        if message.role != Role::Assistant {
            continue;
        }
        let parts = std::mem::take(&mut message.parts);
        for mut part in parts {
            match (&mut part, target) {
                (Part::Reasoning(reasoning), Issuer::Anthropic) => {
                    // A thinking block goes back only with a signature Anthropic
                    // issued; redacted reasoning only with its own payload.
                    let signed_elsewhere = reasoning
                        .signature
                        .as_deref()
                        .is_some_and(|s| foreign(s, target));
                    let redacted_elsewhere = reasoning
                        .redacted
                        .as_deref()
                        .is_some_and(|r| foreign(r, target));
                    if signed_elsewhere || redacted_elsewhere {
                        host::debug(&format!(
                            "thinking-signatures: dropped a reasoning block of message {index} signed by another provider"
                        ));
                        continue;
                    }
                }
                (Part::Reasoning(reasoning), _)
                    if reasoning
                        .signature
                        .as_deref()
                        .is_some_and(|s| foreign(s, target)) =>
                {
                    reasoning.signature = None;
                    host::debug(&format!(
                        "thinking-signatures: removed another provider's signature from a reasoning block of message {index}"
                    ));
                }
                (Part::ToolCall(call), Issuer::Google) => {
                    if let Some(options) =
                        replace_gemini_signature(&call.options, Some(SKIP_SIGNATURE))
                    {
                        call.options = options;
                        host::debug(&format!(
                            "thinking-signatures: call `{}` of message {index} carried another provider's signature; sent with the sentinel",
                            call.id
                        ));
                    }
                }
                (Part::Text(text), Issuer::Google) => {
                    if let Some(options) = replace_gemini_signature(&text.options, None) {
                        text.options = options;
                        host::debug(&format!(
                            "thinking-signatures: removed another provider's signature from a text part of message {index}"
                        ));
                    }
                }
                _ => {}
            }
            message.parts.push(part);
        }
    }
    request
}

/// Options whose `gemini.thoughtSignature` (when another provider issued it) is
/// replaced by `with`, or removed when `with` is `None`; `None` when nothing changes.
fn replace_gemini_signature(options: &Option<Json>, with: Option<&str>) -> Option<Option<Json>> {
    let mut value: Value = serde_json::from_str(options.as_deref()?).ok()?;
    let gemini = value.get_mut("gemini")?.as_object_mut()?;
    let signature = gemini.get("thoughtSignature")?.as_str()?;
    if !foreign(signature, Issuer::Google) {
        return None;
    }
    match with {
        Some(replacement) => {
            gemini.insert("thoughtSignature".into(), Value::from(replacement));
        }
        None => {
            gemini.remove("thoughtSignature");
        }
    }
    Some(Some(value.to_string()))
}

/// The fixup component.
pub struct ThinkingSignatures;

impl Fixup for ThinkingSignatures {
    fn info() -> FixupInfo {
        FixupInfo::new(
            "thinking-signatures",
            env!("CARGO_PKG_VERSION"),
            "Strips reasoning signatures another provider issued, so a conversation that switched models is not refused",
        )
        // The upstreams that verify signatures; OpenAI Chat clients carry none.
        .applies_to(AppliesTo::adapters(&["anthropic", "gemini"]).and_dialects(&[
            Dialect::AnthropicMessages,
            Dialect::OpenaiResponses,
            Dialect::Gemini,
        ]))
    }
    const ON_REQUEST: Option<RequestHook> =
        Some(|ctx, request| Ok(strip_foreign_signatures(&ctx.adapter, request)));
}

export_fixup!(ThinkingSignatures);

#[cfg(test)]
mod tests;
