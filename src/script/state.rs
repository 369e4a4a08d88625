//! `HostState`: what host functions reach through the engine's tag: the session, the printer,
//! the Ctrl-C flag and the actions seen so far.
//!
//! The engine is built once and its functions are plain `#[export_module]` functions, so they
//! cannot capture state; each call finds it in `NativeCallContext::tag()` instead.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};

use rhai::{EvalAltResult, NativeCallContext};

use super::errors::throw;
use super::imports::Roots;
use crate::change::ActionInfo;
use crate::config::Inputs;
use crate::output::Printer;
use crate::session::Session;

pub struct HostState {
    pub session: RwLock<Option<Session>>,
    pub printer: Printer,
    pub interrupt: Arc<AtomicBool>,
    /// Actions read so far, by id: an action map passed back to `update_timeout` uses the full
    /// action that was read (config included) rather than the script's copy of it, and the REPL
    /// completes their ids and names.
    pub seen: Mutex<BTreeMap<String, ActionInfo>>,
    /// Ids and names of every action seen, for completion (outlives `seen` entries made stale).
    pub labels: Mutex<BTreeMap<String, Option<String>>>,
    /// Where `auth(#{...})` starts from: the CLI's inputs (rate, tokens, concurrency, profile).
    pub inputs: Mutex<Inputs>,
    /// When set, `print` output is collected here instead of printed (for in-process tests).
    pub captured: Mutex<Option<Vec<String>>>,
    /// Changes that failed before reaching the session (an id in a batch that does not exist):
    /// the run's report and exit code count them with the session's own.
    pub local_failures: Mutex<Vec<crate::change::Change>>,
    /// The folders `import` may read from, shared with the engine's module resolver; the host
    /// sets them for each script or entry it runs.
    pub import_roots: Arc<RwLock<Roots>>,
}

pub type Shared = Arc<HostState>;

impl HostState {
    pub fn new(session: Option<Session>, printer: Printer) -> Shared {
        Arc::new(HostState {
            session: RwLock::new(session),
            printer,
            interrupt: Arc::new(AtomicBool::new(false)),
            seen: Mutex::new(BTreeMap::new()),
            labels: Mutex::new(BTreeMap::new()),
            inputs: Mutex::new(Inputs::default()),
            captured: Mutex::new(None),
            local_failures: Mutex::new(Vec::new()),
            import_roots: Arc::new(RwLock::new(Roots::default())),
        })
    }

    pub fn print(&self, text: &str) {
        match self
            .captured
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
        {
            Some(lines) => lines.push(text.to_owned()),
            None => self.printer.data(text),
        }
    }

    pub fn interrupted(&self) -> bool {
        self.interrupt.load(Ordering::Relaxed)
    }

    pub fn remember(&self, infos: &[ActionInfo]) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let mut labels = self.labels.lock().unwrap_or_else(|e| e.into_inner());
        for info in infos {
            seen.insert(info.action.id.clone(), info.clone());
            labels.insert(info.action.id.clone(), info.action.name.clone());
        }
    }

    /// `remember`, taking the actions over instead of copying them: a listing of thousands of
    /// actions is held once by the host, not twice.
    pub fn remember_owned(&self, infos: Vec<ActionInfo>) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let mut labels = self.labels.lock().unwrap_or_else(|e| e.into_inner());
        for info in infos {
            labels.insert(info.action.id.clone(), info.action.name.clone());
            seen.insert(info.action.id.clone(), info);
        }
    }

    /// Forgets the stored copies of actions that were just written: the next use reads them
    /// fresh instead of failing on a version conflict first.
    pub fn forget(&self, ids: impl IntoIterator<Item = String>) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        for id in ids {
            seen.remove(&id);
        }
    }

    pub fn recall(&self, id: &str) -> Option<ActionInfo> {
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    /// The session, or a thrown error when this host has none (`dactl check`).
    pub fn session(&self) -> Result<SessionGuard<'_>, Box<EvalAltResult>> {
        let guard = self.session.read().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            return throw(
                "no.session",
                "This host has no connection to Genesys Cloud (it only checks scripts); use `dactl run` or `dactl repl`.",
            );
        }
        Ok(SessionGuard(guard))
    }
}

/// A read guard known to hold a session.
pub struct SessionGuard<'a>(RwLockReadGuard<'a, Option<Session>>);

impl std::ops::Deref for SessionGuard<'_> {
    type Target = Session;
    fn deref(&self) -> &Session {
        self.0.as_ref().expect("checked when the guard was made")
    }
}

/// The host state of the running engine.
pub fn of(ctx: &NativeCallContext) -> Result<Shared, Box<EvalAltResult>> {
    ctx.tag()
        .and_then(|tag| tag.read_lock::<Shared>().map(|s| s.clone()))
        .map_or_else(
            || {
                throw(
                    "internal",
                    "The dactl host state is missing from the engine (a dactl bug).",
                )
            },
            Ok,
        )
}
