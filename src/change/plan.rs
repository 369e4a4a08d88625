//! Saved plans: what a dry run would change, written to a file (`--plan-out`) and applied later
//! (`dactl apply FILE`) exactly as planned.
//!
//! A plan names each action with its version when planned, its timeout before and after. When
//! it is applied, an action still at that version gets the planned timeout; one whose version
//! moved on is re-read and changed only while its timeout is still the planned `before` (another
//! editor's changes to other fields are kept by the safe read-modify-write); otherwise it is
//! skipped, "changed since planned". A plan file that does not read as a plan (hand-edited, cut,
//! out-of-range timeouts, duplicate ids) is refused whole, before any request.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::change::{
    ActionInfo, Change, FUNCTION_DEFAULT_SECONDS, Kind, MAX_FUNCTION_SECONDS, Status, Timeout,
};

/// The `format` every plan file carries.
pub const PLAN_FORMAT: &str = "dactl-plan/1";

/// The reason of an action skipped when a plan is applied.
pub const CHANGED_SINCE_PLANNED: &str = "changed since planned";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub format: String,
    pub created: String,
    pub changes: Vec<PlannedChange>,
    #[serde(default)]
    pub skipped: Vec<SkippedChange>,
}

/// One change the plan makes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlannedChange {
    pub id: String,
    pub name: Option<String>,
    /// `"standard"` or `"function"`.
    pub kind: String,
    /// The action's version when planned.
    pub version: i64,
    /// Timeout before (`null`: unset).
    pub before: Option<i64>,
    pub after: i64,
}

/// One action the plan leaves alone, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkippedChange {
    pub id: String,
    pub name: Option<String>,
    pub kind: String,
    pub status: String,
    pub reason: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct PlanError(pub String);

impl Plan {
    /// The plan of a dry run's changes; `version_of` gives each action's version when planned.
    pub fn from_changes(changes: &[Change], version_of: impl Fn(&str) -> Option<i64>) -> Plan {
        let mut plan = Plan {
            format: PLAN_FORMAT.into(),
            created: crate::change::journal::now_rfc3339(),
            changes: Vec::new(),
            skipped: Vec::new(),
        };
        for change in changes {
            match (change.status, change.after, version_of(&change.id)) {
                (Status::Planned, Some(after), Some(version)) => plan.changes.push(PlannedChange {
                    id: change.id.clone(),
                    name: change.name.clone(),
                    kind: change.kind.as_str().into(),
                    version,
                    before: change.before,
                    after,
                }),
                (Status::Skipped | Status::Failed | Status::NotAttempted, ..) => {
                    plan.skipped.push(SkippedChange {
                        id: change.id.clone(),
                        name: change.name.clone(),
                        kind: change.kind.as_str().into(),
                        status: change.status.as_str().into(),
                        reason: change.reason.clone(),
                    })
                }
                _ => {}
            }
        }
        plan
    }

    pub fn write(&self, path: &Path) -> Result<(), PlanError> {
        let text = serde_json::to_string_pretty(self).expect("a plan serializes");
        std::fs::write(path, text + "\n").map_err(|e| {
            PlanError(format!(
                "Could not write the plan `{}`: {e}. Pass another `--plan-out FILE`.",
                path.display()
            ))
        })
    }

    /// Reads and checks a plan file.
    pub fn read(path: &Path) -> Result<Plan, PlanError> {
        let shown = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| PlanError(format!("Could not read the plan `{shown}`: {e}.")))?;
        let mut reader = serde_json::Deserializer::from_str(&text);
        let plan: Plan = serde_path_to_error::deserialize(&mut reader).map_err(|e| {
            let at = e.path().to_string();
            PlanError(format!(
                "`{shown}` is not a dactl plan: at `{at}`: {}. Make a new one with `--dry-run --plan-out FILE`; nothing was changed.",
                e.inner()
            ))
        })?;
        plan.check()
            .map_err(|why| PlanError(format!("The plan `{shown}` is not valid: {why}. Make a new one with `--dry-run --plan-out FILE`; nothing was changed.")))?;
        Ok(plan)
    }

    fn check(&self) -> Result<(), String> {
        if self.format != PLAN_FORMAT {
            return Err(format!(
                "its format is `{}`, this dactl reads `{PLAN_FORMAT}`",
                self.format
            ));
        }
        let mut seen = HashSet::new();
        for (n, change) in self.changes.iter().enumerate() {
            let at = format!("changes[{n}] (`{}`)", change.id);
            if change.id.trim().is_empty() {
                return Err(format!("changes[{n}] has an empty `id`"));
            }
            if !seen.insert(change.id.as_str()) {
                return Err(format!("{at} names the action a second time"));
            }
            let timeout = Timeout::from_seconds(change.after)
                .map_err(|e| format!("{at} has `after` {}: {e}", change.after))?;
            match change.kind.as_str() {
                "standard" => {}
                "function" if timeout.0 <= MAX_FUNCTION_SECONDS => {}
                "function" => {
                    return Err(format!(
                        "{at} is a function data action, whose timeout is at most {MAX_FUNCTION_SECONDS} s, but `after` is {}",
                        change.after
                    ));
                }
                other => {
                    return Err(format!(
                        "{at} has kind `{other}`; only `standard` and `function` actions can be changed"
                    ));
                }
            }
            if change.version < 1 {
                return Err(format!("{at} has version {}", change.version));
            }
        }
        Ok(())
    }

    /// The planned changes by action id.
    pub fn by_id(&self) -> HashMap<&str, &PlannedChange> {
        self.changes.iter().map(|c| (c.id.as_str(), c)).collect()
    }
}

impl PlannedChange {
    pub fn kind(&self) -> Kind {
        if self.kind == "function" {
            Kind::Function
        } else {
            Kind::Standard
        }
    }

    /// Checked when the plan was read.
    pub fn target(&self) -> Timeout {
        Timeout::from_seconds(self.after).expect("checked by Plan::read")
    }

    /// Whether the plan still holds for the action as it is now (`function_now`: a function
    /// data action's function timeout, read): at the planned version; or moved on while its
    /// timeout is still the planned `before` (another editor changed something else), or already
    /// the planned `after`.
    pub fn still_applies(&self, now: &ActionInfo, function_now: Option<i64>) -> bool {
        if now.action.version == Some(self.version) {
            return true;
        }
        let (timeout, before) = match now.kind {
            Kind::Function => (
                function_now.or(Some(FUNCTION_DEFAULT_SECONDS)),
                self.before.or(Some(FUNCTION_DEFAULT_SECONDS)),
            ),
            _ => (
                now.action.config.as_ref().and_then(|c| c.timeout_seconds),
                self.before,
            ),
        };
        timeout == before || timeout == Some(self.after)
    }

    /// The change of a planned action that no longer exists.
    pub fn gone(&self) -> Change {
        Change {
            id: self.id.clone(),
            name: self.name.clone(),
            category: None,
            kind: self.kind(),
            before: self.before,
            after: None,
            status: Status::Failed,
            reason: Some("the action no longer exists".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(id: &str, status: Status) -> Change {
        Change {
            id: id.into(),
            name: Some(format!("n {id}")),
            category: None,
            kind: Kind::Standard,
            before: None,
            after: (status == Status::Planned).then_some(30),
            status,
            reason: (status == Status::Skipped).then(|| "built-in".to_owned()),
        }
    }

    fn temp(text: &str) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!(
            "dactl-plan-{}-{}.json",
            std::process::id(),
            fastrand::u32(..)
        ));
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn a_plan_round_trips_and_hand_edits_are_refused() {
        let changes = [
            change("a", Status::Planned),
            change("b", Status::Skipped),
            change("c", Status::Unchanged),
        ];
        let plan = Plan::from_changes(&changes, |_| Some(3));
        assert_eq!(plan.changes.len(), 1);
        assert_eq!(plan.skipped.len(), 1);
        let path = temp("");
        plan.write(&path).unwrap();
        assert_eq!(Plan::read(&path).unwrap(), plan);

        let text = std::fs::read_to_string(&path).unwrap();
        for (edit, says) in [
            (
                text.replace("\"after\": 30", "\"after\": 5000"),
                "`after` 5000",
            ),
            (
                text.replace("\"after\": 30", "\"after\": \"x\""),
                "changes[0].after",
            ),
            (text.replace(PLAN_FORMAT, "other/1"), "format"),
            (text.replace("\"version\": 3", "\"versoin\": 3"), "versoin"),
            (text[..text.len() / 2].to_owned(), "not a dactl plan"),
        ] {
            std::fs::write(&path, &edit).unwrap();
            let err = Plan::read(&path).unwrap_err();
            assert!(err.0.contains(says), "{says}: {err}");
        }
        std::fs::remove_file(path).unwrap();
    }
}
