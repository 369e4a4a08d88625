//! `update_timeout`, `update_timeouts` and `verify`: changing timeouts through the session's
//! safe read-modify-write, and reading them back.
//!
//! A script's closure that decides a timeout per action is called synchronously from inside the
//! session's decide callback, on this thread: Rhai never runs on an async task.

use rhai::plugin::*;
use rhai::{Dynamic, EvalAltResult, Map, NativeCallContext};

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::change::{ActionInfo, Change, Status, Timeout};
use crate::script::convert;
use crate::script::errors::{self, ErrorMap};
use crate::script::state::{self, Shared};
use crate::script::values::{ScriptAction, ScriptChange};
use crate::session::Session;

type R<T> = Result<T, Box<EvalAltResult>>;

const INTERRUPTED: &str = "interrupted by Ctrl-C before this action was changed";

/// The action a script passed, when the host can use it as it is: an action the host read last
/// and has not written since (it holds the full config), or a map naming the version of such an
/// action that the script still holds. `None`: it must be read fresh.
fn known(state: &Shared, id: &str, value: &Dynamic) -> Option<Arc<ActionInfo>> {
    if let Some(action) = value.read_lock::<ScriptAction>() {
        let info = &action.0;
        return state
            .is_current(id, info.action.version)
            .then(|| info.clone());
    }
    let version = value
        .read_lock::<Map>()?
        .get("version")
        .and_then(|v| v.as_int().ok());
    version?;
    state.recall(id).filter(|i| i.action.version == version)
}

/// The action to change: the one already read when it is still current (see `known`),
/// otherwise a fresh read.
fn target(state: &Shared, value: &Dynamic) -> R<Arc<ActionInfo>> {
    let id = convert::action_id(value)?;
    if let Some(info) = known(state, &id, value) {
        return Ok(info);
    }
    let info = state
        .session()?
        .fetch_action(&id)
        .map_err(|e| ErrorMap::from_api(&e).with_action(&id).throw())?;
    let info = Arc::new(info);
    state.remember(std::slice::from_ref(&info));
    Ok(info)
}

/// Resolves many `action_or_id` values, the unknown ids in one `Session::resolve`; ids that do not
/// exist come back as failed changes rather than stopping the whole batch.
fn targets(state: &Shared, values: &[Dynamic]) -> R<(Vec<Arc<ActionInfo>>, Vec<Change>)> {
    let mut found = Vec::with_capacity(values.len());
    let mut missing_ids = Vec::new();
    for value in values {
        let id = convert::action_id(value)?;
        match known(state, &id, value) {
            Some(info) => found.push(info),
            None => missing_ids.push(id),
        }
    }
    let session = state.session()?;
    let resolved = session
        .resolve(&missing_ids, true)
        .map_err(|e| ErrorMap::from_api(&e).throw())?;
    let failed = resolved.missing_changes();
    let infos: Vec<Arc<ActionInfo>> = resolved.found.into_iter().map(Arc::new).collect();
    state.remember(&infos);
    found.extend(infos);
    state
        .local_failures
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .extend(failed.iter().cloned());
    Ok((found, failed))
}

/// What a decide closure returned: a timeout, or `#{timeout, evidence}` (the evidence a text the
/// report file shows beside the change).
fn decided(value: Dynamic) -> Result<(Dynamic, Option<String>), String> {
    let Some(map) = value.read_lock::<Map>().map(|m| m.clone()) else {
        return Ok((value, None));
    };
    if let Some(key) = map
        .keys()
        .find(|k| !matches!(k.as_str(), "timeout" | "evidence"))
    {
        return Err(format!(
            "The decide closure returned a map with `{key}`; it returns a timeout, `()`, or \
             `#{{timeout, evidence}}`."
        ));
    }
    let Some(timeout) = map.get("timeout").cloned() else {
        return Err(
            "The decide closure returned a map without `timeout`; return `#{timeout: 30, \
             evidence: \"...\"}`, a timeout, or `()`."
                .to_owned(),
        );
    };
    let evidence = map
        .get("evidence")
        .filter(|e| !e.is_unit())
        .map(|e| e.to_string());
    Ok((timeout, evidence))
}

/// Runs the session's bulk change with a fixed timeout.
fn apply_fixed(state: &Shared, infos: Vec<Arc<ActionInfo>>, timeout: Timeout) -> R<Vec<Change>> {
    let session = state.session()?;
    let mut decide = |_: &Arc<ActionInfo>| {
        if state.interrupted() {
            Err(INTERRUPTED.to_owned())
        } else {
            Ok(Some(timeout))
        }
    };
    let changes = linked_to_ctrl_c(state, &session, || {
        session.update_timeouts_shared(infos, &mut decide)
    });
    drop(session);
    after_bulk(state, changes)
}

/// Runs `work` (a bulk change) with Ctrl-C reaching the session: while it runs, a small watcher
/// passes the host's interrupt flag on to the session's cancel flag, so no new write starts
/// (writes in flight finish and are journaled). A watcher rather than a shared flag because
/// `auth(#{...})` may replace the session, and its flag with it.
fn linked_to_ctrl_c<T>(state: &Shared, session: &Session, work: impl FnOnce() -> T) -> T {
    let cancel = session.cancel_flag();
    cancel.store(state.interrupted(), Ordering::Relaxed);
    let interrupt = state.interrupt.clone();
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let done = done.clone();
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                if interrupt.load(Ordering::Relaxed) {
                    cancel.store(true, Ordering::Relaxed);
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let result = work();
    done.store(true, Ordering::Relaxed);
    let _ = watcher.join();
    result
}

fn after_bulk(state: &Shared, changes: Vec<Change>) -> R<Vec<Change>> {
    let written = changes.iter().filter(|c| c.status == Status::Updated);
    state.forget(written.map(|c| c.id.clone()));
    if state.interrupted() {
        return Err(EvalAltResult::ErrorTerminated("interrupted".into(), Position::NONE).into());
    }
    Ok(changes)
}

/// `verify` of one change or a list: the session's read-back of the `updated` and `unchanged`
/// ones (the one copy of the rules, function data actions included), as `#{ok, checked,
/// mismatches}`.
fn verify_all(ctx: &NativeCallContext, values: &[Dynamic]) -> R<Map> {
    let state = state::of(ctx)?;
    let mut list = Vec::with_capacity(values.len());
    for value in values {
        let change = convert::change_from(value)?;
        if matches!(change.status, Status::Updated | Status::Unchanged) {
            list.push(change);
        }
    }
    let verification = state
        .session()?
        .verify(&list)
        .map_err(|e| ErrorMap::from_api(&e).throw())?;
    Ok(convert::verification(&verification).cast::<Map>())
}

#[export_module]
pub mod change_functions {
    use rhai::{Array, FnPtr};

    /// Sets one action's timeout and returns the change. The change reads like the map `#{id,
    /// name, category, kind, before, after, status, reason}` (read-only); `status` is `"updated"`, `"unchanged"` (already at that value: nothing written),
    /// `"planned"` (dry run), `"skipped"` or `"failed"` (both with a `reason`). `timeout` is
    /// seconds (`30`) or a string with a unit (`"30s"`, `"45000ms"`, `"1m"`); bad values throw.
    /// Uses the safe read-modify-write: full config, current version, retried on a version conflict.
    ///
    /// Example: `let c = update_timeout("c0ffee00-0000-4000-8000-000000000001", 30); print(c.status);`
    #[rhai_fn(return_raw)]
    pub fn update_timeout(
        ctx: NativeCallContext,
        action_or_id: Dynamic,
        timeout: Dynamic,
    ) -> R<ScriptChange> {
        let state = state::of(&ctx)?;
        let timeout = convert::timeout(&timeout)?;
        let info = target(&state, &action_or_id)?;
        let changes = apply_fixed(&state, vec![info], timeout)?;
        let Some(change) = changes.into_iter().next() else {
            return errors::throw(
                "internal",
                "The change engine returned no result for the action (a dactl bug).",
            );
        };
        Ok(ScriptChange(Arc::new(change)))
    }

    /// Sets one timeout on many actions (actions, action maps or ids) and returns the changes. Runs concurrently within `--rate` and `--concurrency`; unchanged actions cost no write.
    ///
    /// Example: `let changes = update_timeouts(list_actions(#{category: "CRM"}), "45s");`
    #[rhai_fn(name = "update_timeouts", return_raw)]
    pub fn update_timeouts_fixed(
        ctx: NativeCallContext,
        actions: Array,
        timeout: Dynamic,
    ) -> R<Array> {
        let state = state::of(&ctx)?;
        let timeout = convert::timeout(&timeout)?;
        let (infos, mut failed) = targets(&state, &actions)?;
        failed.extend(apply_fixed(&state, infos, timeout)?);
        Ok(convert::changes(failed).cast::<Array>())
    }

    /// Sets a timeout per action, decided by a closure, and returns the changes. `decide` gets
    /// each action and returns a timeout, or `()` to leave the action alone, or `#{timeout,
    /// evidence}`: the evidence (text) is shown beside the change in the `--report` file. After
    /// a version conflict `decide` is called again with the fresh action. A value `decide`
    /// returns that is not a valid timeout fails that action with the reason.
    ///
    /// Example: `update_timeouts(list_actions(), |a| if a.timeout_seconds < 10 { 10 } else { () });`
    #[rhai_fn(name = "update_timeouts", return_raw)]
    pub fn update_timeouts_with(ctx: NativeCallContext, actions: Array, decide: FnPtr) -> R<Array> {
        let state = state::of(&ctx)?;
        let (infos, mut failed) = targets(&state, &actions)?;
        let changes = {
            let session = state.session()?;
            let mut decide_one = |info: &Arc<ActionInfo>| -> Result<Option<Timeout>, String> {
                if state.interrupted() {
                    return Err(INTERRUPTED.to_owned());
                }
                let value = decide
                    .call_within_context::<Dynamic>(&ctx, (convert::action(info.clone()),))
                    .map_err(|e| format!("The decide closure failed: {}", errors::describe(&e)))?;
                if value.is_unit() {
                    return Ok(None);
                }
                let (value, evidence) = decided(value)?;
                let timeout = convert::timeout(&value).map_err(|e| errors::describe(&e))?;
                let mut given = state.evidence.lock().unwrap_or_else(|e| e.into_inner());
                match evidence {
                    Some(text) => given.insert(info.action.id.clone(), text),
                    None => given.remove(&info.action.id),
                };
                Ok(Some(timeout))
            };
            linked_to_ctrl_c(&state, &session, || {
                session.update_timeouts_shared(infos, &mut decide_one)
            })
        };
        failed.extend(after_bulk(&state, changes)?);
        Ok(convert::changes(failed).cast::<Array>())
    }

    /// Reads one change back and returns `#{ok, checked, mismatches}`, as `verify(changes)` does
    /// for a list: `change` is what `update_timeout` returned (or its map). Only an `"updated"`
    /// or `"unchanged"` change is checked (`checked` is 1); any other status was not meant to be
    /// in place (`checked` is 0, `ok` is `true`).
    ///
    /// Example: `let c = update_timeout("c0ffee00-0000-4000-8000-000000000001", 30); if !verify(c).ok { throw "not applied"; }`
    #[rhai_fn(name = "verify", return_raw)]
    pub fn verify_change(ctx: NativeCallContext, change: Dynamic) -> R<Map> {
        verify_all(&ctx, std::slice::from_ref(&change))
    }

    /// Reads a change list back (50 actions per request) and returns `#{ok, checked, mismatches}`.
    /// The list is what `update_timeouts` returned; each mismatch is `#{id, expected, found}`. Only
    /// `"updated"` and `"unchanged"` changes are checked: nothing else was meant to be in place.
    /// A function data action is compared by its function timeout (unset is the platform's 15 s).
    ///
    /// Example: `let v = verify(changes); if !v.ok { print(v.mismatches); }`
    #[rhai_fn(name = "verify", return_raw)]
    pub fn verify_changes(ctx: NativeCallContext, changes: Array) -> R<Map> {
        verify_all(&ctx, &changes)
    }
}
