//! Turning what the user named into actions: ids (one listing, split by the client into
//! concurrent `ids=` requests of the API's limit) or a filter. Every caller (the CLI's
//! `actions set-timeout`, scripts, `apply`, `undo`) resolves ids here, so "no such action" reads
//! the same everywhere.

use std::collections::HashMap;

use crate::change::stats::UNSET_TIMEOUT_SECONDS;
use crate::change::{ActionInfo, Change, Engine, Kind, Status, Timeout};
use crate::genesys::{ActionQuery, Error};

/// The actions a list of ids named, in the order named (each once), and the ids that name none.
#[derive(Debug, Default)]
pub struct Resolved {
    pub found: Vec<ActionInfo>,
    pub missing: Vec<String>,
}

impl Resolved {
    /// A failed change for each id that names no action.
    pub fn missing_changes(&self) -> Vec<Change> {
        self.missing
            .iter()
            .map(|id| Change::no_such_action(id))
            .collect()
    }
}

impl Change {
    /// An id that names no action: failed, saying so.
    pub fn no_such_action(id: &str) -> Change {
        Change {
            id: id.to_owned(),
            name: None,
            category: None,
            kind: Kind::Standard,
            before: None,
            after: None,
            status: Status::Failed,
            reason: Some(format!("There is no action with id `{id}`.")),
        }
    }

    /// An action left alone, with why: no request was made for it.
    pub fn skipped(info: &ActionInfo, reason: impl Into<String>) -> Change {
        Change {
            id: info.action.id.clone(),
            name: info.action.name.clone(),
            category: info.action.category.clone(),
            kind: info.kind,
            before: info.action.config.as_ref().and_then(|c| c.timeout_seconds),
            after: None,
            status: Status::Skipped,
            reason: Some(reason.into()),
        }
    }
}

/// The actions `actions set-timeout --category C --name N` means: an exact category, a name
/// containing a text (case-insensitive, as the platform matches it).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub category: Option<String>,
    pub name: Option<String>,
}

impl Filter {
    /// e.g. "--category `Billing` with --name `Order`", for messages.
    pub fn describe(&self) -> String {
        [("--category", &self.category), ("--name", &self.name)]
            .iter()
            .filter_map(|(flag, value)| value.as_ref().map(|v| format!("{flag} `{v}`")))
            .collect::<Vec<_>>()
            .join(" with ")
    }

    /// The listing query of this filter, with config.
    pub fn query(&self) -> ActionQuery {
        ActionQuery {
            category: self.category.clone(),
            name: self.name.clone(),
            include_config: true,
            ..ActionQuery::default()
        }
    }

    /// The error of a filter that matched nothing: the command was meant to change something,
    /// and did not.
    pub fn matched_nothing(&self) -> String {
        format!(
            "No action matches {}, so nothing was changed. `dactl actions list` shows the \
             categories and names (`--category` is an exact match, `--name` a partial one).",
            self.describe()
        )
    }
}

/// Splits `targets` into those to change and the standard actions with no timeout set, which
/// are left alone unless `include_unset` (see `unset_reason`).
pub fn split_unset(
    targets: Vec<ActionInfo>,
    include_unset: bool,
) -> (Vec<ActionInfo>, Vec<ActionInfo>) {
    let (unset, targets) = targets
        .into_iter()
        .partition(|info| !include_unset && info.timeout_unset());
    (targets, unset)
}

/// Where the platform says what an unset timeout means.
pub const ANNOUNCEMENT: &str = "Genesys' announcement of the timeout feature";

/// Why an action with no timeout set was left alone by a change to `timeout`.
pub fn unset_reason(timeout: Timeout) -> String {
    format!(
        "no timeout set, which means {UNSET_TIMEOUT_SECONDS} s, the maximum ({ANNOUNCEMENT}): \
         left alone so that a change meant to raise timeouts does not lower it; add \
         `--include-unset` to set it to {} s too",
        timeout.seconds(),
    )
}

impl Engine {
    /// The actions `ids` name, with config; custom authentication actions included when
    /// `include_auth` (they are then classified as such). A repeated id counts once; a blank one
    /// names no action (and is not sent: the client drops it).
    pub async fn resolve(&self, ids: &[String], include_auth: bool) -> Result<Resolved, Error> {
        let mut named: Vec<&String> = Vec::with_capacity(ids.len());
        let mut seen = std::collections::HashSet::new();
        for id in ids {
            if seen.insert(id.as_str()) {
                named.push(id);
            }
        }
        if named.iter().all(|id| id.trim().is_empty()) {
            return Ok(Resolved {
                found: Vec::new(),
                missing: named.into_iter().cloned().collect(),
            });
        }
        let query = ActionQuery {
            ids: Some(named.iter().map(|id| (*id).clone()).collect()),
            include_auth_actions: include_auth,
            include_config: true,
            ..ActionQuery::default()
        };
        let mut by_id: HashMap<String, ActionInfo> = self
            .list_actions(&query)
            .await?
            .into_iter()
            .map(|info| (info.action.id.clone(), info))
            .collect();
        let mut resolved = Resolved::default();
        for id in named {
            match by_id.remove(id) {
                Some(info) => resolved.found.push(info),
                None => resolved.missing.push(id.clone()),
            }
        }
        Ok(resolved)
    }
}
