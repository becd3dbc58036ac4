//! The `plugboard` command: `serve` runs the proxy, `login` adds an account by the
//! adapter's login flow, `accounts` manages the credential store, `adapters list`
//! shows what a directory of components would load, `adapters show ID` what one
//! declares.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use plugboard::accounts;
use plugboard::accounts::store::Store;
use plugboard::config::{Config, check_against_registry};
use plugboard::describe;
use plugboard::pipeline::{Gateway, LiveGateway};
use plugboard::reload::Reloader;
use plugboard::runtime::{ComponentKind, LoadFailure, Runtime, RuntimeSettings};

/// One base URL for every LLM subscription.
#[derive(Parser)]
#[command(name = "plugboard", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the proxy.
    Serve {
        /// The config file (see config.example.yaml).
        #[arg(long, short, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// Adapters directory; overrides the config's `adapters-dir`.
        #[arg(long)]
        adapters: Option<PathBuf>,
    },
    /// Log in to a subscription and store the account: `plugboard login ENTRY` (a
    /// provider entry of the config), or `--type TYPE` (a credential kind such as
    /// `claude-oauth`, or an account type such as `claude`). Logging in again to the
    /// same account updates its file.
    Login {
        /// The provider entry to log in for.
        entry: Option<String>,
        /// The credential kind (or account type) to log in with; needed when the
        /// adapter has several logins, or without ENTRY.
        #[arg(long = "type", value_name = "TYPE")]
        kind: Option<String>,
        /// Do not open a browser or listen for the redirect: print the URL, then paste
        /// the address the browser ends on (or the code) here.
        #[arg(long)]
        no_browser: bool,
        /// A login input the kind asks for (`--input region=eu-west-1`), repeatable.
        #[arg(long = "input", value_name = "NAME=VALUE", value_parser = parse_input)]
        inputs: Vec<(String, String)>,
        /// The config file.
        #[arg(long, short, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
    },
    /// The credential store: list, import, remove, refresh accounts.
    Accounts {
        #[command(subcommand)]
        command: AccountsCommand,
        /// The config file (for `auth-dir` and the provider entries).
        #[arg(long, short, default_value = DEFAULT_CONFIG, global = true)]
        config: PathBuf,
    },
    /// What the usage store holds: requests and tokens, in total and per group.
    Usage {
        /// The config file (for `usage.path`).
        #[arg(long, short, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// From: an age back from now (`30m`, `24h`, `7d`), RFC 3339, or Unix seconds.
        #[arg(long)]
        since: Option<String>,
        /// Until (same forms as --since).
        #[arg(long)]
        until: Option<String>,
        /// Group by, comma-separated: client-key, provider, account, model,
        /// upstream-model, dialect, status.
        #[arg(long)]
        by: Option<String>,
        /// A time series: `minute`, `hour` or `day` (UTC).
        #[arg(long)]
        bucket: Option<String>,
        /// Print the report as JSON.
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        /// Print the rows as CSV.
        #[arg(long)]
        csv: bool,
    },
    /// Inspect adapter components.
    Adapters {
        #[command(subcommand)]
        command: AdaptersCommand,
    },
    /// Internal: compile the component on stdin and write the artifact to stdout.
    /// `serve` runs this as a child so the compiler's memory leaves with it.
    #[command(hide = true)]
    CompileComponent {
        /// The serving runtime's `guest_memory_bytes` (shapes bounds checks).
        #[arg(long)]
        guest_memory_bytes: usize,
        /// The serving runtime's `max_instances`.
        #[arg(long)]
        max_instances: u32,
    },
}

/// The config file every command reads when `--config` is not given.
const DEFAULT_CONFIG: &str = "config.yaml";

#[derive(Subcommand)]
enum AccountsCommand {
    /// Every account: id, kind, label, the entries that use it, expiry, a token
    /// fingerprint, and its state (ok, cooling until T, disabled: reason, waiting for
    /// adapter, expired).
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Copy accounts from other tools' files: a CLIProxyAPI auth directory or file,
    /// Codex CLI `~/.codex/auth.json`, Claude Code `~/.claude/.credentials.json`,
    /// Gemini CLI `~/.gemini/oauth_creds.json`, the Kiro IDE's
    /// `~/.aws/sso/cache/kiro-auth-token.json`, Copilot's
    /// `~/.config/github-copilot/apps.json` or `hosts.json`.
    Import {
        /// Files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Delete an account's file.
    Remove {
        /// The account id.
        id: String,
    },
    /// Refresh an account's token now.
    Refresh {
        /// The account id.
        id: String,
    },
}

/// `NAME=VALUE`.
fn parse_input(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err(format!("`{text}` is not NAME=VALUE")),
    }
}

#[derive(Subcommand)]
enum AdaptersCommand {
    /// Load a directory and print each component (and each refused file, with why).
    List {
        /// Take the directory (and cache) from this config file.
        #[arg(long, short, conflicts_with = "adapters")]
        config: Option<PathBuf>,
        /// The directory to load.
        #[arg(long)]
        adapters: Option<PathBuf>,
    },
    /// Print everything one component declares: credential kinds with their login,
    /// refresh and exchange specs, named endpoints and their default URLs, models,
    /// hosts; for a fixup, its hooks and which requests it applies to.
    Show {
        /// The adapter or fixup id.
        id: String,
        /// Take the directory (and cache) from this config file.
        #[arg(long, short, conflicts_with = "adapters")]
        config: Option<PathBuf>,
        /// The directory to load.
        #[arg(long)]
        adapters: Option<PathBuf>,
        /// Print JSON (the contract's kebab-case names; `endpoints` maps each name to
        /// its default URL).
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::CompileComponent {
        guest_memory_bytes,
        max_instances,
    } = cli.command
    {
        return compile_component(guest_memory_bytes, max_instances);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("plugboard: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve { config, adapters } => serve(&config, adapters).await,
            Command::Adapters {
                command: AdaptersCommand::List { config, adapters },
            } => list_adapters(config.as_deref(), adapters).await,
            Command::Adapters {
                command:
                    AdaptersCommand::Show {
                        id,
                        config,
                        adapters,
                        json,
                    },
            } => show_adapter(&id, config.as_deref(), adapters, json).await,
            Command::Login {
                entry,
                kind,
                no_browser,
                inputs,
                config,
            } => {
                let args = accounts::cli::LoginArgs {
                    entry,
                    kind,
                    no_browser,
                    inputs,
                };
                let ctx = accounts_context(&config).await?;
                println!("{}", accounts::cli::login(&ctx, &args).await?);
                Ok(())
            }
            Command::Accounts { command, config } => {
                let ctx = accounts_context(&config).await?;
                let out = match command {
                    AccountsCommand::List { json } => accounts::cli::list(&ctx, json)?,
                    AccountsCommand::Import { paths } => accounts::cli::import(&ctx, &paths)?,
                    AccountsCommand::Remove { id } => accounts::cli::remove(&ctx, &id)?,
                    AccountsCommand::Refresh { id } => accounts::cli::refresh(&ctx, &id).await?,
                };
                println!("{}", out.trim_end());
                Ok(())
            }
            Command::Usage {
                config,
                since,
                until,
                by,
                bucket,
                json,
                csv,
            } => {
                let (config, _warnings) = Config::load(&config)?;
                let format = match (json, csv) {
                    (true, _) => plugboard::usage::Format::Json,
                    (_, true) => plugboard::usage::Format::Csv,
                    _ => plugboard::usage::Format::Table,
                };
                let out = plugboard::usage::cli(
                    &config,
                    since.as_deref(),
                    until.as_deref(),
                    by.as_deref(),
                    bucket.as_deref(),
                    format,
                )?;
                println!("{}", out.trim_end());
                Ok(())
            }
            Command::CompileComponent { .. } => unreachable!("handled before the runtime"),
        }
    });
    // Whatever is still running (connections cut at the end of the shutdown grace, a
    // blocking task) gets a moment, not a veto: dropping the runtime would wait for
    // blocking tasks without limit.
    runtime.shutdown_timeout(Duration::from_millis(500));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("plugboard: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr; `RUST_LOG` wins over the config's `log-level`. The file watcher's
/// own per-event trace stays off unless the filter names `notify`: with a log file in
/// a watched directory (the config's), each line written would be an event to log,
/// without end.
fn init_logging(default_filter: &str) -> anyhow::Result<()> {
    let mut filter = match std::env::var("RUST_LOG") {
        Ok(value) if !value.is_empty() => {
            EnvFilter::try_new(&value).context("RUST_LOG is not a valid log filter")?
        }
        _ => EnvFilter::try_new(default_filter)
            .with_context(|| format!("`log-level: {default_filter}` is not a valid log filter"))?,
    };
    if !filter.to_string().contains("notify") {
        filter = filter.add_directive("notify=debug".parse()?);
    }
    // Colours only for a person at a terminal; log files and pipes get plain text.
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .init();
    Ok(())
}

async fn serve(config_path: &Path, adapters: Option<PathBuf>) -> anyhow::Result<()> {
    // The text too: a reload that finds the same text changes nothing.
    let text = std::fs::read_to_string(config_path)
        .with_context(|| format!("cannot read config file {}", config_path.display()))?;
    let (mut config, warnings) = Config::parse(&text)
        .with_context(|| format!("invalid config file {}", config_path.display()))?;
    plugboard::management::set_config_path(config_path);
    if let Some(dir) = &adapters {
        config.adapters_dir = dir.clone();
    }
    init_logging(&config.log_level)?;
    for warning in warnings {
        tracing::warn!("config: {warning}");
    }
    let listen = config.listen_addr()?;
    // Each client connection (and its upstream connection) is a file descriptor; a
    // default soft limit of 1,024 would be the real connection cap.
    plugboard::server::connections::raise_open_file_limit();

    let runtime = compiling_runtime(&config)?;
    let refused = runtime
        .load_dir(&config.adapters_dir)
        .await
        .with_context(|| {
            format!(
                "cannot load adapters from {}",
                config.adapters_dir.display()
            )
        })?;
    for failure in &refused {
        tracing::warn!(path = %failure.path.display(), reason = %failure.reason, "component refused");
    }
    for warning in check_against_registry(&config, &runtime.registry()) {
        tracing::warn!("config: {warning}");
    }
    let _watch = runtime
        .watch(config.adapters_dir.clone())
        .with_context(|| format!("cannot watch {}", config.adapters_dir.display()))?;

    // The credential store, when an entry takes accounts from it: loaded, watched
    // (a file added, changed or removed is live within 2 s), refreshed ahead of expiry.
    let store = if config
        .providers
        .iter()
        .any(|entry| entry.accounts.uses_store())
    {
        let dir = config.auth_dir();
        let store = Store::open(&dir)
            .with_context(|| format!("cannot open the credential store {}", dir.display()))?;
        let snapshot = store.snapshot();
        for refused in &snapshot.refused {
            tracing::warn!(path = %refused.path.display(), reason = %refused.reason, "account file refused");
        }
        tracing::info!(dir = %dir.display(), accounts = snapshot.accounts.len(), "credential store loaded");
        Some(store)
    } else {
        None
    };
    // The usage store and metrics (process-wide: they outlive a config reload).
    let usage = plugboard::usage::start(&config)?;
    let gateway = Gateway::with_store(Arc::new(config), runtime.clone(), store.clone())?;
    // Client keys created through the management API live beside the config file.
    let keys_file = plugboard::governance::keys_file_for(config_path);
    let created_keys = gateway
        .governance
        .attach_file(&keys_file)
        .with_context(|| format!("cannot load the client keys of {}", keys_file.display()))?;
    if created_keys > 0 {
        tracing::info!(file = %keys_file.display(), keys = created_keys, "client keys loaded");
    }
    // Day and month quotas go on from what the usage store counted before the restart.
    if let Some(reader) = plugboard::usage::reader() {
        match gateway.governance.seed_from(reader) {
            Ok(()) => tracing::debug!("client key quotas seeded from the usage store"),
            Err(error) => tracing::warn!(error = %format!("{error:#}"),
                "cannot seed the client key quotas from the usage store: they start at zero"),
        }
    }
    let _store_watch = match (&store, &gateway.accounts) {
        (Some(store), Some(live)) => Some(
            store
                .watch(accounts::ahead::on_store_change(Arc::downgrade(live)))
                .with_context(|| format!("cannot watch {}", store.dir().display()))?,
        ),
        _ => None,
    };
    let live = LiveGateway::new(gateway);
    let _metrics_listener = plugboard::metrics::start(&live.current().config, live.clone()).await?;
    let _refresh_ahead = live
        .current()
        .accounts
        .is_some()
        .then(|| accounts::ahead::spawn(live.downgrade()));

    // Config hot reload: the file watched (live within 2 s), and SIGHUP.
    let reloader = Reloader::new(live.clone(), config_path.to_path_buf(), text, adapters);
    plugboard::management::set_reloader(reloader.clone());
    let _config_watch = if live.current().config.watch_config {
        Some(
            reloader
                .watch()
                .with_context(|| format!("cannot watch {}", config_path.display()))?,
        )
    } else {
        None
    };

    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let bound = listener.local_addr()?;
    let loaded: Vec<String> = runtime
        .list()
        .iter()
        .map(|c| format!("{}@{}", c.id, c.version))
        .collect();
    let loaded = if loaded.is_empty() {
        "none".to_owned()
    } else {
        loaded.join(", ")
    };
    let shutdown = shutdown_signal()?;
    #[cfg(unix)]
    reloader.reload_on_hangup()?;
    println!("plugboard listening on http://{bound} (components: {loaded})");
    tracing::info!(%bound, components = %loaded, "serving");

    plugboard::server::serve(listener, live, shutdown).await?;
    // The requests that finished are in the usage store's last batch: commit it.
    if let Some(usage) = usage {
        let _ = tokio::task::spawn_blocking(move || usage.close()).await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGINT or SIGTERM. The handlers are installed when this is
/// called, not when the future is first polled: the "listening" line is the
/// promise that a signal from then on stops the server cleanly.
fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    let (mut interrupt, mut terminate) = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::interrupt()).context("cannot install the SIGINT handler")?,
            signal(SignalKind::terminate()).context("cannot install the SIGTERM handler")?,
        )
    };
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down: finishing requests in flight");
    })
}

/// `plugboard compile-component`: stdin to artifact on stdout, reason on stderr.
fn compile_component(guest_memory_bytes: usize, max_instances: u32) -> ExitCode {
    use std::io::{Read, Write};
    let mut bytes = Vec::new();
    if let Err(error) = std::io::stdin().read_to_end(&mut bytes) {
        eprintln!("plugboard: cannot read the component from stdin: {error}");
        return ExitCode::FAILURE;
    }
    let settings = RuntimeSettings {
        guest_memory_bytes,
        max_instances,
        ..RuntimeSettings::default()
    };
    match plugboard::runtime::loader::compile_to_artifact(&settings, &bytes) {
        Ok(artifact) => match std::io::stdout().lock().write_all(&artifact) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("plugboard: cannot write the artifact: {error}");
                ExitCode::FAILURE
            }
        },
        Err(reason) => {
            eprintln!("plugboard: {reason}");
            ExitCode::from(plugboard::runtime::loader::REFUSED_EXIT_CODE as u8)
        }
    }
}

/// The runtime for `config`, compiling new components in a child process (see
/// `loader::compile`: the compiler's memory leaves with it).
fn compiling_runtime(config: &Config) -> anyhow::Result<Arc<Runtime>> {
    let settings = RuntimeSettings {
        compiler: std::env::current_exe().ok(),
        ..config.runtime_settings()
    };
    Runtime::new(settings).context("cannot start the wasm runtime")
}

/// The config, its adapters and an HTTP client, for `login` and `accounts`.
async fn accounts_context(config_path: &Path) -> anyhow::Result<accounts::cli::CliContext> {
    let (config, _) = Config::load(config_path)?;
    init_logging(&std::env::var("PLUGBOARD_CLI_LOG").unwrap_or_else(|_| "warn".to_owned()))?;
    let runtime = compiling_runtime(&config)?;
    let refused = runtime
        .load_dir(&config.adapters_dir)
        .await
        .with_context(|| {
            format!(
                "cannot load adapters from {}",
                config.adapters_dir.display()
            )
        })?;
    for failure in refused {
        tracing::warn!(path = %failure.path.display(), reason = %failure.reason, "component refused");
    }
    let limits = &config.limits;
    let upstream = plugboard::upstream::UpstreamClient::new(
        Duration::from_millis(limits.upstream_connect_timeout_ms),
        Duration::from_secs(limits.upstream_timeout_s),
        Duration::from_secs(limits.upstream_idle_timeout_s),
    )?;
    Ok(accounts::cli::CliContext {
        registry: runtime.registry(),
        runtime,
        http: upstream.http().clone(),
        upstream,
        config,
    })
}

/// Load the adapters directory named by `--config` or `--adapters`, for the
/// `adapters` commands: the runtime, the directory, and the files refused.
async fn load_for_inspection(
    config_path: Option<&Path>,
    adapters: Option<PathBuf>,
) -> anyhow::Result<(Arc<Runtime>, PathBuf, Vec<LoadFailure>)> {
    let (dir, settings) = match (config_path, adapters) {
        (Some(path), _) => {
            let (config, _) = Config::load(path)?;
            (config.adapters_dir.clone(), config.runtime_settings())
        }
        (None, Some(dir)) => (dir, RuntimeSettings::default()),
        (None, None) => anyhow::bail!("say which directory: --adapters DIR or --config FILE"),
    };
    init_logging("warn")?;
    let runtime = Runtime::new(settings).context("cannot start the wasm runtime")?;
    let refused = runtime
        .load_dir(&dir)
        .await
        .with_context(|| format!("cannot load adapters from {}", dir.display()))?;
    Ok((runtime, dir, refused))
}

async fn show_adapter(
    id: &str,
    config_path: Option<&Path>,
    adapters: Option<PathBuf>,
    json: bool,
) -> anyhow::Result<()> {
    let (runtime, dir, _) = load_for_inspection(config_path, adapters).await?;
    let registry = runtime.registry();
    let summaries = runtime.list();
    let summary = summaries.iter().find(|s| s.id == id);
    let out = if let Some(provider) = registry.provider(id) {
        if json {
            describe::provider_json(provider, summary).to_string()
        } else {
            describe::provider_text(provider, summary)
        }
    } else if let Some(fixup) = registry.fixup(id) {
        if json {
            describe::fixup_json(fixup, summary).to_string()
        } else {
            describe::fixup_text(fixup, summary)
        }
    } else {
        let known: Vec<&str> = summaries.iter().map(|s| s.id.as_str()).collect();
        anyhow::bail!(
            "no component `{id}` in {} (loaded: {})",
            dir.display(),
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        );
    };
    println!("{}", out.trim_end());
    Ok(())
}

async fn list_adapters(
    config_path: Option<&Path>,
    adapters: Option<PathBuf>,
) -> anyhow::Result<()> {
    let (runtime, dir, refused) = load_for_inspection(config_path, adapters).await?;
    let components = runtime.list();
    println!(
        "{}: {} component(s), {} refused",
        dir.display(),
        components.len(),
        refused.len()
    );
    for c in components {
        let kind = match c.kind {
            ComponentKind::Provider => "provider",
            ComponentKind::Fixup => "fixup",
        };
        println!(
            "{kind:<9} {:<20} {:<10} contract {:<7} sha256:{}  {}",
            c.id,
            c.version,
            c.contract_version,
            c.hash,
            c.path.display()
        );
    }
    for failure in refused {
        println!("refused   {}: {}", failure.path.display(), failure.reason);
    }
    Ok(())
}
