//! The safe read-modify-write of timeouts, for one action and for many at once, and the two
//! reasons a run stops writing.
//!
//! For a standard action (see `../shared/genesys-api.md`, "Changing a timeout safely"):
//! 1. use the config read with `includeConfig=true` (the listing's; read it only if missing);
//! 2. already at the target: `Unchanged`, no request; dry run: `Planned`, no request;
//! 3. fill in template text the config names only by URI (`/templates/{file}`);
//! 4. journal the intent (the action as read, template text included, on disk before the
//!    request), then PATCH `{name, category, version, config}` with the whole config and only
//!    `timeoutSeconds` changed;
//! 5. on a version conflict the platform refused the write, so nothing of dactl's landed: the
//!    action is re-read and goes back to the caller to be decided again (bounded, see
//!    `run_rounds`). If it is already at the target then, someone else put it there: the change
//!    is `Unchanged` and says so, and the journal records no update of dactl's (undo never
//!    reverts it);
//! 6. on an error that leaves the outcome unknown (dropped connection, timeout, a gateway's
//!    5xx), the action is read back whole (template text included): it is dactl's write only if
//!    it is exactly what was sent (name, category, the whole config) at the next version;
//!    otherwise it goes back to be decided again, as after a conflict.
//!
//! Function data actions go through a draft: see `function`.
//!
//! A run stops writing (every later change `NotAttempted`, with the reason) when:
//! - an error would repeat for every action: a 403 (a missing permission) or a 401 that survived
//!   a fresh token, on a write or on the reads a write needs;
//! - the canary, the run's first write, changed more than its timeout (see `canary`).
//!
//! Deciding is the caller's: `run_rounds` calls a synchronous `decide` (a Rhai closure must not
//! run inside async tasks), hands the decided actions to an async runner (`Engine::apply`), and
//! decides again on the fresh actions that came back from conflicts, a bounded number of rounds.

use std::sync::Arc;

use futures::StreamExt;

use crate::change::journal::{Intent, Recorded, Target};
use crate::change::snapshot::{Snapshot, Written};
use crate::change::{ActionInfo, Change, Engine, Kind, Status, Timeout};
use crate::genesys::Error;
use crate::genesys::models::{Action, UpdateActionInput};

/// Decides a new timeout for a shared action (`None`: leave it; `Err`: the reason it failed).
pub type DecideShared<'a> = dyn FnMut(&Arc<ActionInfo>) -> Result<Option<Timeout>, String> + 'a;

/// A decided change, ready to apply. The action is shared with whoever holds it (a script's
/// listing), not copied.
#[derive(Debug, Clone)]
pub struct Planned {
    pub info: Arc<ActionInfo>,
    /// The timeout to write; `None` removes it (undo of a timeout that was unset).
    pub target: Option<Timeout>,
}

/// A standard action's change, read and ready to write: the config as read, template text
/// included.
pub(crate) struct Ready {
    info: Arc<ActionInfo>,
    target: Option<Timeout>,
    before: Option<i64>,
    after: Option<i64>,
    version: i64,
    config: crate::genesys::models::ActionConfig,
}

/// A change after its reads that still needs its write: ready to write, or (a function data
/// action) with its reads still to come, after the canary.
enum Prepared {
    Standard(Box<Ready>),
    Later(Planned),
}

impl Prepared {
    /// The change as decided, to apply the old way (its reads are done again then).
    fn planned(self) -> Planned {
        match self {
            Prepared::Standard(ready) => Planned {
                info: ready.info,
                target: ready.target,
            },
            Prepared::Later(planned) => planned,
        }
    }
}

/// How applying one planned change ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    Done(Change),
    /// The action changed under us (version conflict, or a write whose outcome is unknown and did
    /// not land): here it is as re-read, to be decided again.
    Redecide {
        info: Arc<ActionInfo>,
        reason: String,
    },
}

pub(crate) fn change(
    info: &ActionInfo,
    before: Option<i64>,
    after: Option<i64>,
    status: Status,
    reason: Option<String>,
) -> Change {
    Change {
        id: info.action.id.clone(),
        name: info.action.name.clone(),
        category: info.action.category.clone(),
        kind: info.kind,
        before,
        after,
        status,
        reason,
    }
}

fn before_of(info: &ActionInfo) -> Option<i64> {
    match info.kind {
        Kind::Function => info.function_timeout,
        _ => info.action.config.as_ref().and_then(|c| c.timeout_seconds),
    }
}

/// A change that did not happen, with its reason.
pub(crate) fn not_done(info: &ActionInfo, status: Status, reason: impl Into<String>) -> Change {
    change(info, before_of(info), None, status, Some(reason.into()))
}

/// The reason a kind cannot take a timeout, if it cannot.
pub fn refusal(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::Static => Some("built-in (static) action: the platform does not allow changing it"),
        Kind::CustomAuth => Some(
            "custom authentication action: `timeoutSeconds` is not valid on authentication actions",
        ),
        Kind::Standard | Kind::Function => None,
    }
}

/// An error that will be the same for every action of the run: a missing permission,
/// credentials refused even after a fresh token (the client re-mints once on a 401) or by the
/// token endpoint (`invalid_client`, whatever its status), or a region
/// that cannot be reached at all (connection refused or a name that does not resolve, after the
/// client's retries).
fn repeats_for_every_action(error: &Error) -> bool {
    error.is_credentials_refused()
        || matches!(error, Error::Transport { connect: true, .. })
        || (matches!(error.status(), Some(401 | 403))
            && !matches!(error, Error::RetryAfterTooLong { .. }))
}

/// A write that ended this way may or may not have happened: the connection dropped or timed
/// out after it was made, or a gateway answered for the platform (500, 502, 503, 504) after the
/// client's retries. (A connection never made sent nothing.)
pub(crate) fn outcome_unknown(error: &Error) -> bool {
    matches!(error, Error::Transport { connect: false, .. })
        || matches!(error.status(), Some(500 | 502 | 503 | 504))
}

/// Whether `fresh` (read whole, template text included) is exactly what was sent, one version
/// on: then the write whose answer was lost landed. Anything else, even the same timeout, may be
/// someone else's write, and a write dactl cannot prove was its own is not its own.
fn landed(fresh: &Snapshot, sent: &UpdateActionInput) -> bool {
    let mut as_sent = fresh.action.clone();
    as_sent.name = sent.name.clone();
    as_sent.category = sent.category.clone();
    as_sent.config = sent.config.clone();
    let as_sent = Snapshot {
        action: as_sent,
        function: None,
    };
    fresh.action.version == Some(sent.version + 1)
        && fresh.config_timeout() == as_sent.config_timeout()
        && as_sent
            .differences(fresh, Written::ActionTimeout)
            .is_empty()
}

impl Engine {
    /// Why the run stopped writing, once it has.
    pub fn halted(&self) -> Option<String> {
        self.halt.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Stops every later write of the run (the first reason given stays).
    pub(crate) fn halt(&self, reason: String) {
        let mut halt = self.halt.lock().unwrap_or_else(|e| e.into_inner());
        if halt.is_none() {
            *halt = Some(reason);
        }
    }

    /// `NotAttempted`, once the run stopped writing.
    pub(crate) fn halted_outcome(&self, info: &ActionInfo) -> Option<Outcome> {
        self.halted()
            .map(|reason| Outcome::Done(not_done(info, Status::NotAttempted, reason)))
    }

    /// Stops the run when `error` would repeat for every action.
    pub(crate) fn note_error(&self, error: &Error) {
        if repeats_for_every_action(error) {
            let what = match error {
                Error::Api {
                    status,
                    code,
                    message,
                    ..
                } => {
                    let missing = crate::genesys::error::permissions_in(message);
                    if missing.is_empty() {
                        format!("Genesys Cloud answered {status} `{code}`")
                    } else {
                        format!(
                            "Genesys Cloud answered {status} `{code}`: the client's role lacks `{}`",
                            missing.join("` or `")
                        )
                    }
                }
                Error::Auth { .. } => crate::genesys::error::login_refused(error),
                _ => "Genesys Cloud could not be reached".into(),
            };
            self.halt(format!(
                "not attempted: the run stopped at an error that would repeat for every action \
                 ({what}; the failed action's reason says why and how to fix it)"
            ));
        }
    }

    /// A failed change for `error` (and the run stopped, when the error would repeat).
    pub(crate) fn failed(&self, info: &ActionInfo, error: Error) -> Change {
        self.note_error(&error);
        not_done(info, Status::Failed, error.to_string())
    }

    /// The outcomes that need no write: already there (`same`), planned (dry run), interrupted
    /// before the write started, or the run stopped writing. `None`: go on and write.
    pub(crate) fn settled_without_a_write(
        &self,
        info: &ActionInfo,
        before: Option<i64>,
        after: Option<i64>,
        same: bool,
    ) -> Option<Outcome> {
        if same {
            return Some(Outcome::Done(change(
                info,
                before,
                after,
                Status::Unchanged,
                None,
            )));
        }
        if self.dry_run() {
            return Some(Outcome::Done(change(
                info,
                before,
                after,
                Status::Planned,
                None,
            )));
        }
        if self.cancelled() {
            return Some(Outcome::Done(not_done(
                info,
                Status::Skipped,
                "interrupted before this write started",
            )));
        }
        self.halted_outcome(info)
    }

    /// Applies decided changes (see `apply_observed`); results in input order.
    pub async fn apply(&self, planned: Vec<Planned>) -> Vec<Outcome> {
        self.apply_observed(planned, &|_| {}).await
    }

    /// Applies decided changes: the run's canary first and alone among writes (see `canary`),
    /// then the rest concurrently (at most `concurrency` at once); calls `observe` as each change
    /// ends (for a progress bar). Results in input order.
    ///
    /// While the canary is read, written and read back, the other changes' reads (their template
    /// text) go on beside it, a few at a time so the canary's own requests find a token free;
    /// none of them writes before the canary is checked. Should the canary prove nothing (it
    /// needed no write, or someone else wrote the action meanwhile), the changes read meanwhile
    /// go the way they always went: the next candidate alone, then the rest.
    pub async fn apply_observed(
        &self,
        planned: Vec<Planned>,
        observe: &(dyn Fn(&Outcome) + Sync),
    ) -> Vec<Outcome> {
        let mut slots: Vec<Option<Planned>> = planned.into_iter().map(Some).collect();
        let Some(&first) = self.canary_candidates(&slots).first() else {
            return self.apply_in_turn(slots, observe).await;
        };
        let mut results: Vec<Option<Outcome>> = vec![None; slots.len()];
        let canary = slots[first].take().expect("a candidate is planned");
        let (open, gate) = tokio::sync::watch::channel(false);
        let reading = tokio::sync::Semaphore::new(self.reads_beside_canary());
        let canary = async {
            let outcome = self.apply_canary(canary).await;
            observe(&outcome);
            // Opened however the canary ended: what each change does next is decided after.
            let _ = open.send(true);
            outcome
        };
        let rest = slots
            .into_iter()
            .enumerate()
            .filter_map(|(index, p)| p.map(|p| (index, p)));
        let others = futures::stream::iter(rest)
            .map(|(index, planned)| {
                let mut gate = gate.clone();
                let reading = &reading;
                async move {
                    let opened = |open: &bool| *open;
                    // While the canary is on its way, reads a few at a time; after it, freely.
                    let permit = if *gate.borrow() {
                        None
                    } else {
                        tokio::select! {
                            permit = reading.acquire() => permit.ok(),
                            _ = gate.wait_for(opened) => None,
                        }
                    };
                    let prepared = self.prepare(planned).await;
                    drop(permit);
                    let _ = gate.wait_for(opened).await;
                    let ready = match prepared {
                        Err(outcome) => {
                            observe(&outcome);
                            return (index, Ok(outcome));
                        }
                        Ok(ready) => ready,
                    };
                    if self.canary_pending()
                        && self.halted().is_none()
                        && !self.cancelled()
                        && !self.dry_run()
                    {
                        // No write before a canary is checked: this one goes the old way.
                        return (index, Err(ready.planned()));
                    }
                    let outcome = match ready {
                        Prepared::Standard(ready) => self.write_standard(*ready).await,
                        Prepared::Later(planned) => self.apply_one(planned).await,
                    };
                    observe(&outcome);
                    (index, Ok(outcome))
                }
            })
            .buffer_unordered(self.concurrency)
            .collect::<Vec<_>>();
        let (canary, others) = tokio::join!(canary, others);
        results[first] = Some(canary);
        let mut deferred: Vec<Option<Planned>> = Vec::new();
        let mut deferred_at = Vec::new();
        for (index, outcome) in others {
            match outcome {
                Ok(outcome) => results[index] = Some(outcome),
                Err(planned) => {
                    deferred_at.push(index);
                    deferred.push(Some(planned));
                }
            }
        }
        if !deferred.is_empty() {
            let outcomes = self.apply_in_turn(deferred, observe).await;
            for (index, outcome) in deferred_at.into_iter().zip(outcomes) {
                results[index] = Some(outcome);
            }
        }
        results
            .into_iter()
            .map(|r| r.expect("every planned change has an outcome"))
            .collect()
    }

    /// Changes read beside the canary at once: each reads its two templates together, and the
    /// canary's next request should find a token free, so half the pool less one (at least one).
    fn reads_beside_canary(&self) -> usize {
        (self.client.options().pool_size().saturating_sub(1) / 2).max(1)
    }

    /// The canary alone, trying candidates in turn until one is checked, then the rest
    /// concurrently: how every change went before reads went beside the canary, and how the
    /// changes go when the first candidate proved nothing.
    async fn apply_in_turn(
        &self,
        mut slots: Vec<Option<Planned>>,
        observe: &(dyn Fn(&Outcome) + Sync),
    ) -> Vec<Outcome> {
        let mut results: Vec<Option<Outcome>> = vec![None; slots.len()];
        for index in self.canary_candidates(&slots) {
            if !self.canary_pending() || self.halted().is_some() || self.cancelled() {
                break;
            }
            if let Some(planned) = slots[index].take() {
                let outcome = self.apply_canary(planned).await;
                observe(&outcome);
                results[index] = Some(outcome);
            }
        }
        let rest = slots
            .into_iter()
            .enumerate()
            .filter_map(|(index, p)| p.map(|p| (index, p)));
        let outcomes: Vec<(usize, Outcome)> = futures::stream::iter(rest)
            .map(|(index, p)| async move {
                let outcome = self.apply_one(p).await;
                observe(&outcome);
                (index, outcome)
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        for (index, outcome) in outcomes {
            results[index] = Some(outcome);
        }
        results
            .into_iter()
            .map(|r| r.expect("every planned change has an outcome"))
            .collect()
    }

    /// What a change reads before its write (a standard action's template text), and nothing
    /// else: no write of any kind. A function data action's draft reads are its own, after.
    /// `Err`: the change ended without a write.
    async fn prepare(&self, planned: Planned) -> Result<Prepared, Outcome> {
        if let Some(reason) = refusal(planned.info.kind) {
            return Err(Outcome::Done(not_done(
                &planned.info,
                Status::Skipped,
                reason,
            )));
        }
        match planned.info.kind {
            Kind::Function => Ok(Prepared::Later(planned)),
            _ => self
                .prepare_standard(planned.info, planned.target)
                .await
                .map(|ready| Prepared::Standard(Box::new(ready))),
        }
    }

    /// Applies one decided change, with the same safety whatever its target: journaled first,
    /// conflicts and unknown outcomes re-read. (Undo writes through this too.)
    pub async fn apply_one(&self, planned: Planned) -> Outcome {
        let Planned { info, target } = planned;
        if let Some(reason) = refusal(info.kind) {
            return Outcome::Done(not_done(&info, Status::Skipped, reason));
        }
        match info.kind {
            Kind::Function => self.apply_function(info, target).await,
            _ => self.apply_standard(info, target).await,
        }
    }

    /// Writes `target` (`None` removes `timeoutSeconds`).
    async fn apply_standard(&self, info: Arc<ActionInfo>, target: Option<Timeout>) -> Outcome {
        match self.prepare_standard(info, target).await {
            Ok(ready) => self.write_standard(ready).await,
            Err(outcome) => outcome,
        }
    }

    /// The reads before a standard action's write: its config if the listing had none, the
    /// template text it names by URI. `Err`: the change ended without a write.
    async fn prepare_standard(
        &self,
        mut info: Arc<ActionInfo>,
        target: Option<Timeout>,
    ) -> Result<Ready, Outcome> {
        let id = info.action.id.clone();
        if info.action.config.is_none() {
            if let Some(halted) = self.halted_outcome(&info) {
                return Err(halted);
            }
            // Never build a config from a read without it: that would drop the templates.
            match self.client.get_action(&id, true).await {
                Ok(action) => {
                    info = Arc::new(ActionInfo {
                        action: action.into(),
                        kind: info.kind,
                        function_timeout: info.function_timeout,
                    })
                }
                Err(e) => return Err(Outcome::Done(self.failed(&info, e))),
            }
        }
        let before = before_of(&info);
        let after = target.map(|t| i64::from(t.0));
        if let Some(settled) = self.settled_without_a_write(&info, before, after, before == after) {
            return Err(settled);
        }
        let Some(version) = info.action.version else {
            return Err(Outcome::Done(not_done(
                &info,
                Status::Failed,
                "the action was read without a version; nothing was written",
            )));
        };
        // The config whole (unpacked from the compact form) only while this action is written.
        let mut config = info
            .action
            .config
            .as_ref()
            .map(|c| c.to_config())
            .unwrap_or_default();
        if let Err(e) = self.fill_templates(&id, &mut config, false).await {
            self.note_error(&e);
            return Err(Outcome::Done(not_done(
                &info,
                Status::Failed,
                format!("could not read the action's template text, so nothing was written: {e}"),
            )));
        }
        Ok(Ready {
            info,
            target,
            before,
            after,
            version,
            config,
        })
    }

    /// The write of a prepared standard change: journaled first, conflicts and unknown outcomes
    /// read again. The run's switches are looked at again first: it may have stopped writing
    /// (or been interrupted) while the change was read.
    async fn write_standard(&self, ready: Ready) -> Outcome {
        let Ready {
            info,
            target,
            before,
            after,
            version,
            mut config,
        } = ready;
        let id = info.action.id.clone();
        if let Some(settled) = self.settled_without_a_write(&info, before, after, false) {
            return settled;
        }
        // The journal keeps the action as it was, template text included: enough to put it back.
        let mut as_read = info.action.to_action();
        as_read.config = Some(config.clone());
        config.timeout_seconds = after;
        let body = UpdateActionInput {
            name: info.action.name.clone(),
            category: info.action.category.clone(),
            config: Some(config),
            version,
        };
        let intent = Intent {
            action: &as_read,
            intended_timeout: target.map(|t| t.0),
            target: Target::Action,
            function_before: None,
        };
        if let Err(e) = self.journal.intent(&intent) {
            return Outcome::Done(not_done(&info, Status::Failed, e.to_string()));
        }
        match self.client.patch_action(&id, &body).await {
            Ok(updated) => {
                self.record(&id, Recorded::Updated, updated.version, None);
                Outcome::Done(change(&info, before, after, Status::Updated, None))
            }
            // Refused for a stale version: nothing was written; what the action shows now is
            // someone else's.
            Err(e) if e.is_version_conflict() => match self.client.get_action(&id, true).await {
                Ok(fresh) => {
                    self.record(&id, Recorded::Conflict, fresh.version, Some(&e.to_string()));
                    redecide(&info, fresh, &e)
                }
                Err(read) => {
                    let reason = format!(
                        "{e}; nothing was written, and reading the action again failed: {read}"
                    );
                    self.record(&id, Recorded::Conflict, None, Some(&reason));
                    Outcome::Done(self.failed(&info, read).with_reason(reason))
                }
            },
            Err(e) if outcome_unknown(&e) => match self.snapshot(&id, false).await {
                Ok(fresh) if landed(&fresh, &body) => {
                    self.record(&id, Recorded::Updated, fresh.action.version, None);
                    Outcome::Done(change(&info, before, after, Status::Updated, None))
                }
                Ok(fresh) => {
                    self.record(
                        &id,
                        Recorded::NotApplied,
                        fresh.action.version,
                        Some(&e.to_string()),
                    );
                    redecide(&info, fresh.action, &e)
                }
                Err(read) => {
                    let reason = format!(
                        "{e}; reading the action back also failed, so whether it changed is unknown: {read}"
                    );
                    self.record(&id, Recorded::Unknown, None, Some(&reason));
                    Outcome::Done(not_done(&info, Status::Failed, reason))
                }
            },
            Err(e) => {
                self.record(&id, Recorded::Failed, None, Some(&e.to_string()));
                Outcome::Done(self.failed(&info, e))
            }
        }
    }

    /// Writes an outcome line. The write already happened, so a failure here cannot stop it;
    /// it is logged, and readers of the journal treat an intent without an outcome as unknown.
    pub(crate) fn record(
        &self,
        id: &str,
        status: Recorded,
        new_version: Option<i64>,
        error: Option<&str>,
    ) {
        if let Err(e) = self.journal.outcome(id, status, new_version, error) {
            tracing::warn!("{e}");
        }
    }
}

/// Why an action found at its target when read again (after a refused write, or a read that
/// showed it had moved on) is `unchanged`.
pub(crate) fn someone_elses(now: Option<i64>) -> String {
    let now = now.map_or_else(|| "unset".to_owned(), |s| format!("{s} s"));
    format!(
        "already {now} when read again: someone else changed it after dactl first read it, so it \
         is not recorded as dactl's change (undo leaves it)"
    )
}

/// The action as read again after a write that did not land, to be decided again.
fn redecide(info: &ActionInfo, fresh: Action, error: &Error) -> Outcome {
    Outcome::Redecide {
        info: Arc::new(ActionInfo {
            action: fresh.into(),
            kind: info.kind,
            function_timeout: None,
        }),
        reason: error.to_string(),
    }
}

impl Change {
    fn with_reason(mut self, reason: String) -> Change {
        self.reason = Some(reason);
        self
    }
}

/// Decides and applies in rounds: `decide` (synchronous) for every target, `run` (the async
/// apply, blocked on by the caller) for the decided ones, then `decide` again on the actions that
/// came back fresh from a conflict; at most `max_rounds` rounds. Results follow `targets`' order.
pub fn run_rounds(
    targets: Vec<Arc<ActionInfo>>,
    decide: &mut DecideShared<'_>,
    max_rounds: u32,
    mut run: impl FnMut(Vec<Planned>) -> Vec<Outcome>,
) -> Vec<Change> {
    let mut results: Vec<Option<Change>> = vec![None; targets.len()];
    let mut pending: Vec<(usize, Arc<ActionInfo>)> = targets.into_iter().enumerate().collect();
    let mut last_reason: Vec<Option<String>> = vec![None; results.len()];
    for _round in 0..max_rounds.max(1) {
        if pending.is_empty() {
            break;
        }
        let mut planned = Vec::new();
        let mut indexes = Vec::new();
        for (index, info) in pending.drain(..) {
            if let Some(reason) = refusal(info.kind) {
                results[index] = Some(not_done(&info, Status::Skipped, reason));
                continue;
            }
            match decide(&info) {
                Err(reason) => results[index] = Some(not_done(&info, Status::Failed, reason)),
                Ok(None) => {
                    results[index] = Some(not_done(
                        &info,
                        Status::Skipped,
                        "left as is: no new timeout was chosen",
                    ))
                }
                Ok(Some(target)) => {
                    indexes.push(index);
                    planned.push(Planned {
                        info,
                        target: Some(target),
                    });
                }
            }
        }
        if planned.is_empty() {
            break;
        }
        for (index, outcome) in indexes.into_iter().zip(run(planned)) {
            match outcome {
                Outcome::Done(mut change) => {
                    if change.status == Status::Unchanged
                        && change.reason.is_none()
                        && last_reason[index].is_some()
                    {
                        change.reason = Some(someone_elses(change.after));
                    }
                    results[index] = Some(change)
                }
                Outcome::Redecide { info, reason } => {
                    last_reason[index] = Some(reason);
                    pending.push((index, info));
                }
            }
        }
    }
    for (index, info) in pending {
        let last = last_reason[index].take().unwrap_or_default();
        results[index] = Some(not_done(
            &info,
            Status::Failed,
            format!(
                "the action kept changing while dactl updated it ({max_rounds} attempts); run again. Last error: {last}"
            ),
        ));
    }
    results
        .into_iter()
        .map(|c| c.expect("every target gets a result"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: &str, kind: Kind, timeout: Option<i64>) -> Arc<ActionInfo> {
        let action: Action = serde_json::from_value(serde_json::json!({
            "id": id, "name": format!("n-{id}"), "version": 1, "config": {"timeoutSeconds": timeout}
        }))
        .unwrap();
        Arc::new(ActionInfo {
            action: action.into(),
            kind,
            function_timeout: None,
        })
    }

    #[test]
    fn rounds_decide_again_after_a_conflict_and_are_bounded() {
        let targets = vec![
            info("a", Kind::Standard, Some(5)),
            info("static_b", Kind::Static, Some(5)),
            info("c", Kind::Standard, Some(5)),
            info("d", Kind::Standard, Some(5)),
            info("e", Kind::Standard, Some(5)),
        ];
        let mut calls: Vec<String> = Vec::new();
        let mut decide = |i: &Arc<ActionInfo>| -> Result<Option<Timeout>, String> {
            calls.push(i.action.id.clone());
            match i.action.id.as_str() {
                "d" => Ok(None),
                "e" => Err("no".into()),
                _ => Ok(Some(Timeout(30))),
            }
        };
        let mut rounds = 0;
        let changes = run_rounds(targets, &mut decide, 3, |planned| {
            rounds += 1;
            planned
                .into_iter()
                .map(|p| match p.info.action.id.as_str() {
                    // `a` conflicts once, then lands; `c` conflicts every time.
                    "a" if rounds == 1 => Outcome::Redecide {
                        info: p.info,
                        reason: "409".into(),
                    },
                    "c" => Outcome::Redecide {
                        info: p.info,
                        reason: "409 again".into(),
                    },
                    _ => Outcome::Done(change(&p.info, Some(5), Some(30), Status::Updated, None)),
                })
                .collect()
        });
        assert_eq!(rounds, 3);
        assert_eq!(calls, ["a", "c", "d", "e", "a", "c", "c"]);
        let statuses: Vec<_> = changes.iter().map(|c| (c.id.as_str(), c.status)).collect();
        assert_eq!(
            statuses,
            [
                ("a", Status::Updated),
                ("static_b", Status::Skipped),
                ("c", Status::Failed),
                ("d", Status::Skipped),
                ("e", Status::Failed)
            ]
        );
        assert!(changes[2].reason.as_deref().unwrap().contains("409 again"));
        assert!(changes[1].reason.as_deref().unwrap().contains("static"));
        assert_eq!(changes[4].reason.as_deref(), Some("no"));
    }
}
