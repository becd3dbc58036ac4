//! One entry of a provider's `models:` list: either a bare upstream id or
//! `{name: <upstream id>, alias: <client name>}`.

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use std::fmt;

/// A model a provider entry serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelEntry {
    /// The upstream model id.
    pub name: String,
    /// Another name clients may use for it.
    pub alias: Option<String>,
}

impl<'de> Deserialize<'de> for ModelEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // A hand-written visitor instead of `#[serde(untagged)]`: untagged enums lose
        // the reason ("did not match any variant"), and operators need the bad key.
        deserializer.deserialize_any(ModelEntryVisitor)
    }
}

struct ModelEntryVisitor;

impl<'de> Visitor<'de> for ModelEntryVisitor {
    type Value = ModelEntry;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a model id, or a map {name, alias}")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<ModelEntry, E> {
        Ok(ModelEntry {
            name: value.to_owned(),
            alias: None,
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ModelEntry, A::Error> {
        let mut name = None;
        let mut alias = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "name" => name = Some(map.next_value::<String>()?),
                "alias" => alias = Some(map.next_value::<String>()?),
                other => return Err(de::Error::unknown_field(other, &["name", "alias"])),
            }
        }
        let name = name.ok_or_else(|| de::Error::missing_field("name"))?;
        Ok(ModelEntry { name, alias })
    }
}
