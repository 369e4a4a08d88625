//! `Session`: the one blocking facade over the async world. It owns the tokio runtime, the
//! client, the change engine and (with `--sandbox`) an in-process sandbox. Rhai and the CLI call
//! only this.
//!
//! Rhai is synchronous and its closures must not run inside async tasks, so every method blocks
//! on the session's runtime, and `update_timeouts` works in rounds: the caller's `decide` runs
//! here, on the calling thread, between rounds of concurrent async writes (see
//! `change::apply::run_rounds`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use tokio::runtime::Runtime;
use url::Url;

use crate::change::plan::{CHANGED_SINCE_PLANNED, Plan};
use crate::change::undo::UndoItem;
use crate::change::{
    ActionInfo, Change, Engine, EngineOptions, Kind, Outcome, Resolved, Status, Timeout,
    Verification, refusal, run_rounds,
};
use crate::config::{DEFAULT_TOKENS, Settings, default_concurrency};
use crate::genesys::error::{ENV_ACCESS_TOKEN, ENV_CLIENT_ID, ENV_CLIENT_SECRET};
use crate::genesys::{ActionQuery, Client, ClientOptions, Credentials, Error, RetryPolicy, Target};
use crate::output::Printer;
use crate::sandbox::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Sandbox, SandboxOptions};
use crate::secret::Secret;

pub enum Connection {
    /// Start an in-process sandbox and use its default client.
    Sandbox(SandboxOptions),
    Remote(Settings),
}

pub struct SessionOptions {
    pub dry_run: bool,
    /// Write the run's first action alone and read it back whole before any other (the canary;
    /// `--no-canary` turns it off).
    pub canary: bool,
    /// Journal file; `None`: the default under the XDG state dir.
    pub journal: Option<PathBuf>,
    /// Requests per minute per token. With `Connection::Remote` this wins over the value in
    /// `Settings` when it is not 0.
    pub rate_per_minute: u32,
    /// Tokens in the pool (0: the settings' value, or 10 for the sandbox).
    pub tokens: usize,
    /// Actions worked on at once, and requests in flight (0: the settings' value, or for the
    /// sandbox `config::default_concurrency` of the pool).
    pub concurrency: usize,
    pub printer: Printer,
    /// How long one request may take before it is abandoned (and retried, for reads).
    /// `None`: 30 s.
    pub request_timeout: Option<Duration>,
}

/// What one request may take when nothing else is said.
const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            dry_run: false,
            canary: true,
            journal: None,
            rate_per_minute: 300,
            tokens: 0,
            concurrency: 8,
            printer: Printer::default(),
            request_timeout: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct AuthInfo {
    pub region: Option<String>,
    pub api_base: String,
    pub expires_in: u64,
}

/// Decides a new timeout for an action (`None`: leave it). Called again on the fresh action after
/// a version conflict. `Err` is a reason the action is reported as failed.
pub type Decide<'a> = dyn FnMut(&ActionInfo) -> Result<Option<Timeout>, String> + 'a;

/// `Decide` for callers that share the actions they change (`update_timeouts_shared`): it gets
/// the shared action itself, to hand on without a copy.
pub use crate::change::DecideShared;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SessionError(pub String);

pub struct Session {
    engine: Engine,
    /// Every change this session made or planned, in order, for the run's summary.
    log: std::sync::Mutex<Vec<Change>>,
    /// Each changed or planned action's version when it was decided (for `--plan-out`).
    versions: std::sync::Mutex<HashMap<String, Option<i64>>>,
    /// The OAuth client's id (`None`: a ready access token), for reports; never the secret.
    client_id: Option<String>,
    /// Kept for `reconnect`: as given in `SessionOptions` (0: from the settings).
    tokens: usize,
    concurrency: usize,
    rate_per_minute: u32,
    /// The note that a ready-made token is a pool of one was printed.
    told_pool_of_one: bool,
    request_timeout: Option<Duration>,
    printer: Printer,
    /// Dropped before the runtime it runs on (fields drop in order).
    sandbox: Option<Sandbox>,
    runtime: Runtime,
}

/// The client id of client credentials; `None` for a ready access token.
fn client_id_of(credentials: &Credentials) -> Option<String> {
    match credentials {
        Credentials::ClientCredentials { client_id, .. } => Some(client_id.clone()),
        Credentials::AccessToken(_) => None,
    }
}

/// The retry rules used with the sandbox: the SDKs' rules, with short waits so tests stay fast.
fn sandbox_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 8,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_secs(2),
        max_retry_after: Duration::from_secs(180),
        max_total: Duration::from_secs(120),
    }
}

impl Session {
    pub fn connect(
        connection: Connection,
        options: SessionOptions,
    ) -> Result<Session, SessionError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("dactl-io")
            .build()
            .map_err(|e| SessionError(format!("Could not start the async runtime: {e}.")))?;
        let sandbox_tokens = match options.tokens {
            0 => DEFAULT_TOKENS,
            n => n,
        };
        let sandbox_concurrency = match options.concurrency {
            0 => default_concurrency(sandbox_tokens),
            n => n,
        };
        let credential_source = match &connection {
            Connection::Remote(settings) => settings.credential_source.clone(),
            Connection::Sandbox(_) => None,
        };
        let (client_options, sandbox) = match connection {
            Connection::Sandbox(sandbox_options) => {
                let sandbox = runtime
                    .block_on(Sandbox::start(sandbox_options))
                    .map_err(|e| SessionError(format!("Could not start the sandbox: {e}.")))?;
                let client_options = ClientOptions {
                    target: Target::local(sandbox.base_url()),
                    credentials: Credentials::ClientCredentials {
                        client_id: DEFAULT_CLIENT_ID.to_string(),
                        client_secret: Secret::new(DEFAULT_CLIENT_SECRET),
                    },
                    rate_per_minute: options.rate_per_minute.max(1),
                    tokens: sandbox_tokens,
                    concurrency: sandbox_concurrency,
                    retry: sandbox_retry(),
                    request_timeout: options.request_timeout.unwrap_or(DEFAULT_REQUEST_TIMEOUT),
                };
                (client_options, Some(sandbox))
            }
            Connection::Remote(settings) => (Self::remote_options(&settings, &options), None),
        };
        let client_id = client_id_of(&client_options.credentials);
        let told_pool_of_one = Self::tell_pool_of_one(&client_options, &options.printer, false);
        // The engine works on as many actions at once as the client lets requests fly.
        let concurrency = client_options.concurrency.max(1);
        let engine = {
            let _guard = runtime.enter();
            Self::build_engine(
                client_options,
                EngineOptions {
                    dry_run: options.dry_run,
                    canary: options.canary,
                    journal: options.journal,
                    concurrency,
                    ..EngineOptions::default()
                },
            )?
        };
        if let Some(source) = credential_source {
            engine.client().set_credential_source(source);
        }
        Ok(Session {
            engine,
            client_id,
            log: Default::default(),
            versions: Default::default(),
            tokens: options.tokens,
            concurrency: options.concurrency,
            rate_per_minute: options.rate_per_minute,
            told_pool_of_one,
            request_timeout: options.request_timeout,
            printer: options.printer,
            sandbox,
            runtime,
        })
    }

    fn remote_options(settings: &Settings, options: &SessionOptions) -> ClientOptions {
        let mut client_options = settings.client_options();
        if options.rate_per_minute != 0 {
            client_options.rate_per_minute = options.rate_per_minute;
        }
        if options.tokens != 0 && options.tokens != client_options.tokens {
            client_options.tokens = options.tokens;
            let usable = match client_options.credentials {
                Credentials::AccessToken(_) => 1,
                Credentials::ClientCredentials { .. } => options.tokens,
            };
            client_options.concurrency = default_concurrency(usable);
        }
        if options.concurrency != 0 {
            client_options.concurrency = options.concurrency;
        }
        if let Some(timeout) = options.request_timeout {
            client_options.request_timeout = timeout;
        }
        client_options
    }

    /// Says once, on stderr, that a ready-made access token is a pool of one when more tokens
    /// were asked for (`--tokens`, or the default 10); returns whether it has been said.
    fn tell_pool_of_one(options: &ClientOptions, printer: &Printer, told: bool) -> bool {
        let one = matches!(options.credentials, Credentials::AccessToken(_)) && options.tokens > 1;
        if one && !told {
            printer.info(&format!(
                "note: a ready-made access token ({ENV_ACCESS_TOKEN} or a profile's `access_token`) is \
                 a pool of one token, so requests go at `--rate` through it alone; `--tokens` needs \
                 client credentials ({ENV_CLIENT_ID} and {ENV_CLIENT_SECRET})."
            ));
        }
        told || one
    }

    fn build_engine(
        client_options: ClientOptions,
        options: EngineOptions,
    ) -> Result<Engine, SessionError> {
        let client = Client::new(client_options).map_err(|e| SessionError(e.to_string()))?;
        Ok(Engine::new(client, options))
    }

    /// Reconnects with other settings (the script's `auth(#{...})`). The dry-run switch, the
    /// cancel flag and the journal (same run) carry over.
    pub fn reconnect(&mut self, settings: Settings) -> Result<(), SessionError> {
        let options = SessionOptions {
            dry_run: self.dry_run(),
            canary: true,
            journal: None,
            rate_per_minute: self.rate_per_minute,
            tokens: self.tokens,
            concurrency: self.concurrency,
            printer: self.printer.clone(),
            request_timeout: self.request_timeout,
        };
        let client_options = Self::remote_options(&settings, &options);
        let client_id = client_id_of(&client_options.credentials);
        self.told_pool_of_one =
            Self::tell_pool_of_one(&client_options, &self.printer, self.told_pool_of_one);
        let client = {
            let _guard = self.runtime.enter();
            Client::new(client_options).map_err(|e| SessionError(e.to_string()))?
        };
        if let Some(source) = settings.credential_source {
            client.set_credential_source(source);
        }
        self.engine.reconnect(client);
        self.client_id = client_id;
        Ok(())
    }

    /// The OAuth client's id this session authenticates with; `None` for a ready access token.
    pub fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }

    /// The org this session works on, for reports: `eu-west-1 (https://api.mypurecloud.ie/)`, or
    /// the base URL alone for a local sandbox.
    pub fn org(&self) -> String {
        let target = self.engine.client().target();
        match &target.region {
            Some(region) => format!("{region} ({})", target.api_base),
            None => format!("{} (local)", target.api_base),
        }
    }

    pub fn sandbox_url(&self) -> Option<&Url> {
        self.sandbox.as_ref().map(Sandbox::base_url)
    }

    pub fn dry_run(&self) -> bool {
        self.engine.dry_run()
    }

    pub fn set_dry_run(&mut self, on: bool) {
        self.engine.set_dry_run(on);
    }

    /// Set it (from a Ctrl-C handler) and no new write starts; writes in flight finish, and the
    /// remaining changes come back `skipped` ("interrupted before this write started").
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        self.engine.cancel_flag()
    }

    pub fn printer(&self) -> &Printer {
        &self.printer
    }

    /// The engine, for callers that run their own async work on `runtime()`.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// Authenticates now. Returns where and for how long; never the token.
    pub fn authenticate(&self) -> Result<AuthInfo, Error> {
        let lifetime = self.runtime.block_on(self.engine.client().authenticate())?;
        let target = self.engine.client().target();
        Ok(AuthInfo {
            region: target.region.clone(),
            api_base: target.api_base.to_string(),
            expires_in: lifetime.as_secs(),
        })
    }

    /// One action with its config and kind (see `Engine::fetch_action`).
    pub fn fetch_action(&self, id: &str) -> Result<ActionInfo, Error> {
        self.runtime.block_on(self.engine.fetch_action(id))
    }

    /// Every page of the listing, kinds resolved without a request per action.
    pub fn list_actions(&self, query: &ActionQuery) -> Result<Vec<ActionInfo>, Error> {
        // A listing of a big org takes a page per request at the rate limit: a spinner says it
        // is working (drawn only where progress may be, and only once it has taken a moment).
        let spinner = if self.printer.shows_progress() {
            let spinner = ProgressBar::new_spinner();
            spinner.set_style(
                ProgressStyle::with_template("{spinner} listing actions… {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            spinner.enable_steady_tick(Duration::from_millis(120));
            spinner
        } else {
            ProgressBar::hidden()
        };
        let listed = self.runtime.block_on(self.engine.list_actions(query));
        spinner.finish_and_clear();
        listed
    }

    /// Executions of `actions` over the last `days` days (see `Engine::action_stats`).
    pub fn action_stats(
        &self,
        actions: &[ActionInfo],
        days: u32,
    ) -> Result<Vec<crate::change::stats::ActionStats>, Error> {
        self.runtime
            .block_on(self.engine.action_stats(actions, days))
    }

    /// The actions `ids` name (see `Engine::resolve`).
    pub fn resolve(&self, ids: &[String], include_auth: bool) -> Result<Resolved, Error> {
        self.runtime
            .block_on(self.engine.resolve(ids, include_auth))
    }

    /// Safe bulk change: concurrent within the rate and concurrency limits, journaled before
    /// every write, re-deciding after version conflicts. Unchanged actions cost no request.
    pub fn update_timeouts(
        &self,
        targets: Vec<ActionInfo>,
        decide: &mut Decide<'_>,
    ) -> Vec<Change> {
        let targets = targets.into_iter().map(Arc::new).collect();
        self.update_timeouts_shared(targets, &mut |info: &Arc<ActionInfo>| decide(info))
    }

    /// `update_timeouts` of actions the caller holds too (a script's listing): the engine works
    /// on the caller's own values, so a bulk change holds each action once.
    pub fn update_timeouts_shared(
        &self,
        targets: Vec<Arc<ActionInfo>>,
        decide: &mut DecideShared<'_>,
    ) -> Vec<Change> {
        let changes = self.change_unlogged(targets, decide);
        self.log(&changes);
        changes
    }

    /// Keeps `changes` in the session's changes (the run's summary and a saved plan read them).
    fn log(&self, changes: &[Change]) {
        self.log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .extend(changes.iter().cloned());
    }

    /// `update_timeouts_shared` without keeping the changes in the session's log: for a caller
    /// that finishes them first (`apply_plan` names why an action was left).
    fn change_unlogged(
        &self,
        targets: Vec<Arc<ActionInfo>>,
        decide: &mut DecideShared<'_>,
    ) -> Vec<Change> {
        let engine = &self.engine;
        // Counts finished changes; hidden (never drawn) unless stderr is a terminal.
        let progress = if self.printer.shows_progress() && targets.len() > 1 {
            let bar = ProgressBar::new(targets.len() as u64);
            let style =
                ProgressStyle::with_template("{bar:30} {pos}/{len} actions, {per_sec}, ETA {eta}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar
        } else {
            ProgressBar::hidden()
        };
        let observe = |outcome: &Outcome| {
            if matches!(outcome, Outcome::Done(_)) {
                progress.inc(1);
            }
        };
        // Changes that end without an apply: refused kinds now, undecided ones as decided.
        progress.inc(targets.iter().filter(|t| refusal(t.kind).is_some()).count() as u64);
        let versions = &self.versions;
        let mut decide = |info: &Arc<ActionInfo>| {
            versions
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .insert(info.action.id.clone(), info.action.version);
            let decision = decide(info);
            if !matches!(decision, Ok(Some(_))) {
                progress.inc(1);
            }
            decision
        };
        let changes = run_rounds(targets, &mut decide, engine.max_attempts(), |planned| {
            self.runtime
                .block_on(engine.apply_observed(planned, &observe))
        });
        progress.finish_and_clear();
        changes
    }

    /// Leaves these actions alone: each comes back `skipped` with `reason`, without a request,
    /// and is kept in the session's changes (the report and a saved plan list it).
    pub fn leave_alone(&self, infos: &[ActionInfo], reason: &str) -> Vec<Change> {
        let changes: Vec<Change> = infos
            .iter()
            .map(|info| Change::skipped(info, reason))
            .collect();
        self.log(&changes);
        changes
    }

    /// Every change this session has made or planned so far (the run's summary reads it).
    pub fn changes(&self) -> Vec<Change> {
        self.log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The version an action had when this session last decided a change to it.
    pub fn decided_version(&self, id: &str) -> Option<i64> {
        self.versions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(id)
            .copied()
            .flatten()
    }

    /// The plan of what this session planned (a dry run), for `--plan-out`.
    pub fn plan(&self) -> Plan {
        Plan::from_changes(&self.changes(), |id| self.decided_version(id))
    }

    /// Puts back what a journal's writes changed (see `change::undo`); journaled in this
    /// session's own journal. `Err` when the actions could not be read, before any write.
    pub fn undo(&self, items: &[UndoItem], force: bool) -> Result<Vec<Change>, Error> {
        let changes = self.runtime.block_on(self.engine.undo(items, force))?;
        self.log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .extend(changes.iter().cloned());
        Ok(changes)
    }

    /// Applies a saved plan (see `change::plan`): an action still at its planned version gets
    /// the planned timeout; one whose version moved on only while its timeout is still the
    /// planned `before`; otherwise it is skipped, "changed since planned".
    pub fn apply_plan(&self, plan: &Plan) -> Result<Vec<Change>, Error> {
        let planned = plan.by_id();
        let ids: Vec<String> = plan.changes.iter().map(|c| c.id.clone()).collect();
        let resolved = self.resolve(&ids, false)?;
        let mut gone: Vec<Change> = resolved
            .missing
            .iter()
            .filter_map(|id| planned.get(id.as_str()))
            .map(|entry| entry.gone())
            .collect();
        let targets = resolved.found.into_iter().map(Arc::new).collect();
        let mut moved_on: Vec<String> = Vec::new();
        let mut decide = |info: &Arc<ActionInfo>| -> Result<Option<Timeout>, String> {
            let Some(entry) = planned.get(info.action.id.as_str()) else {
                return Ok(None);
            };
            let function_now = match (info.kind, info.function_timeout) {
                (Kind::Function, None) if info.action.version != Some(entry.version) => self
                    .runtime
                    .block_on(self.engine.function_timeout(&info.action.id))
                    .map_err(|e| e.to_string())?,
                (_, known) => known,
            };
            if entry.still_applies(info, function_now) {
                Ok(Some(entry.target()))
            } else {
                moved_on.push(info.action.id.clone());
                Ok(None)
            }
        };
        let mut changes = self.change_unlogged(targets, &mut decide);
        for change in &mut changes {
            if change.status == Status::Skipped && moved_on.contains(&change.id) {
                change.reason = Some(CHANGED_SINCE_PLANNED.into());
            }
        }
        gone.extend(changes);
        self.log(&gone);
        Ok(gone)
    }

    /// One action to one timeout (conflicts handled as in `update_timeouts`).
    pub fn update_timeout(&self, target: ActionInfo, timeout: Timeout) -> Change {
        let mut decide = |_: &ActionInfo| Ok(Some(timeout));
        self.update_timeouts(vec![target], &mut decide).remove(0)
    }

    /// Reads back in batches of 50 (`ids=`) and compares with each change's `after`.
    pub fn verify(&self, changes: &[Change]) -> Result<Verification, Error> {
        self.runtime.block_on(self.engine.verify(changes))
    }

    /// How the run's canary went, once its first write was checked.
    pub fn canary(&self) -> Option<crate::change::Canary> {
        self.engine.canary()
    }

    /// Why the run stopped writing, when it did.
    pub fn halted(&self) -> Option<String> {
        self.engine.halted()
    }

    /// The journal of this session, once anything was written.
    pub fn journal_path(&self) -> Option<PathBuf> {
        self.engine.journal().path()
    }

    /// The run id that names this session's journal.
    pub fn run_id(&self) -> &str {
        self.engine.journal().run_id()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The script host keeps the session behind Rhai's `sync` feature, which needs both.
    #[test]
    fn session_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Session>();
    }
}
