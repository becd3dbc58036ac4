//! YAML to config with every error placed: duplicate keys at any depth are refused
//! naming the second occurrence's line, and every deserialisation error says its line.
//!
//! Why this is needed: serde_yaml_ng reports an error raised while a mapping's *key* is
//! read at that key's position, but an error raised after it (serde's own
//! `duplicate_field`, or a duplicate in a map) at the enclosing mapping's start, and it
//! prints no position at all for line 1 column 1, where a top-level mapping starts. So a
//! duplicated top-level key, or an unknown key on the first line, came without a line.

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, SeqAccess};

/// Parse `text` as `T`, refusing duplicate keys; errors name their line.
pub fn from_str<T: DeserializeOwned>(text: &str) -> anyhow::Result<T> {
    serde_yaml_ng::from_str::<NoDuplicateKeys>(text).map_err(placed)?;
    serde_yaml_ng::from_str::<T>(text).map_err(placed)
}

/// The error's text, with its line and column when serde_yaml_ng left them out.
fn placed(error: serde_yaml_ng::Error) -> anyhow::Error {
    let text = error.to_string();
    match error.location() {
        Some(at) if !text.contains(" line ") => {
            anyhow::anyhow!("{text} at line {} column {}", at.line(), at.column())
        }
        _ => anyhow::Error::new(error),
    }
}

/// Any YAML document, walked only to find a mapping that repeats a key.
struct NoDuplicateKeys;

impl<'de> de::Deserialize<'de> for NoDuplicateKeys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(Walk)?;
        Ok(NoDuplicateKeys)
    }
}

/// Visits every node; mappings check their keys.
struct Walk;

impl<'de> de::Visitor<'de> for Walk {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_i128<E>(self, _: i128) -> Result<(), E> {
        Ok(())
    }
    fn visit_u128<E>(self, _: u128) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(Walk)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(Walk)
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        // A tagged value (`!tag x`): walk what it tags.
        let (_, variant) = data.variant::<de::IgnoredAny>()?;
        de::VariantAccess::newtype_variant_seed(variant, WalkSeed)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(WalkSeed)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        // The check runs while the key is read, so the error carries the key's position.
        while map.next_key_seed(KeySeed { seen: &mut seen })?.is_some() {
            map.next_value_seed(WalkSeed)?;
        }
        Ok(())
    }
}

/// [`Walk`] as a seed.
struct WalkSeed;

impl<'de> DeserializeSeed<'de> for WalkSeed {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(Walk)
    }
}

/// Reads one mapping key and refuses it if the mapping had it already. Scalar keys are
/// compared by their text; a key that is itself a collection is walked, not compared.
struct KeySeed<'a> {
    seen: &'a mut HashSet<String>,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl KeySeed<'_> {
    fn note<E: de::Error>(self, key: String) -> Result<(), E> {
        if self.seen.insert(key.clone()) {
            Ok(())
        } else {
            Err(E::custom(format_args!(
                "duplicate key `{key}`: a key may appear once in a mapping"
            )))
        }
    }
}

impl<'de> de::Visitor<'de> for KeySeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping key")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.note(v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.note(v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.note(v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.note(v.to_string())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.note(v.to_owned())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.note("null".to_owned())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        Walk.visit_seq(seq)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        Walk.visit_map(map)
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        Walk.visit_enum(data)
    }
}

/// The line (1-based) where the key at `path` stands in `text`: `path` is a config key
/// as errors name it (`providers[1].name`, `limits.max-connections`). A path that ends
/// in an index (`api-keys[2]`) is placed at its list's key. `None` when the key is not
/// in the text (a default was used) or the text does not parse.
pub fn line_of(text: &str, path: &str) -> Option<usize> {
    let mut segments = segments(path)?;
    while matches!(segments.last(), Some(Segment::Index(_))) {
        segments.pop();
    }
    if segments.is_empty() {
        return None;
    }
    let deserializer = serde_yaml_ng::Deserializer::from_str(text);
    match (Find { path: &segments }).deserialize(deserializer) {
        Err(error) if error.to_string().contains(FOUND) => error.location().map(|at| at.line()),
        _ => None,
    }
}

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// `providers[1].accounts[0].name` as steps; `None` when it is not such a path.
fn segments(path: &str) -> Option<Vec<Segment>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, mut rest) = match part.find('[') {
            Some(at) => (&part[..at], &part[at..]),
            None => (part, ""),
        };
        if key.is_empty() {
            return None;
        }
        out.push(Segment::Key(key.to_owned()));
        while let Some(tail) = rest.strip_prefix('[') {
            let end = tail.find(']')?;
            out.push(Segment::Index(tail[..end].parse().ok()?));
            rest = &tail[end + 1..];
        }
        if !rest.is_empty() {
            return None;
        }
    }
    Some(out)
}

/// The text of the error [`Find`] raises at the key it looks for; the parser adds the
/// key's position.
const FOUND: &str = "\u{0}found";

/// Walks `path` down the document and raises [`FOUND`] while reading its last key.
struct Find<'p> {
    path: &'p [Segment],
}

impl<'de> DeserializeSeed<'de> for Find<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> de::Visitor<'de> for Find<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Some((Segment::Index(wanted), rest)) = self.path.split_first() else {
            while seq.next_element::<de::IgnoredAny>()?.is_some() {}
            return Ok(());
        };
        let mut index = 0;
        while index < *wanted {
            if seq.next_element::<de::IgnoredAny>()?.is_none() {
                return Ok(());
            }
            index += 1;
        }
        if seq.next_element_seed(Find { path: rest })?.is_some() {
            while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some((Segment::Key(wanted), rest)) = self.path.split_first() else {
            while map
                .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
                .is_some()
            {}
            return Ok(());
        };
        let last = rest.is_empty();
        while let Some(key) = map.next_key_seed(FindKey { wanted, last })? {
            if key {
                map.next_value_seed(Find { path: rest })?;
            } else {
                map.next_value::<de::IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// Reads a mapping key: whether it is the one wanted; the wanted last key raises
/// [`FOUND`] (while the key is read, so the error carries its position).
struct FindKey<'a> {
    wanted: &'a str,
    last: bool,
}

impl<'de> DeserializeSeed<'de> for FindKey<'_> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        // The check runs inside the visitor, while the key is read: only an error raised
        // there carries the key's position (one raised after it gets the mapping's).
        deserializer.deserialize_any(self)
    }
}

impl<'de> de::Visitor<'de> for FindKey<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<bool, E> {
        match key == self.wanted {
            true if self.last => Err(E::custom(FOUND)),
            matched => Ok(matched),
        }
    }
    fn visit_bool<E>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_i64<E>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_u64<E>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_f64<E>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_unit<E>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<bool, A::Error> {
        Walk.visit_seq(seq).map(|()| false)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<bool, A::Error> {
        Walk.visit_map(map).map(|()| false)
    }
}

/// Every key of `text` that `T` refuses, as `(path, message)` in document order of
/// discovery: the document is deserialised again with each wrong key taken out, until
/// it fits or the next error cannot be taken out (a missing key, a wrong list item).
/// For naming all of a refused config's wrong keys at once; empty when the text is
/// not YAML.
pub fn every_wrong_key<T: DeserializeOwned>(text: &str) -> Vec<(String, String)> {
    let Ok(mut document) = serde_yaml_ng::from_str::<serde_yaml_ng::Value>(text) else {
        return Vec::new();
    };
    let mut found: Vec<(String, String)> = Vec::new();
    // Bounded: each round takes one key out of a finite document.
    for _ in 0..256 {
        let Err(error) = serde_path_to_error::deserialize::<_, T>(document.clone()) else {
            break;
        };
        let message = error.inner().to_string();
        let mut path = Vec::new();
        for segment in error.path() {
            match segment {
                serde_path_to_error::Segment::Map { key } => path.push(Segment::Key(key.clone())),
                serde_path_to_error::Segment::Seq { index } => path.push(Segment::Index(*index)),
                _ => break,
            }
        }
        // An unknown or missing key is reported at its mapping; the message names it.
        let named = ["unknown field `", "missing field `"]
            .iter()
            .find_map(|prefix| message.strip_prefix(prefix))
            .and_then(|rest| rest.split('`').next());
        if let Some(key) = named
            && path.last() != Some(&Segment::Key(key.to_owned()))
        {
            path.push(Segment::Key(key.to_owned()));
        }
        let shown = show(&path);
        if shown.is_empty() || found.iter().any(|(known, _)| *known == shown) {
            break;
        }
        found.push((shown, message.clone()));
        if message.starts_with("missing field `") || !take_out(&mut document, &path) {
            break;
        }
    }
    found
}

/// `providers[1].name` from its steps.
fn show(path: &[Segment]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Index(index) => out.push_str(&format!("[{index}]")),
        }
    }
    out
}

/// Remove the mapping entry at `path` from `document`; false when `path` does not end
/// in a key of a mapping there (a list item is kept: removing it would renumber the
/// items after it).
fn take_out(document: &mut serde_yaml_ng::Value, path: &[Segment]) -> bool {
    let Some((Segment::Key(last), parents)) = path.split_last() else {
        return false;
    };
    let mut node = document;
    for segment in parents {
        node = match (segment, node) {
            (Segment::Key(key), serde_yaml_ng::Value::Mapping(map)) => {
                match map.get_mut(key.as_str()) {
                    Some(child) => child,
                    None => return false,
                }
            }
            (Segment::Index(index), serde_yaml_ng::Value::Sequence(items)) => {
                match items.get_mut(*index) {
                    Some(child) => child,
                    None => return false,
                }
            }
            _ => return false,
        };
    }
    match node {
        serde_yaml_ng::Value::Mapping(map) => map.remove(last.as_str()).is_some(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(text: &str) -> String {
        format!("{:#}", from_str::<serde_yaml_ng::Value>(text).unwrap_err())
    }

    #[test]
    fn a_duplicate_key_is_refused_at_the_line_of_its_second_occurrence() {
        let err = error_of("a: 1\nb: 2\na: 3\n");
        assert!(err.contains("duplicate key `a`"), "{err}");
        assert!(err.contains("line 3"), "{err}");
        let err = error_of("a:\n  - {x: 1, y: 2}\n  - x: 1\n    x: 2\n");
        assert!(err.contains("duplicate key `x`"), "{err}");
        assert!(err.contains("line 4"), "{err}");
    }

    #[test]
    fn the_same_key_in_sibling_mappings_is_not_a_duplicate() {
        from_str::<serde_yaml_ng::Value>("a: {x: 1}\nb: {x: 1}\nc: [{x: 1}, {x: 2}]\n").unwrap();
    }

    #[test]
    fn an_error_at_line_1_column_1_still_names_its_line() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Strict {
            a: Option<u32>,
        }
        let err = format!("{:#}", from_str::<Strict>("b: 1\n").unwrap_err());
        assert!(err.contains("unknown field `b`"), "{err}");
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn a_key_path_is_found_at_its_line() {
        let text = "a: 1
list:
  - x: 1
  - x: 2
    y:
      deep: 3
flow: {k: [1, 2]}
";
        assert_eq!(line_of(text, "a"), Some(1));
        assert_eq!(line_of(text, "list"), Some(2));
        assert_eq!(line_of(text, "list[0].x"), Some(3));
        assert_eq!(line_of(text, "list[1].x"), Some(4));
        assert_eq!(line_of(text, "list[1].y.deep"), Some(6));
        assert_eq!(line_of(text, "flow.k"), Some(7));
        // A path ending in an index is placed at its list.
        assert_eq!(line_of(text, "flow.k[1]"), Some(7));
        // Absent keys, indexes past the end, and non-paths have no line.
        assert_eq!(line_of(text, "missing"), None);
        assert_eq!(line_of(text, "list[5].x"), None);
        assert_eq!(line_of(text, "list[0].z"), None);
        assert_eq!(line_of(text, "a[x"), None);
        assert_eq!(line_of("[unclosed", "a"), None);
    }
}
