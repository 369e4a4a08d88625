//! `HostState`: what host functions reach through the engine's tag: the session, the printer,
//! the Ctrl-C flag and the actions seen so far.
//!
//! The engine is built once and its functions are plain `#[export_module]` functions, so they
//! cannot capture state; each call finds it in `NativeCallContext::tag()` instead.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, Weak};

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
    /// Every action read so far, by id: its name (the REPL completes ids and names) and, until
    /// this host writes it, the version last read and that action itself, as long as a script
    /// still holds it.
    pub seen: Mutex<BTreeMap<String, Seen>>,
    /// Where `auth(#{...})` starts from: the CLI's inputs (rate, tokens, concurrency, profile).
    pub inputs: Mutex<Inputs>,
    /// When set, `print` output is collected here instead of printed (for in-process tests).
    pub captured: Mutex<Option<Vec<String>>>,
    /// Changes that failed before reaching the session (an id in a batch that does not exist):
    /// the run's report and exit code count them with the session's own.
    pub local_failures: Mutex<Vec<crate::change::Change>>,
    /// The evidence a decide closure gave for its timeouts (`#{timeout, evidence}`), by action
    /// id: the run's report file shows it beside the change.
    pub evidence: Mutex<BTreeMap<String, String>>,
    /// The folders `import` may read from, shared with the engine's module resolver; the host
    /// sets them for each script or entry it runs.
    pub import_roots: Arc<RwLock<Roots>>,
}

pub type Shared = Arc<HostState>;

/// What the host knows of an action it read.
pub struct Seen {
    pub name: Option<String>,
    /// The last read, while it is current: `None` once this host wrote the action, so the next
    /// use reads it fresh instead of failing on a version conflict first. Weak: the scripts hold
    /// the actions (a listing dropped is memory given back), the host only recognises them.
    last_read: Option<(Option<i64>, Weak<ActionInfo>)>,
}

impl HostState {
    pub fn new(session: Option<Session>, printer: Printer) -> Shared {
        Arc::new(HostState {
            session: RwLock::new(session),
            printer,
            interrupt: Arc::new(AtomicBool::new(false)),
            seen: Mutex::new(BTreeMap::new()),
            inputs: Mutex::new(Inputs::default()),
            captured: Mutex::new(None),
            local_failures: Mutex::new(Vec::new()),
            evidence: Mutex::new(BTreeMap::new()),
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

    /// Notes actions just read (and handed to the script) as the current read of each.
    pub fn remember(&self, infos: &[Arc<ActionInfo>]) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        for info in infos {
            let read = Some((info.action.version, Arc::downgrade(info)));
            match seen.get_mut(&info.action.id) {
                Some(entry) => {
                    entry.name.clone_from(&info.action.name);
                    entry.last_read = read;
                }
                None => {
                    let entry = Seen {
                        name: info.action.name.clone(),
                        last_read: read,
                    };
                    seen.insert(info.action.id.clone(), entry);
                }
            }
        }
    }

    /// Marks actions that were just written as read no longer: the next use reads them fresh
    /// instead of failing on a version conflict first.
    pub fn forget(&self, ids: impl IntoIterator<Item = String>) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        for id in ids {
            if let Some(entry) = seen.get_mut(&id) {
                entry.last_read = None;
            }
        }
    }

    /// Whether `version` is the version of `id` this host read last and has not written since.
    pub fn is_current(&self, id: &str, version: Option<i64>) -> bool {
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .and_then(|entry| entry.last_read.as_ref())
            .is_some_and(|(read, _)| *read == version)
    }

    /// The action last read as `id`, while it is current and a script still holds it.
    pub fn recall(&self, id: &str) -> Option<Arc<ActionInfo>> {
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)?
            .last_read
            .as_ref()?
            .1
            .upgrade()
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
