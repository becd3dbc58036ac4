//! Client model names to Kiro model ids.
//!
//! Kiro names its models with dots (`claude-sonnet-4.5`); clients send Anthropic's
//! names (`claude-sonnet-4-5-20250929`) or a router's (`kiro-claude-sonnet-4-5`). The
//! mapping is what Kiro proxies agree on: the `kiro-` and `amazonq-` prefixes go, a
//! date suffix (`-20250929`, `-latest`) goes, a `-thinking` suffix goes (and asks for
//! thinking), and a version written `4-5` becomes `4.5`. Kiro's legacy upper-case ids
//! (`CLAUDE_SONNET_4_20250514_V1_0`) pass unchanged, and the two Claude 3 models Kiro
//! still serves only under legacy ids are mapped to them.

/// Models the adapter declares, with the context window used for usage estimates
/// (200k for every Claude model: the figure most Kiro clients use; sources disagree
/// about 1M windows for the 4.6 models).
pub const MODELS: &[(&str, u32)] = &[
    ("auto", 200_000),
    ("claude-sonnet-4", 200_000),
    ("claude-sonnet-4.5", 200_000),
    ("claude-sonnet-4.6", 200_000),
    ("claude-opus-4.5", 200_000),
    ("claude-opus-4.6", 200_000),
    ("claude-haiku-4.5", 200_000),
];

/// The output limit declared for every model (what Kiro clients cap at).
pub const MAX_OUTPUT_TOKENS: u32 = 32_000;

/// Claude 3 models Kiro serves under legacy ids only.
const LEGACY: &[(&str, &str)] = &[
    ("claude-3.7-sonnet", "CLAUDE_3_7_SONNET_20250219_V1_0"),
    ("claude-3.5-haiku", "CLAUDE_3_5_HAIKU_20241022_V1_0"),
];

/// A client model name read for Kiro.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KiroModel {
    /// The Kiro `modelId`.
    pub id: String,
    /// The name ended in `-thinking`: the request asks for thinking.
    pub thinking: bool,
}

/// The Kiro id of a client model name (see the module docs).
pub fn kiro_model_id(name: &str) -> KiroModel {
    let name = name.trim();
    if name.contains('_') && name.chars().any(|c| c.is_ascii_uppercase()) {
        return KiroModel {
            id: name.to_string(),
            thinking: false,
        };
    }
    let mut name = name.to_ascii_lowercase();
    for prefix in ["kiro-", "kiro/", "amazonq-", "amazonq/"] {
        if let Some(rest) = name.strip_prefix(prefix) {
            name = rest.to_string();
        }
    }
    let thinking = name.ends_with("-thinking");
    if thinking {
        name.truncate(name.len() - "-thinking".len());
    }
    let mut segments: Vec<&str> = name.split('-').collect();
    if let Some(last) = segments.last()
        && segments.len() > 1
        && (*last == "latest" || (last.len() == 8 && last.chars().all(|c| c.is_ascii_digit())))
    {
        segments.pop();
    }
    // `4-5` → `4.5`: two short numeric segments in a row are a version.
    let short_number =
        |s: &str| !s.is_empty() && s.len() <= 2 && s.chars().all(|c| c.is_ascii_digit());
    let mut joined: Vec<String> = Vec::with_capacity(segments.len());
    let mut i = 0;
    while i < segments.len() {
        if i + 1 < segments.len() && short_number(segments[i]) && short_number(segments[i + 1]) {
            joined.push(format!("{}.{}", segments[i], segments[i + 1]));
            i += 2;
        } else {
            joined.push(segments[i].to_string());
            i += 1;
        }
    }
    let id = joined.join("-");
    let id = LEGACY
        .iter()
        .find(|(dotted, _)| *dotted == id)
        .map_or(id.clone(), |(_, legacy)| legacy.to_string());
    KiroModel { id, thinking }
}

/// The context window of a Kiro model id (200k when unknown).
pub fn context_window(id: &str) -> u32 {
    MODELS
        .iter()
        .find(|(model, _)| *model == id)
        .map_or(200_000, |(_, window)| *window)
}
