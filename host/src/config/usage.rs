//! The `usage:` and `metrics:` sections: where the usage store keeps its rows and for
//! how long, and whether (and where, without a key) Prometheus metrics are served.
//! Both are read at start; a reload does not move the store or the metrics listener.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use serde::Deserialize;

use super::Config;

/// The usage store (`usage:`): one row per authenticated request, in SQLite.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct UsageSettings {
    /// Keep the store (`true`); `false` records nothing and `plugboard usage` finds none.
    pub enabled: bool,
    /// The database file; beside the credential store when unset (the auth dir's
    /// parent: `~/.plugboard/usage.db` by default).
    pub path: Option<PathBuf>,
    /// Rows older than this many days are pruned (at start, then hourly).
    pub retention_days: u32,
}

impl Default for UsageSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            path: None,
            retention_days: 90,
        }
    }
}

/// Prometheus metrics (`metrics:`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct MetricsSettings {
    /// Count requests, tokens and the rest (`true`); `false` counts nothing.
    pub enabled: bool,
    /// A second address (`host:port`) serving `GET /metrics` without any key; unset
    /// serves no second listener (the management API's `/metrics` still answers).
    pub listen: Option<String>,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: None,
        }
    }
}

impl MetricsSettings {
    /// `metrics.listen`, parsed (`None` when unset).
    pub fn listen_addr(&self) -> anyhow::Result<Option<SocketAddr>> {
        self.listen
            .as_deref()
            .map(|text| {
                text.parse()
                    .with_context(|| format!("`metrics.listen: {text}` is not a host:port address"))
            })
            .transpose()
    }
}

impl Config {
    /// The usage database: `usage.path`, else `usage.db` beside the credential store
    /// (the auth dir's parent). A leading `~/` is the home directory.
    pub fn usage_path(&self) -> PathBuf {
        match &self.usage.path {
            Some(path) => match path.strip_prefix("~") {
                Ok(rest) => match std::env::var_os("HOME") {
                    Some(home) => PathBuf::from(home).join(rest),
                    None => path.clone(),
                },
                Err(_) => path.clone(),
            },
            None => {
                let auth = self.auth_dir();
                auth.parent()
                    .map(|parent| parent.join("usage.db"))
                    .unwrap_or_else(|| PathBuf::from("usage.db"))
            }
        }
    }
}
