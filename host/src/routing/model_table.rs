//! Which provider entries serve a model name, in config order.
//!
//! A provider entry serves each of its models by upstream id, by alias, and as
//! `<entry-name>/<id or alias>`. An entry that lists no models serves the models its
//! adapter's `info()` lists, and (since the operator named the entry explicitly)
//! any `<entry-name>/<model>`: adapters know only a default list, upstreams add models
//! faster than adapters ship. Such a client-chosen name must be a [`passthrough_name`]
//! (a safe charset, no dot segments): it travels to the adapter, which may put it in a
//! URL, so it is the first of three guards (then the adapter's encoding, then the
//! host's URL check in `upstream::egress`).
//!
//! An entry also serves the models its stored accounts' reads found (Copilot's
//! `/models`: see `accounts::reads`), by id, after its own: [`ReadModels`] says which,
//! per entry. Routing builds it when the reads or the pools change, not per request.

use std::borrow::Cow;
use std::sync::Arc;

use crate::config::{ModelEntry, ProviderEntry};
use crate::runtime::{ModelInfo, Registry};
use crate::surfaces::ListedModel;

/// The models the reads of each entry's accounts found, per entry (in config order):
/// the union over the entry's accounts, each id once, and each account's own list.
#[derive(Debug, Default)]
pub struct ReadModels {
    /// Entry index → the union of its accounts' read models.
    per_entry: Vec<Vec<ModelInfo>>,
    /// Account id → its read models.
    per_account: Arc<crate::accounts::reads::ReadModels>,
}

impl ReadModels {
    /// The union for each entry of what `accounts` (entry index → its stored account
    /// ids) read, from `per_account`.
    pub fn build<'a>(
        accounts: impl IntoIterator<Item = Vec<&'a str>>,
        per_account: Arc<crate::accounts::reads::ReadModels>,
    ) -> Self {
        let per_entry = accounts
            .into_iter()
            .map(|ids| {
                let mut union: Vec<ModelInfo> = Vec::new();
                for id in ids {
                    for model in per_account.get(id).map(|m| m.as_slice()).unwrap_or(&[]) {
                        if !union.iter().any(|known| known.id == model.id) {
                            union.push(model.clone());
                        }
                    }
                }
                union
            })
            .collect();
        Self {
            per_entry,
            per_account,
        }
    }

    /// The models entry `index` serves from its accounts' reads.
    pub fn of_entry(&self, index: usize) -> &[ModelInfo] {
        self.per_entry.get(index).map_or(&[], Vec::as_slice)
    }

    /// What is known of `model` for an attempt of entry `index` on account `account`:
    /// the account's own read entry, else any of the entry's accounts'.
    pub fn info(&self, index: usize, account: &str, model: &str) -> Option<ModelInfo> {
        self.per_account
            .get(account)
            .and_then(|models| models.iter().find(|m| m.id == model))
            .or_else(|| self.of_entry(index).iter().find(|m| m.id == model))
            .cloned()
    }
}

/// One provider entry that can serve a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Index of the entry in `config.providers`.
    pub provider: usize,
    /// The upstream model id to ask for.
    pub upstream_model: String,
}

/// The models of every provider entry.
#[derive(Debug, Clone)]
pub struct ModelTable {
    entries: Vec<TableEntry>,
}

#[derive(Debug, Clone)]
struct TableEntry {
    name: String,
    adapter: String,
    models: Vec<ModelEntry>,
}

impl ModelTable {
    /// Build from the config's provider entries.
    pub fn new(providers: &[ProviderEntry]) -> Self {
        let entries = providers
            .iter()
            .map(|p| TableEntry {
                name: p.name.clone(),
                adapter: p.adapter.clone(),
                models: p.models.clone(),
            })
            .collect();
        Self { entries }
    }

    /// Every entry that serves `requested`, in config order, at most once each.
    /// `registry` supplies the adapter model lists of entries that list none, `read`
    /// the models the entries' accounts read.
    pub fn resolve(
        &self,
        requested: &str,
        registry: &Registry,
        read: &ReadModels,
    ) -> Vec<Candidate> {
        let mut candidates = Vec::new();
        for (index, entry) in self.entries.iter().enumerate() {
            let models = entry.models_with(registry, read.of_entry(index));
            let direct = find(&models, requested);
            let prefixed = requested
                .strip_prefix(entry.name.as_str())
                .and_then(|rest| rest.strip_prefix('/'))
                .map(|rest| match find(&models, rest) {
                    Some(id) => Some(id),
                    None if entry.models.is_empty() && passthrough_name(rest) => {
                        Some(rest.to_owned())
                    }
                    None => None,
                });
            if let Some(upstream_model) = direct.or(prefixed.flatten()) {
                candidates.push(Candidate {
                    provider: index,
                    upstream_model,
                });
            }
        }
        candidates
    }

    /// The models clients may ask for (alias when there is one, else the id), each
    /// name once, first entry wins.
    pub fn list(&self, registry: &Registry, read: &ReadModels) -> Vec<ListedModel> {
        let mut listed: Vec<ListedModel> = Vec::new();
        for (index, entry) in self.entries.iter().enumerate() {
            for model in entry
                .models_with(registry, read.of_entry(index))
                .into_owned()
            {
                let id = model.alias.unwrap_or(model.name);
                if !listed.iter().any(|m| m.id == id) {
                    listed.push(ListedModel {
                        id,
                        owned_by: entry.name.clone(),
                    });
                }
            }
        }
        listed
    }
}

impl TableEntry {
    /// The entry's configured models, which are exclusive (listing models closes every
    /// other door); else its adapter's, then those its accounts' reads found that are
    /// not among them.
    ///
    /// Configured models are borrowed: resolving a name copies nothing but the id found.
    fn models_with(&self, registry: &Registry, read: &[ModelInfo]) -> Cow<'_, [ModelEntry]> {
        let by_id = |m: &ModelInfo| ModelEntry {
            name: m.id.clone(),
            alias: None,
        };
        if !self.models.is_empty() {
            return Cow::Borrowed(&self.models);
        }
        let mut models: Vec<ModelEntry> = registry
            .provider(&self.adapter)
            .map(|component| component.info.models.iter().map(by_id).collect())
            .unwrap_or_default();
        for model in read {
            if !models.iter().any(|known| known.name == model.id) {
                models.push(by_id(model));
            }
        }
        Cow::Owned(models)
    }
}

/// Longest model name an entry without `models:` passes on.
const PASSTHROUGH_NAME_MAX: usize = 256;

/// May a client-chosen name (`<entry>/<name>` for an entry without `models:`) reach
/// the upstream? 1 to [`PASSTHROUGH_NAME_MAX`] characters of ASCII letters, digits and
/// `-` `_` `.` `:` `@` `/`, where `/` only separates non-empty parts that are not `.`
/// or `..`. That covers `gemini-2.5-pro`, `vendor/model:free` (OpenRouter),
/// `ft:gpt-4o:org::id` and `claude@2025`, and leaves out everything that can end a URL
/// path segment or start a query (`?`, `#`, `%`, `\`, `&`, `=`, spaces) or climb
/// (`..`).
fn passthrough_name(name: &str) -> bool {
    (1..=PASSTHROUGH_NAME_MAX).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:@/".contains(&b))
        && name
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
}

/// The upstream id for a client name (alias first, then id).
fn find(models: &[ModelEntry], name: &str) -> Option<String> {
    models
        .iter()
        .find(|m| m.alias.as_deref() == Some(name))
        .or_else(|| models.iter().find(|m| m.name == name))
        .map(|m| m.name.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn table() -> ModelTable {
        let text = r#"
api-keys: [k]
providers:
  - name: claude-main
    adapter: anthropic
    models: [claude-sonnet-4-5, {name: claude-opus-4-1, alias: opus}]
  - name: claude-backup
    adapter: anthropic
    models: [claude-sonnet-4-5]
  - name: gpt
    adapter: openai
"#;
        ModelTable::new(&Config::parse(text).unwrap().0.providers)
    }

    fn cand(provider: usize, model: &str) -> Candidate {
        Candidate {
            provider,
            upstream_model: model.into(),
        }
    }

    #[test]
    fn a_model_served_twice_resolves_to_both_entries_in_config_order() {
        let candidates = table().resolve(
            "claude-sonnet-4-5",
            &Registry::default(),
            &ReadModels::default(),
        );
        assert_eq!(
            candidates,
            vec![cand(0, "claude-sonnet-4-5"), cand(1, "claude-sonnet-4-5")]
        );
    }

    #[test]
    fn an_alias_resolves_to_the_upstream_id() {
        assert_eq!(
            table().resolve("opus", &Registry::default(), &ReadModels::default()),
            vec![cand(0, "claude-opus-4-1")]
        );
        assert_eq!(
            table().resolve(
                "claude-opus-4-1",
                &Registry::default(),
                &ReadModels::default()
            ),
            vec![cand(0, "claude-opus-4-1")]
        );
    }

    #[test]
    fn an_entry_name_prefix_picks_that_entry_only() {
        let table = table();
        assert_eq!(
            table.resolve(
                "claude-backup/claude-sonnet-4-5",
                &Registry::default(),
                &ReadModels::default()
            ),
            vec![cand(1, "claude-sonnet-4-5")]
        );
        assert_eq!(
            table.resolve(
                "claude-main/opus",
                &Registry::default(),
                &ReadModels::default()
            ),
            vec![cand(0, "claude-opus-4-1")]
        );
        assert!(
            table
                .resolve(
                    "claude-backup/opus",
                    &Registry::default(),
                    &ReadModels::default()
                )
                .is_empty()
        );
    }

    #[test]
    fn an_entry_without_models_serves_any_model_by_prefix() {
        let table = table();
        assert_eq!(
            table.resolve("gpt/gpt-5", &Registry::default(), &ReadModels::default()),
            vec![cand(2, "gpt-5")]
        );
        assert!(
            table
                .resolve("gpt-5", &Registry::default(), &ReadModels::default())
                .is_empty(),
            "unprefixed needs the adapter's list"
        );
        assert!(
            table
                .resolve("gpt/", &Registry::default(), &ReadModels::default())
                .is_empty()
        );
    }

    #[test]
    fn an_entry_without_models_passes_on_only_safe_names() {
        let table = table();
        for name in [
            "gpt/vendor/model:free",
            "gpt/ft:gpt-4o-mini:org::abc123",
            "gpt/claude-3-5-sonnet@20240620",
            "gpt/gemini-2.5-pro",
        ] {
            assert_eq!(
                table.resolve(name, &Registry::default(), &ReadModels::default()),
                vec![cand(2, &name["gpt/".len()..])],
                "{name}"
            );
        }
        for name in [
            "gpt/../../../../X",
            "gpt/gem/../../X",
            "gpt/./x",
            "gpt/x/",
            "gpt//x",
            r"gpt/..\..\X",
            "gpt/x?injected=1&key=k",
            "gpt/x#f",
            "gpt/x%2F..",
            "gpt/a b",
            "gpt/é",
        ] {
            assert!(
                table
                    .resolve(name, &Registry::default(), &ReadModels::default())
                    .is_empty(),
                "{name}"
            );
        }
        let long = format!("gpt/{}", "m".repeat(PASSTHROUGH_NAME_MAX + 1));
        assert!(
            table
                .resolve(&long, &Registry::default(), &ReadModels::default())
                .is_empty()
        );
    }

    #[test]
    fn unknown_models_resolve_to_nothing() {
        assert!(
            table()
                .resolve("llama-3", &Registry::default(), &ReadModels::default())
                .is_empty()
        );
    }

    #[test]
    fn the_listing_shows_each_client_name_once() {
        let ids: Vec<_> = table()
            .list(&Registry::default(), &ReadModels::default())
            .into_iter()
            .map(|m| (m.id, m.owned_by))
            .collect();
        assert_eq!(
            ids,
            vec![
                ("claude-sonnet-4-5".to_owned(), "claude-main".to_owned()),
                ("opus".to_owned(), "claude-main".to_owned()),
            ]
        );
    }
    fn model(id: &str, routes: &[&str]) -> ModelInfo {
        ModelInfo {
            id: id.into(),
            display_name: None,
            context_window: None,
            max_output_tokens: None,
            routes: routes.iter().map(|r| r.to_string()).collect(),
        }
    }

    /// Account `a` of entry 2 (`gpt`) read `gpt-read` on `/responses`; account `b` of
    /// the same entry read it on `/chat/completions` and read `b-only` too.
    fn read() -> ReadModels {
        let per_account: crate::accounts::reads::ReadModels = [
            (
                "a".to_owned(),
                Arc::new(vec![model("gpt-read", &["/responses"])]),
            ),
            (
                "b".to_owned(),
                Arc::new(vec![
                    model("gpt-read", &["/chat/completions"]),
                    model("b-only", &["/v1/messages"]),
                ]),
            ),
        ]
        .into_iter()
        .collect();
        // Account `b` also serves entry 0, which lists its models: its reads add none.
        ReadModels::build([vec!["b"], vec![], vec!["a", "b"]], Arc::new(per_account))
    }

    #[test]
    fn the_models_an_entrys_accounts_read_are_served_and_listed_by_that_entry() {
        let table = table();
        let read = read();
        let registry = Registry::default();
        assert_eq!(
            table.resolve("gpt-read", &registry, &read),
            vec![cand(2, "gpt-read")]
        );
        assert_eq!(
            table.resolve("gpt/b-only", &registry, &read),
            vec![cand(2, "b-only")]
        );
        assert_eq!(
            table.resolve("b-only", &registry, &read),
            vec![cand(2, "b-only")],
            "an entry that lists its models serves only those"
        );
        assert!(
            table
                .resolve("gpt-read", &registry, &ReadModels::default())
                .is_empty(),
            "not without the read"
        );
        let listed: Vec<_> = table
            .list(&registry, &read)
            .into_iter()
            .map(|m| (m.id, m.owned_by))
            .collect();
        assert_eq!(
            listed[2..],
            [
                ("gpt-read".to_owned(), "gpt".to_owned()),
                ("b-only".to_owned(), "gpt".to_owned())
            ]
        );
    }

    #[test]
    fn a_models_info_is_the_serving_accounts_read_else_its_entrys() {
        let read = read();
        assert_eq!(
            read.info(2, "b", "gpt-read").unwrap().routes,
            ["/chat/completions"]
        );
        assert_eq!(
            read.info(2, "a", "gpt-read").unwrap().routes,
            ["/responses"]
        );
        assert_eq!(
            read.info(2, "a", "b-only").unwrap().routes,
            ["/v1/messages"]
        );
        assert_eq!(read.info(1, "x", "gpt-read"), None);
    }
}
