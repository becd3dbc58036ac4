//! Conversions between the host IR (`crate::ir`) and the generated types of each
//! supported contract version. Surfaces and routing only ever see the host IR.
//!
//! Every version's generated types have the same shape for most of the IR, so those
//! conversions are written once, in `shared_ir`, as a macro each version's module
//! invokes on its own generated types; each version's folder keeps only what differs.
//!
//! `options` objects cross the boundary as JSON text (the WIT `json` type); text a
//! guest sends back that does not parse is kept as a JSON string rather than dropped,
//! so nothing a client sent disappears.

mod shared_ir;
pub mod v0_1;
pub mod v0_2;

use serde_json::Value;

use crate::ir;
use crate::runtime::{Placement, spec};

/// `options` to WIT: JSON text.
pub(crate) fn options_to_wit(options: ir::Options) -> Option<String> {
    options.map(|value| value.to_string())
}

/// `options` from WIT: parsed, or kept as a JSON string when it does not parse.
pub(crate) fn options_from_wit(options: Option<String>) -> ir::Options {
    options.map(|text| match serde_json::from_str::<Value>(&text) {
        Ok(value) => value,
        Err(error) => {
            tracing::debug!(%error, "guest sent options that are not JSON; kept as a string");
            Value::String(text)
        }
    })
}

/// A host placement in the credential specs' own type.
pub(crate) fn placement_to_spec(placement: &Placement) -> spec::Placement {
    match placement {
        Placement::None => spec::Placement::None,
        Placement::Bearer => spec::Placement::Bearer,
        Placement::Header { name, prefix } => spec::Placement::Header(spec::HeaderPlacement {
            name: name.clone(),
            prefix: prefix.clone(),
        }),
        Placement::Query(param) => spec::Placement::Query(param.clone()),
    }
}

/// A declared placement in host form.
pub(crate) fn placement_from_spec(placement: &spec::Placement) -> Placement {
    match placement {
        spec::Placement::None => Placement::None,
        spec::Placement::Bearer => Placement::Bearer,
        spec::Placement::Header(header) => Placement::Header {
            name: header.name.clone(),
            prefix: header.prefix.clone(),
        },
        spec::Placement::Query(param) => Placement::Query(param.clone()),
    }
}
