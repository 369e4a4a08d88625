//! The timeout-change domain: validate a timeout, classify actions, plan, apply safely (with the
//! journal written before every write), and verify. Async, on top of `genesys::Client`; knows
//! nothing of Rhai.
//!
//! - `timeout`: what a user may write as a timeout, checked once.
//! - `kind`: which actions can take a timeout, decided from listings, not a request per action.
//! - `resolve`: the actions a list of ids names (one listing, batched by the client), and the
//!   changes for ids that name none or actions left alone.
//! - `engine`: the `Engine` (client, classifier, journal, dry-run and cancel switches) and reads.
//! - `apply`: the safe read-modify-write of one action and of many at once, and when a run stops
//!   writing (an error that would repeat, a canary that failed).
//! - `canary`: the first write of a run, read back whole and compared before any other write.
//! - `function`: function data actions, changed through a draft that dactl itself created.
//! - `verify`: reading changes back in batches.
//! - `journal`: the append-only record written (and flushed) before every write.
//! - `undo`: reading a journal back and putting the timeouts back.

mod apply;
pub mod canary;
mod engine;
mod function;
mod kind;
pub mod plan;
mod resolve;
mod snapshot;
pub mod stats;
mod timeout;
pub mod undo;
pub mod verify;

pub mod journal;

pub use apply::{DecideShared, Outcome, Planned, refusal, run_rounds};
pub use canary::Canary;
pub use engine::{Engine, EngineOptions};
pub use journal::{Journal, JournalError};
pub use kind::Classifier;
pub use resolve::{Filter, Resolved, split_unset, unset_reason};
pub use snapshot::{Difference, Snapshot};
pub use timeout::{
    FUNCTION_DEFAULT_SECONDS, MAX_FUNCTION_SECONDS, MAX_SECONDS, Timeout, TimeoutError,
};

use crate::genesys::compact::CompactAction;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Standard,
    Static,
    CustomAuth,
    Function,
}

impl Kind {
    /// `"standard"`, `"static"`, `"custom_auth"`, `"function"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::Standard => "standard",
            Kind::Static => "static",
            Kind::CustomAuth => "custom_auth",
            Kind::Function => "function",
        }
    }

    /// What an unset timeout of this kind means, in seconds: a function data action's changes are
    /// to its function settings' timeout, whose default is 15 s; every other action's
    /// `timeoutSeconds` runs at 60 s when unset (Genesys' announcement, see `unset_reason`).
    pub fn unset_seconds(self) -> i64 {
        match self {
            Kind::Function => FUNCTION_DEFAULT_SECONDS,
            _ => i64::from(stats::UNSET_TIMEOUT_SECONDS),
        }
    }
}

/// An action with its kind resolved. The action is held compact (see `genesys::compact`): a run
/// holds every action it listed, and scripts share these same values (`Arc<ActionInfo>`).
#[derive(Debug, Clone, PartialEq)]
pub struct ActionInfo {
    pub action: CompactAction,
    pub kind: Kind,
    /// For function data actions, the function settings' own timeout, when it was read.
    pub function_timeout: Option<i64>,
}

impl ActionInfo {
    /// A standard action with no `timeoutSeconds`. It runs with the platform's default, 60 s, the
    /// maximum (Genesys' announcement of the feature): never "short", so a raise by filter leaves
    /// it alone unless asked. (A function data action's unset function timeout is the documented
    /// 15 s; other kinds take none.)
    pub fn timeout_unset(&self) -> bool {
        self.kind == Kind::Standard
            && self
                .action
                .config
                .as_ref()
                .and_then(|c| c.timeout_seconds)
                .is_none()
    }
}

/// How a change ended. Ordered as declared, which is the order reports list them in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    Updated,
    Unchanged,
    Planned,
    Skipped,
    Failed,
    /// Not written because the run stopped writing first: an error that would repeat for every
    /// action (a missing permission, credentials refused), or a first write that changed more
    /// than its timeout.
    NotAttempted,
}

impl Status {
    /// Every status, in the order reports list them.
    pub const ALL: [Status; 6] = [
        Status::Updated,
        Status::Unchanged,
        Status::Planned,
        Status::Skipped,
        Status::Failed,
        Status::NotAttempted,
    ];

    /// `"updated"`, `"unchanged"`, `"planned"`, `"skipped"`, `"failed"`, `"not_attempted"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Updated => "updated",
            Status::Unchanged => "unchanged",
            Status::Planned => "planned",
            Status::Skipped => "skipped",
            Status::Failed => "failed",
            Status::NotAttempted => "not_attempted",
        }
    }

    /// Whether a change with this status makes the run fail (exit 1).
    pub fn is_failure(&self) -> bool {
        matches!(self, Status::Failed | Status::NotAttempted)
    }
}

/// The outcome of one timeout change.
///
/// `before` is the timeout read before the change (`None`: unset). `after` is the timeout the
/// action has (or, when `Planned`, would have) after the change; `None` when nothing was set
/// (`Skipped`, `Failed`). For function data actions both are the function settings' timeout.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub id: String,
    pub name: Option<String>,
    /// The action's category, when it was read (for reports by category).
    pub category: Option<String>,
    pub kind: Kind,
    pub before: Option<i64>,
    pub after: Option<i64>,
    pub status: Status,
    pub reason: Option<String>,
}

impl Change {
    /// The change as JSON: `id, name, category, kind, before, after, status, reason`. The one
    /// shape shared by `--json` reports and the maps scripts get.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "name": self.name,
            "category": self.category,
            "kind": self.kind.as_str(),
            "before": self.before,
            "after": self.after,
            "status": self.status.as_str(),
            "reason": self.reason,
        })
    }
}

/// The result of reading changes back.
#[derive(Debug, Clone, PartialEq)]
pub struct Verification {
    pub ok: bool,
    pub checked: usize,
    /// (action id, expected, found)
    pub mismatches: Vec<(String, Option<i64>, Option<i64>)>,
}
