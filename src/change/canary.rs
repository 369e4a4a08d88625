//! The canary: the first write of a run goes alone, and is read back whole before any other.
//!
//! dactl writes an action's whole config to change one field. If the platform (or dactl) changed
//! anything else on the way (a template replaced by the platform's default, a field dropped), it
//! would do so to every action of a bulk run. So before the first write the action is read whole
//! (config with both templates' text, contract, function settings); after it, read again and
//! compared field by field, everything but the timeout and the version. Any difference stops the
//! run before its second write: the canary is put back exactly as it was read (the journal holds
//! the same text), the differing fields are named, and every other action is reported `not
//! attempted`. `--no-canary` turns the check off; a dry run writes nothing, so it has none.
//!
//! The canary judges only its own write: when the version read back is not exactly one past the
//! one read before, someone else wrote the action too, their change cannot be told from a
//! platform's, and putting the action back would undo their work; so that action proves nothing
//! and the next write becomes the canary. An action that moved on between the listing and the
//! canary's read is decided again first.

use std::fmt;
use std::sync::Arc;

use crate::change::apply::{Outcome, Planned};
use crate::change::function::DraftEdit;
use crate::change::journal::Intent;
use crate::change::journal::{Recorded, Target};
use crate::change::snapshot::{Difference, Snapshot, Written};
use crate::change::{ActionInfo, Engine, Kind, Status};
use crate::genesys::models::UpdateActionInput;

/// How the canary of a run went.
#[derive(Debug, Clone, PartialEq)]
pub struct Canary {
    pub id: String,
    pub name: Option<String>,
    /// What else the write changed (empty: the check passed).
    pub differences: Vec<Difference>,
    /// When the check failed: whether the action was put back as it was (`Err`: why not).
    pub put_back: Option<Result<(), String>>,
}

/// Where the canary of a run stands.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CanaryState {
    /// Off (`--no-canary`).
    Off,
    /// No write yet: the next one is the canary.
    Pending,
    /// Checked.
    Done(Canary),
}

impl Canary {
    pub fn passed(&self) -> bool {
        self.differences.is_empty()
    }

    /// Why the rest of the run was not written, when the check failed.
    pub fn stop_reason(&self) -> String {
        format!(
            "not attempted: the run's first write (the canary, `{}`) changed more than its \
             timeout, so nothing else was written",
            self.id
        )
    }

    /// The canary action's own reason: what changed, and whether it was put back.
    pub fn failure(&self) -> String {
        let changed: Vec<String> = self.differences.iter().map(Difference::describe).collect();
        let put_back = match &self.put_back {
            Some(Ok(())) => {
                "It was put back as it was read before the write (read back identical)".to_owned()
            }
            Some(Err(why)) => format!(
                "Putting it back failed: {why}. The journal holds the action as it was before the \
                 write, template text included"
            ),
            None => "It was not put back".to_owned(),
        };
        format!(
            "canary check failed: the write changed more than the timeout: {}. {put_back}",
            changed.join("; ")
        )
    }
}

impl Canary {
    /// `{"id", "name", "passed", "differences": [..], "put_back": true | "why not" | null}` for
    /// `--json` reports.
    pub fn to_json(&self) -> serde_json::Value {
        let put_back = match &self.put_back {
            None => serde_json::Value::Null,
            Some(Ok(())) => true.into(),
            Some(Err(why)) => why.clone().into(),
        };
        serde_json::json!({
            "id": self.id,
            "name": self.name,
            "passed": self.passed(),
            "differences": self.differences.iter().map(Difference::describe).collect::<Vec<_>>(),
            "put_back": put_back,
        })
    }
}

impl fmt::Display for Canary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self
            .name
            .as_deref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default();
        if self.passed() {
            write!(
                f,
                "canary: `{}`{name} was written first and read back whole: only its timeout and version changed.",
                self.id
            )
        } else {
            write!(
                f,
                "canary: `{}`{name}: {}; the run stopped before any other write.",
                self.id,
                self.failure()
            )
        }
    }
}

impl Engine {
    /// The planned changes to try as the canary, best first: standard actions whose timeout
    /// differs from the target (a write is sure), then function data actions. Empty when the
    /// canary is done or off, or nothing may be written.
    pub(crate) fn canary_candidates(&self, planned: &[Option<Planned>]) -> Vec<usize> {
        if !self.canary_pending() || self.dry_run() || self.cancelled() || self.halted().is_some() {
            return Vec::new();
        }
        let differs = |p: &Planned| {
            p.info
                .action
                .config
                .as_ref()
                .and_then(|c| c.timeout_seconds)
                != p.target.map(|t| i64::from(t.0))
        };
        let of_kind = |kind: Kind| {
            planned.iter().enumerate().filter_map(move |(i, p)| {
                p.as_ref()
                    .filter(|p| p.info.kind == kind && (kind != Kind::Standard || differs(p)))
                    .map(|_| i)
            })
        };
        of_kind(Kind::Standard)
            .chain(of_kind(Kind::Function))
            .collect()
    }

    pub(crate) fn canary_pending(&self) -> bool {
        matches!(*self.canary_state(), CanaryState::Pending)
    }

    /// The canary of this run, once checked.
    pub fn canary(&self) -> Option<Canary> {
        match &*self.canary_state() {
            CanaryState::Done(canary) => Some(canary.clone()),
            _ => None,
        }
    }

    fn canary_state(&self) -> std::sync::MutexGuard<'_, CanaryState> {
        self.canary.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes one planned change as the canary (see the module doc). The canary stays pending
    /// when this change needed no write or did not land (a conflict, a failure).
    pub(crate) async fn apply_canary(&self, planned: Planned) -> Outcome {
        let Planned { info, target } = planned;
        if let Some(halted) = self.halted_outcome(&info) {
            // The run stopped writing: no read for a write that will not come.
            return halted;
        }
        let id = info.action.id.clone();
        let function = info.kind == Kind::Function;
        let before = match self.snapshot(&id, function).await {
            Ok(snapshot) => snapshot,
            Err(e) => return Outcome::Done(self.failed(&info, e)),
        };
        let fresh = Arc::new(ActionInfo {
            action: (&before.action).into(),
            kind: info.kind,
            function_timeout: function_timeout(&before),
        });
        if fresh.action.version != info.action.version {
            // Decided on an older read: decide again on this one before anything is written.
            return Outcome::Redecide {
                info: fresh,
                reason: "the action changed after it was read".into(),
            };
        }
        let outcome = self
            .apply_one(Planned {
                info: fresh,
                target,
            })
            .await;
        let Outcome::Done(written) = &outcome else {
            return outcome;
        };
        if written.status != Status::Updated {
            return outcome;
        }
        let mut differences = Vec::new();
        let after = match self.snapshot(&id, function).await {
            Ok(after) => after,
            Err(e) => {
                // The write landed but cannot be checked: stop writing rather than guess.
                let reason = format!(
                    "not attempted: the run's first write (`{id}`) could not be read back to \
                     check it: {e}"
                );
                self.halt(reason);
                return outcome;
            }
        };
        if after.action.version != before.action.version.map(|v| v + 1) {
            // Someone else wrote the action too (between the read and the write, or since): the
            // differences cannot be told from theirs, and putting it back would undo their work.
            // This action proves nothing; the next write is the canary.
            return outcome;
        }
        differences.extend(before.differences(&after, written_by(function)));
        let now = if function {
            function_timeout(&after)
        } else {
            after.config_timeout()
        };
        if now != written.after {
            differences.push(Difference {
                path: if function {
                    "function.function.timeoutSeconds".into()
                } else {
                    "config.timeoutSeconds".into()
                },
                before: written.after.map(Into::into),
                after: now.map(Into::into),
            });
        }
        let mut canary = Canary {
            id: id.clone(),
            name: written.name.clone(),
            differences,
            put_back: None,
        };
        if canary.passed() {
            *self.canary_state() = CanaryState::Done(canary);
            return outcome;
        }
        self.halt(canary.stop_reason());
        canary.put_back = Some(self.put_back(&before, &after, function).await);
        let reason = canary.failure();
        *self.canary_state() = CanaryState::Done(canary);
        let mut failed = written.clone();
        failed.status = Status::Failed;
        failed.reason = Some(reason);
        Outcome::Done(failed)
    }

    /// Writes `before` back whole over `after` (journaled like any write), then reads it back and
    /// compares: `Ok` when the action is again as `before` (but its version).
    async fn put_back(
        &self,
        before: &Snapshot,
        after: &Snapshot,
        function: bool,
    ) -> Result<(), String> {
        let id = &before.action.id;
        let timeout = |t: Option<i64>| t.and_then(|t| u32::try_from(t).ok());
        let intent = if function {
            Intent {
                action: &after.action,
                intended_timeout: timeout(function_timeout(before)),
                target: Target::Function,
                function_before: function_timeout(after),
            }
        } else {
            Intent {
                action: &after.action,
                intended_timeout: timeout(before.config_timeout()),
                target: Target::Action,
                function_before: None,
            }
        };
        self.journal.intent(&intent).map_err(|e| e.to_string())?;
        let written = if function {
            self.publish_through_draft(id, DraftEdit::Whole(Box::new(before.clone())))
                .await
                .map_err(|e| match e {
                    crate::change::function::DraftError::Step(e, step) => format!("{step}: {e}"),
                    crate::change::function::DraftError::Foreign { version, why } => {
                        crate::change::function::not_own_reason(version, why)
                    }
                    crate::change::function::DraftError::Refused(why) => why,
                })
        } else {
            let body = UpdateActionInput {
                name: before.action.name.clone(),
                category: before.action.category.clone(),
                config: before.action.config.clone(),
                version: after.action.version.unwrap_or_default(),
            };
            self.client
                .patch_action(id, &body)
                .await
                .map(|a| a.version)
                .map_err(|e| e.to_string())
        };
        match &written {
            Ok(version) => self.record(id, Recorded::Updated, *version, None),
            Err(why) => self.record(id, Recorded::Failed, None, Some(why)),
        }
        written?;
        let again = self
            .snapshot(id, function)
            .await
            .map_err(|e| format!("it was written back but could not be read again: {e}"))?;
        let mut left: Vec<String> = before
            .differences(&again, written_by(function))
            .iter()
            .map(Difference::describe)
            .collect();
        let (was, is) = if function {
            (function_timeout(before), function_timeout(&again))
        } else {
            (before.config_timeout(), again.config_timeout())
        };
        if was != is {
            left.push(format!("the timeout is {is:?}, was {was:?}"));
        }
        if left.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "read back after the put-back, it still differs: {}",
                left.join("; ")
            ))
        }
    }
}

fn function_timeout(snapshot: &Snapshot) -> Option<i64> {
    snapshot.function_timeout()
}

/// The timeout a write of dactl's changes, by the action's kind.
fn written_by(function: bool) -> Written {
    match function {
        true => Written::FunctionTimeout,
        false => Written::ActionTimeout,
    }
}
