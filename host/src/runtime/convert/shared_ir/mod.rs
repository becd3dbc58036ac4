//! The conversions between the host IR and the generated types that are the same in
//! every contract version, written once.
//!
//! Each version's bindings are their own generated type family (`bindings::v0_1::types`,
//! `bindings::v0_2::types`, ...) whose records, variants and enums have identical names
//! and fields for most of the IR: roles, parts, messages, tools, parameters, the HTTP
//! request and response head, usage, finish, deltas. They are distinct Rust types, so
//! one generic function cannot serve them without a trait per type; a `macro_rules!`
//! macro writes the same `From` impls for each family instead. Each version's folder
//! invokes [`shared_ir_conversions!`] and keeps what differs hand-written beside it.
//!
//! Inside, [`both_ways!`] writes one type's two `From` impls from one list of its
//! fields or variants, so each mapping is stated once for both directions.

#[cfg(test)]
pub(super) mod tests;

/// Writes, in the invoking module, the conversions whose shape is the same in every
/// contract version: `From` both ways for every shared type, `chat_request_to_wit`,
/// `events_from_wit` and `events_to_wit`, and the world-level `model-info`, `hooks`
/// and the shared fields of `adapter-info` and `fixup-info` (`provider_info_from`,
/// `fixup_info_from`). Brings `ir`, `wit`, `wit_translator` and `wit_filter` into
/// scope there.
///
/// - `types`, `translator`, `filter`: the version's generated `types` interface and
///   its exported `translator` and `filter` interfaces.
/// - `chat_request_extra`: fields of the version's `chat-request` that the host IR
///   does not have, which `chat_request_to_wit` takes as arguments.
/// - `stream_error`: how the version carries a stream's error, both ways
///   (`stream-event::error`'s payload differs between versions).
///
/// Conversions consume their input, so strings and byte buffers move instead of being
/// copied; `options` cross as JSON text through `options_to_wit` and `options_from_wit`.
macro_rules! shared_ir_conversions {
    (
        types: $types:path,
        translator: $translator:path,
        filter: $filter:path,
        chat_request_extra: { $($extra:ident: $extra_ty:ty),* $(,)? },
        stream_error: { to_wit: $error_to_wit:path, from_wit: $error_from_wit:path $(,)? } $(,)?
    ) => {
        use $crate::ir;
        use $types as wit;
        use $translator as wit_translator;
        use $filter as wit_filter;
        use $crate::runtime::convert::shared_ir::both_ways;

        // The request side: chat request, its parts, tools, parameters.
        both_ways!(enum Role { System, User, Assistant, Tool });
        both_ways!(record TextPart { text, options: options });
        both_ways!(record ReasoningPart { text, signature, redacted, options: options });
        both_ways!(enum FileData { Url(moved), Base64(moved) });
        both_ways!(record FilePart { media_type, data: into, filename, options: options });
        both_ways!(record ToolCallPart { id, name, arguments, options: options });
        both_ways!(enum ToolOutput { Text(moved), File(into) });
        both_ways!(record ToolResultPart {
            call_id,
            name,
            output: each,
            is_error,
            options: options,
        });
        both_ways!(enum Part {
            Text(into),
            Reasoning(into),
            File(into),
            ToolCall(into),
            ToolResult(into),
        });
        both_ways!(record Message { role: into, parts: each, options: options });
        both_ways!(record Tool { name, description, input_schema, options: options });
        both_ways!(enum ToolChoice { Auto, None, Required, Tool(moved) });
        both_ways!(record ReasoningConfig { effort, budget_tokens });
        both_ways!(record JsonSchemaFormat { name, schema, strict, description });
        both_ways!(enum ResponseFormat { Text, JsonObject, JsonSchema(into) });
        both_ways!(record GenerationParams {
            max_tokens,
            temperature,
            top_p,
            top_k,
            stop,
            seed,
            presence_penalty,
            frequency_penalty,
            reasoning: maybe,
            response_format: maybe,
            parallel_tool_calls,
        });
        both_ways!(record ChatRequest {
            system: each,
            messages: each,
            tools: each,
            tool_choice: maybe,
            params: into,
            stream,
            options: options,
        } down_by chat_request_to_wit($($extra: $extra_ty),*));
        both_ways!(enum Dialect { OpenaiChat, OpenaiResponses, AnthropicMessages, Gemini });
        both_ways!(record HttpRequest { method, url, headers, body });
        both_ways!(record ResponseHead { status, headers });

        // The response side: stream events and what they carry.
        both_ways!(enum FinishReason { Stop, Length, ContentFilter, ToolCalls, Error, Other });
        both_ways!(record Usage {
            input_tokens,
            output_tokens,
            cache_read_tokens,
            cache_write_tokens,
            reasoning_tokens,
        });
        both_ways!(record Finish { reason: into, raw_reason, usage: into, options: options });
        both_ways!(record ResponseMetadata { id, model, created });
        both_ways!(enum ErrorKind { InvalidRequest, Unsupported, Upstream, Internal });
        both_ways!(record AdapterError { kind: into, message });

        impl From<ir::StreamEvent> for wit::StreamEvent {
            fn from(event: ir::StreamEvent) -> Self {
                use ir::StreamEvent as E;
                match event {
                    E::ResponseMetadata(m) => wit::StreamEvent::ResponseMetadata(m.into()),
                    E::TextStart(id) => wit::StreamEvent::TextStart(id),
                    E::TextDelta { id, delta } => {
                        wit::StreamEvent::TextDelta(wit::Delta { id, delta })
                    }
                    E::TextEnd(id) => wit::StreamEvent::TextEnd(id),
                    E::ReasoningStart(id) => wit::StreamEvent::ReasoningStart(id),
                    E::ReasoningDelta { id, delta } => {
                        wit::StreamEvent::ReasoningDelta(wit::Delta { id, delta })
                    }
                    E::ReasoningEnd {
                        id,
                        signature,
                        redacted,
                    } => wit::StreamEvent::ReasoningEnd(wit::ReasoningEnd {
                        id,
                        signature,
                        redacted,
                    }),
                    E::ToolInputStart { id, name } => {
                        wit::StreamEvent::ToolInputStart(wit::ToolInputStart { id, name })
                    }
                    E::ToolInputDelta { id, delta } => {
                        wit::StreamEvent::ToolInputDelta(wit::Delta { id, delta })
                    }
                    E::ToolInputEnd(id) => wit::StreamEvent::ToolInputEnd(id),
                    E::ToolCall(call) => wit::StreamEvent::ToolCall(call.into()),
                    E::Finish(finish) => wit::StreamEvent::Finish(finish.into()),
                    E::Raw(bytes) => wit::StreamEvent::Raw(bytes),
                    E::Error(error) => wit::StreamEvent::Error($error_to_wit(error)),
                }
            }
        }

        impl From<wit::StreamEvent> for ir::StreamEvent {
            fn from(event: wit::StreamEvent) -> Self {
                use ir::StreamEvent as E;
                match event {
                    wit::StreamEvent::ResponseMetadata(m) => E::ResponseMetadata(m.into()),
                    wit::StreamEvent::TextStart(id) => E::TextStart(id),
                    wit::StreamEvent::TextDelta(wit::Delta { id, delta }) => {
                        E::TextDelta { id, delta }
                    }
                    wit::StreamEvent::TextEnd(id) => E::TextEnd(id),
                    wit::StreamEvent::ReasoningStart(id) => E::ReasoningStart(id),
                    wit::StreamEvent::ReasoningDelta(wit::Delta { id, delta }) => {
                        E::ReasoningDelta { id, delta }
                    }
                    wit::StreamEvent::ReasoningEnd(wit::ReasoningEnd {
                        id,
                        signature,
                        redacted,
                    }) => E::ReasoningEnd {
                        id,
                        signature,
                        redacted,
                    },
                    wit::StreamEvent::ToolInputStart(wit::ToolInputStart { id, name }) => {
                        E::ToolInputStart { id, name }
                    }
                    wit::StreamEvent::ToolInputDelta(wit::Delta { id, delta }) => {
                        E::ToolInputDelta { id, delta }
                    }
                    wit::StreamEvent::ToolInputEnd(id) => E::ToolInputEnd(id),
                    wit::StreamEvent::ToolCall(call) => E::ToolCall(call.into()),
                    wit::StreamEvent::Finish(finish) => E::Finish(finish.into()),
                    wit::StreamEvent::Raw(bytes) => E::Raw(bytes),
                    wit::StreamEvent::Error(error) => E::Error($error_from_wit(error)),
                }
            }
        }

        /// Events from a guest, in host form.
        pub fn events_from_wit(events: Vec<wit::StreamEvent>) -> Vec<ir::StreamEvent> {
            events.into_iter().map(Into::into).collect()
        }

        /// Events for a guest, in WIT form.
        pub fn events_to_wit(events: Vec<ir::StreamEvent>) -> Vec<wit::StreamEvent> {
            events.into_iter().map(Into::into).collect()
        }

        // World-level records whose shape every version shares.


        /// The host's info of an adapter from the fields every version's `adapter-info`
        /// has; `credential_kinds` and `endpoints` are what this version derives its own
        /// way, from fields the caller has taken out of `info` first.
        fn provider_info_from(
            info: wit_translator::AdapterInfo,
            contract_version: &str,
            credential_kinds: Vec<$crate::runtime::CredentialKind>,
            endpoints: Vec<$crate::runtime::Endpoint>,
        ) -> $crate::runtime::ProviderInfo {
            $crate::runtime::ProviderInfo {
                id: info.id,
                version: info.version,
                contract_version: contract_version.to_owned(),
                description: info.description,
                models: info.models.into_iter().map(Into::into).collect(),
                native_dialects: info.native_dialects.into_iter().map(Into::into).collect(),
                credential_kinds,
                endpoints,
                hosts: info.hosts,
                default_fixups: info.default_fixups,
            }
        }

        /// The host's info of a fixup from the fields every version's `fixup-info` has;
        /// `applies_to` is what this version derives its own way.
        fn fixup_info_from(
            info: wit_filter::FixupInfo,
            contract_version: &str,
            applies_to: $crate::runtime::AppliesTo,
        ) -> $crate::runtime::FixupInfo {
            $crate::runtime::FixupInfo {
                id: info.id,
                version: info.version,
                contract_version: contract_version.to_owned(),
                description: info.description,
                hooks: info.hooks.into(),
                applies_to,
            }
        }

        impl From<wit_filter::Hooks> for $crate::runtime::Hooks {
            fn from(hooks: wit_filter::Hooks) -> Self {
                Self {
                    request: hooks.contains(wit_filter::Hooks::REQUEST),
                    upstream_request: hooks.contains(wit_filter::Hooks::UPSTREAM_REQUEST),
                    events: hooks.contains(wit_filter::Hooks::EVENTS),
                }
            }
        }
    };
}

pub(crate) use shared_ir_conversions;

/// Writes both `From` impls between `ir::$name` and `wit::$name` (as the invoking
/// module names them) from one list of the type's fields or variants:
///
/// - `both_ways!(record Name { field, field: how, ... })`, where `how` is nothing (the
///   value moves as it is), `into` (`.into()`), `maybe` (an `Option` of convertibles),
///   `each` (a `Vec` of convertibles) or `options` (JSON text in WIT, through
///   `options_to_wit` and `options_from_wit`);
/// - `both_ways!(record Name { ... } down_by function(extra: Type, ...))`: going down
///   is a function that takes the fields the WIT record has and the IR lacks;
/// - `both_ways!(enum Name { Variant, Variant(how), ... })`, where a payload's `how`
///   is `moved` or one of the above.
macro_rules! both_ways {
    (record $name:ident { $($field:ident $(: $how:ident)?),* $(,)? }) => {
        impl From<ir::$name> for wit::$name {
            fn from(value: ir::$name) -> Self {
                use $crate::runtime::convert::shared_ir::convert;
                Self { $($field: convert!(to, [$($how)?], value.$field)),* }
            }
        }

        $crate::runtime::convert::shared_ir::both_ways!(up $name { $($field $(: $how)?),* });
    };
    (
        record $name:ident { $($field:ident $(: $how:ident)?),* $(,)? }
        down_by $down:ident($($extra:ident: $extra_ty:ty),*)
    ) => {
        #[doc = concat!(
            "A host `", stringify!($name), "` in this version's form, given the fields ",
            "this version has and the host IR does not."
        )]
        pub fn $down(value: ir::$name $(, $extra: $extra_ty)*) -> wit::$name {
            use $crate::runtime::convert::shared_ir::convert;
            wit::$name {
                $($extra,)*
                $($field: convert!(to, [$($how)?], value.$field)),*
            }
        }

        $crate::runtime::convert::shared_ir::both_ways!(up $name { $($field $(: $how)?),* });
    };
    (up $name:ident { $($field:ident $(: $how:ident)?),* }) => {
        impl From<wit::$name> for ir::$name {
            fn from(value: wit::$name) -> Self {
                use $crate::runtime::convert::shared_ir::convert;
                Self { $($field: convert!(from, [$($how)?], value.$field)),* }
            }
        }
    };
    (enum $name:ident { $($variant:ident $(($how:ident))?),* $(,)? }) => {
        $crate::runtime::convert::shared_ir::both_ways!(
            variants ir => wit, to: $name { $($variant $(($how))?),* }
        );
        $crate::runtime::convert::shared_ir::both_ways!(
            variants wit => ir, from: $name { $($variant $(($how))?),* }
        );
    };
    (
        variants $source:ident => $target:ident, $direction:ident:
        $name:ident { $($variant:ident $(($how:ident))?),* }
    ) => {
        impl From<$source::$name> for $target::$name {
            fn from(value: $source::$name) -> Self {
                match value {
                    $(
                        $crate::runtime::convert::shared_ir::variant!(
                            pattern $source::$name::$variant, payload, [$($how)?]
                        ) => $crate::runtime::convert::shared_ir::variant!(
                            $direction $target::$name::$variant, payload, [$($how)?]
                        ),
                    )*
                }
            }
        }
    };
}

pub(crate) use both_ways;

/// One variant of [`both_ways!`]: its `pattern` on the source side, or its value on
/// the target side with the payload converted `to` or `from` WIT.
macro_rules! variant {
    (pattern $side:ident::$name:ident::$variant:ident, $payload:ident, []) => {
        $side::$name::$variant
    };
    (pattern $side:ident::$name:ident::$variant:ident, $payload:ident, [$how:ident]) => {
        $side::$name::$variant($payload)
    };
    ($direction:ident $side:ident::$name:ident::$variant:ident, $payload:ident, []) => {
        $side::$name::$variant
    };
    ($direction:ident $side:ident::$name:ident::$variant:ident, $payload:ident, [$how:ident]) => {
        $side::$name::$variant($crate::runtime::convert::shared_ir::convert!(
            $direction,
            [$how],
            $payload
        ))
    };
}

pub(crate) use variant;

/// One field or payload of [`both_ways!`], converted in one direction (`to` WIT or
/// `from` WIT).
macro_rules! convert {
    ($direction:ident, [], $value:expr) => {
        $value
    };
    ($direction:ident, [moved], $value:expr) => {
        $value
    };
    ($direction:ident, [into], $value:expr) => {
        $value.into()
    };
    ($direction:ident, [maybe], $value:expr) => {
        $value.map(Into::into)
    };
    ($direction:ident, [each], $value:expr) => {
        $value.into_iter().map(Into::into).collect()
    };
    (to, [options], $value:expr) => {
        $crate::runtime::convert::options_to_wit($value)
    };
    (from, [options], $value:expr) => {
        $crate::runtime::convert::options_from_wit($value)
    };
}

pub(crate) use convert;
