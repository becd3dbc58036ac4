//! Login sessions: `plugboard login` run inside the server for a browser elsewhere (the
//! management API's `POST accounts/login`).
//!
//! A session runs exactly what the command runs ([`super::cli::login_with`]: the
//! entry's adapter, the kind's declared flow, the account setup, the store), but the
//! person is reached through the session: its start answers with the authorization URL
//! or the device code, the caller polls it, and an authorization-code login completes
//! by the redirect to the flow's loopback listener or by a pasted redirect URL
//! ([`Sessions::paste`]). A session ends done (the account id), failed (why), or
//! expired: it is forgotten [`SESSION_TTL`] after it started, and a flow still
//! running then is stopped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use super::cli::{CliContext, LoggedIn, LoginArgs, LoginIo};
use super::oauth::{FlowError, LoginPrompt, Pasted};
use super::store::Store;

/// How long a session is kept (and its flow allowed to run): a device code's usual
/// lifetime.
pub const SESSION_TTL: Duration = Duration::from_secs(15 * 60);

/// Longest a start waits for the flow to produce its URL or code.
const START_WAIT: Duration = Duration::from_secs(60);

/// Most sessions at once; a start beyond it is refused.
const MAX_SESSIONS: usize = 64;

/// Where a session is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionState {
    /// Waiting for the person (or for the token endpoint).
    Pending,
    /// The account is stored.
    Done {
        /// Its id.
        account: String,
        /// `added` or `updated`.
        verb: &'static str,
    },
    /// The login failed; nothing was stored.
    Failed {
        /// Why (never a secret).
        reason: String,
    },
}

/// What a caller sees of a session.
#[derive(Debug, Clone)]
pub struct SessionView {
    /// The session id.
    pub id: String,
    /// The credential kind (or account type) asked for; empty when the entry's adapter
    /// chose its one login.
    pub kind: String,
    /// What the person must open.
    pub prompt: LoginPrompt,
    /// Where it is.
    pub state: SessionState,
    /// Seconds until it is forgotten.
    pub expires_in: u64,
}

/// Why a pasted redirect was not taken.
#[derive(Debug, thiserror::Error)]
pub enum PasteError {
    /// No such session (never started, or expired).
    #[error("no login session `{0}` (it may have expired)")]
    Unknown(String),
    /// The session is not an authorization-code login waiting for its redirect.
    #[error("login session `{0}` is not waiting for a redirect")]
    NotWaiting(String),
    /// The line is not this login's redirect.
    #[error("{0}")]
    Refused(FlowError),
}

struct Session {
    /// As asked.
    kind: String,
    started: Instant,
    prompt: LoginPrompt,
    state: Arc<Mutex<SessionState>>,
    paste: mpsc::Sender<Pasted>,
    task: tokio::task::AbortHandle,
}

/// The login sessions of one server.
#[derive(Default)]
pub struct Sessions {
    sessions: Mutex<HashMap<String, Arc<Session>>>,
}

impl Sessions {
    /// No sessions.
    pub fn new() -> Self {
        Self::default()
    }

    /// Start `plugboard login` as `args` says, storing into `store`; `on_done` runs
    /// after the account is stored (to refresh what the server derives from the
    /// store). Answers once the flow has its URL or device code; a login that cannot
    /// start (no such entry, a key kind, a missing input, an unreachable endpoint)
    /// fails here with the reason `plugboard login` would print.
    pub async fn start(
        &self,
        ctx: Arc<CliContext>,
        store: Arc<Store>,
        args: LoginArgs,
        on_done: impl FnOnce(&LoggedIn) + Send + 'static,
    ) -> anyhow::Result<SessionView> {
        self.sweep();
        if self.lock().len() >= MAX_SESSIONS {
            anyhow::bail!(
                "{MAX_SESSIONS} login sessions are open; finish one or wait for them to expire"
            );
        }
        let (first_tx, first_rx) = oneshot::channel::<Result<LoginPrompt, String>>();
        let first = Arc::new(Mutex::new(Some(first_tx)));
        let (paste_tx, paste_rx) = mpsc::channel(4);
        let state = Arc::new(Mutex::new(SessionState::Pending));
        let kind = args.kind.clone().unwrap_or_default();

        let prompt_first = first.clone();
        let prompt = Box::new(move |prompt: LoginPrompt| {
            if let Some(sender) = lock(&prompt_first).take() {
                let _ = sender.send(Ok(prompt));
            }
        });
        let task_state = state.clone();
        let task = tokio::spawn(async move {
            let io = LoginIo::Served {
                prompt,
                pasted: paste_rx,
            };
            let result = super::cli::login_with(&ctx, &args, &store, io).await;
            let next = match result {
                Ok(done) => {
                    tracing::info!(account = %done.id, verb = done.verb, "management: login stored an account");
                    on_done(&done);
                    SessionState::Done {
                        account: done.id,
                        verb: done.verb,
                    }
                }
                Err(error) => {
                    let reason = format!("{error:#}");
                    tracing::info!(%reason, "management: login failed");
                    if let Some(sender) = lock(&first).take() {
                        let _ = sender.send(Err(reason.clone()));
                    }
                    SessionState::Failed { reason }
                }
            };
            *lock(&task_state) = next;
        });
        let prompt = match tokio::time::timeout(START_WAIT, first_rx).await {
            Ok(Ok(Ok(prompt))) => prompt,
            Ok(Ok(Err(reason))) => anyhow::bail!(reason),
            Ok(Err(_)) => anyhow::bail!("the login ended before it could start"),
            Err(_) => {
                task.abort();
                anyhow::bail!(
                    "the login did not start within {} s (is the login endpoint reachable?)",
                    START_WAIT.as_secs()
                );
            }
        };
        let id = session_id()?;
        let session = Arc::new(Session {
            kind,
            started: Instant::now(),
            prompt,
            state,
            paste: paste_tx,
            task: task.abort_handle(),
        });
        self.lock().insert(id.clone(), session.clone());
        Ok(view(&id, &session))
    }

    /// The session `id`, or `None` when there is none (or it expired).
    pub fn get(&self, id: &str) -> Option<SessionView> {
        self.sweep();
        self.lock().get(id).map(|session| view(id, session))
    }

    /// Complete session `id`'s authorization-code login with a pasted redirect URL (or
    /// `code#state`, or the bare code). `Ok` once the flow took it; the exchange then
    /// runs and [`Sessions::get`] shows how it ended.
    pub async fn paste(&self, id: &str, line: String) -> Result<(), PasteError> {
        let session = self
            .get_session(id)
            .ok_or_else(|| PasteError::Unknown(id.to_owned()))?;
        let waiting = matches!(session.prompt, LoginPrompt::Open { .. })
            && *lock(&session.state) == SessionState::Pending;
        if !waiting {
            return Err(PasteError::NotWaiting(id.to_owned()));
        }
        let (taken, answer) = oneshot::channel();
        session
            .paste
            .send(Pasted { line, taken })
            .await
            .map_err(|_| PasteError::NotWaiting(id.to_owned()))?;
        match answer.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(PasteError::Refused(error)),
            Err(_) => Err(PasteError::NotWaiting(id.to_owned())),
        }
    }

    fn get_session(&self, id: &str) -> Option<Arc<Session>> {
        self.sweep();
        self.lock().get(id).cloned()
    }

    /// Forget sessions past their time, stopping flows still running.
    fn sweep(&self) {
        self.lock().retain(|_, session| {
            let keep = session.started.elapsed() < SESSION_TTL;
            if !keep {
                session.task.abort();
            }
            keep
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Session>>> {
        lock(&self.sessions)
    }
}

impl Drop for Sessions {
    fn drop(&mut self) {
        for session in self.lock().values() {
            session.task.abort();
        }
    }
}

fn view(id: &str, session: &Session) -> SessionView {
    SessionView {
        id: id.to_owned(),
        kind: session.kind.clone(),
        prompt: session.prompt.clone(),
        state: lock(&session.state).clone(),
        expires_in: SESSION_TTL
            .saturating_sub(session.started.elapsed())
            .as_secs(),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A fresh session id: 16 random bytes, hex.
fn session_id() -> anyhow::Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes)
        .map_err(|error| anyhow::anyhow!("no randomness from the OS: {error}"))?;
    Ok(hex::encode(bytes))
}
