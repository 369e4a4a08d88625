//! Undo: reading a run's journal back and putting each changed action's timeout back.
//!
//! For every action the journal names, the write to undo is the last one that may have landed
//! (outcome `updated`, `unknown`, or no outcome at all: the process died between the intent and
//! the answer). The timeout to put back is the one the action had before the first such write in
//! the file, and the timeout to expect now is what the last one set. Then, on the action as it is
//! now:
//! - at the expected timeout: put the old one back (removing the field when it was unset);
//! - already at the old one (a write that never landed): `unchanged`, nothing written;
//! - anything else: someone changed it since; skipped with reason `changed since` unless forced.
//!
//! A run stopped in the middle of a function data action's draft cycle can leave the draft it
//! created. Before anything else, undo deletes such a draft when it is still dactl's own (the
//! journal records the platform creating it from the version still published, and it is an
//! untouched copy: see `change::function`); a draft that is not is left alone and reported.
//!
//! A journal cut short by a crash ends in a half-written line; that last line is ignored. Any
//! other line that is not one of dactl's journal lines makes the whole journal refused before a
//! single request is sent.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use crate::change::apply::{Outcome, Planned, not_done};
use crate::change::function::{NotOwn, Ownership};
use crate::change::journal::{DraftRecord, Entry, Line, Recorded, Target, record_drafts};
use crate::change::{ActionInfo, Change, Engine, FUNCTION_DEFAULT_SECONDS, Kind, Status, Timeout};
use crate::genesys::Error;
use crate::genesys::models::Action;

/// A journal that cannot be undone; nothing was sent.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct UndoError(pub String);

/// One action to undo, as the journal tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct UndoItem {
    pub action_id: String,
    /// The action as read before the first write that may have landed.
    pub action: Action,
    /// `true`: the function settings' timeout; `false`: `config.timeoutSeconds`.
    pub function: bool,
    /// The timeout before (`None`: unset).
    pub before: Option<i64>,
    /// The timeout the run set (`None`: it removed the field).
    pub set: Option<i64>,
    /// Whether the journal has an `updated` outcome for the write.
    pub confirmed: bool,
    /// Whether a write may have landed; `false`: only a draft dactl created is to be cleared.
    pub landed: bool,
    /// The drafts the journal records dactl creating of this action.
    pub drafts: DraftRecord,
}

/// One intent, with the outcome that followed it.
struct Write {
    action: Box<Action>,
    target: Target,
    function_before: Option<i64>,
    set: Option<u32>,
    outcome: Option<Recorded>,
}

impl Write {
    fn may_have_landed(&self) -> bool {
        self.outcome.is_none_or(Recorded::may_have_landed)
    }

    fn before(&self) -> Option<i64> {
        match self.target {
            Target::Function => self.function_before,
            Target::Action => self.action.config.as_ref().and_then(|c| c.timeout_seconds),
        }
    }
}

/// The journal's lines, in order; refused (with the line's number) if any but a last line cut
/// short is not a journal line.
fn parse(text: &str, shown: &str) -> Result<Vec<Line>, UndoError> {
    let lines: Vec<&str> = text.lines().collect();
    let complete = text.ends_with('\n');
    let mut parsed = Vec::new();
    for (index, raw) in lines.iter().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        let last = index + 1 == lines.len();
        let refuse = |why: String| {
            UndoError(format!(
                "`{shown}` is not a dactl journal: line {} {why}. Nothing was changed.",
                index + 1
            ))
        };
        let value: serde_json::Value = match serde_json::from_str(raw) {
            Ok(v) => v,
            // The line a crash cut short: the write it announced was never sent.
            Err(_) if last && !complete => continue,
            Err(e) => return Err(refuse(format!("is not JSON ({e})"))),
        };
        let line: Line = serde_json::from_value(value)
            .map_err(|e| refuse(format!("is not a journal line ({e})")))?;
        parsed.push(line);
    }
    Ok(parsed)
}

/// Reads a journal into what to undo, in the order the journal first names each action.
pub fn read_journal(path: &Path) -> Result<Vec<UndoItem>, UndoError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        UndoError(format!(
            "Could not read the journal `{shown}`: {e}. Pass the path that the run printed after `journal:`."
        ))
    })?;
    let lines = parse(&text, &shown)?;
    let mut drafts = HashMap::new();
    record_drafts(lines.iter().cloned(), None, &mut drafts);
    // Per action: its writes in order, each with the outcome that followed it.
    let mut order: Vec<String> = Vec::new();
    let mut writes: HashMap<String, Vec<Write>> = HashMap::new();
    for line in lines {
        match line.entry {
            Entry::Intent {
                action_id,
                action,
                intended_timeout,
                target,
                function_before,
                ..
            } => {
                if !writes.contains_key(&action_id) {
                    order.push(action_id.clone());
                }
                writes.entry(action_id).or_default().push(Write {
                    action,
                    target,
                    function_before,
                    set: intended_timeout,
                    outcome: None,
                });
            }
            Entry::Outcome {
                action_id, status, ..
            } => {
                if let Some(last) = writes.get_mut(&action_id).and_then(|w| w.last_mut()) {
                    last.outcome.get_or_insert(status);
                }
            }
            _ => {}
        }
    }
    if order.is_empty() {
        return Err(UndoError(format!(
            "The journal `{shown}` records no write, so there is nothing to undo."
        )));
    }
    let mut items = Vec::new();
    for id in order {
        let all = writes.remove(&id).unwrap_or_default();
        let drafts = drafts.remove(&id).unwrap_or_default();
        let landed: Vec<&Write> = all.iter().filter(|w| w.may_have_landed()).collect();
        let (first, last, landed) = match (landed.first(), landed.last()) {
            (Some(first), Some(last)) => (*first, *last, true),
            // Nothing landed: only a draft dactl created may be left to clear.
            _ if !drafts.created_from.is_empty() => (&all[0], &all[0], false),
            _ => continue,
        };
        items.push(UndoItem {
            action_id: id,
            action: (*first.action).clone(),
            function: first.target == Target::Function,
            before: first.before(),
            set: last.set.map(i64::from),
            confirmed: landed && last.outcome == Some(Recorded::Updated),
            landed,
            drafts,
        });
    }
    Ok(items)
}

/// The timeout that matters for comparisons: a function's unset timeout is its default, 15 s.
fn effective(function: bool, value: Option<i64>) -> Option<i64> {
    if function {
        value.or(Some(FUNCTION_DEFAULT_SECONDS))
    } else {
        value
    }
}

fn current(info: &ActionInfo) -> Option<i64> {
    match info.kind {
        Kind::Function => info.function_timeout,
        _ => info.action.config.as_ref().and_then(|c| c.timeout_seconds),
    }
}

fn seconds(value: Option<i64>) -> String {
    value.map_or_else(|| "unset".to_owned(), |s| format!("{s} s"))
}

/// What to do with one action now.
enum Decision {
    Done(Change),
    Restore(Arc<ActionInfo>, Option<Timeout>),
}

fn decide(item: &UndoItem, info: ActionInfo, force: bool) -> Decision {
    let now = current(&info);
    let function = info.kind == Kind::Function;
    let (before, now_eff, set) = (
        effective(function, item.before),
        effective(function, now),
        effective(function, item.set),
    );
    if now_eff == before {
        let mut change = not_done(&info, Status::Unchanged, "");
        change.after = now;
        change.reason = None;
        return Decision::Done(change);
    }
    if now_eff != set && !force {
        let reason = format!(
            "changed since: the run set {}, it is now {} (pass --force to put it back anyway)",
            seconds(item.set),
            seconds(now)
        );
        return Decision::Done(not_done(&info, Status::Skipped, reason));
    }
    match item.before.map(Timeout::from_seconds) {
        None => Decision::Restore(Arc::new(info), None),
        Some(Ok(timeout)) => Decision::Restore(Arc::new(info), Some(timeout)),
        Some(Err(e)) => Decision::Done(not_done(
            &info,
            Status::Failed,
            format!("the timeout before the run cannot be written back: {e}"),
        )),
    }
}

impl Engine {
    /// The actions named by `items` as they are now (function settings read for function data
    /// actions); `None` for an action that no longer exists.
    async fn read_now(&self, items: &[UndoItem]) -> Result<Vec<Option<ActionInfo>>, Error> {
        let ids: Vec<String> = items.iter().map(|i| i.action_id.clone()).collect();
        let mut found: HashMap<String, ActionInfo> = self
            .resolve(&ids, false)
            .await?
            .found
            .into_iter()
            .map(|info| (info.action.id.clone(), info))
            .collect();
        let mut result = Vec::with_capacity(items.len());
        for item in items {
            let mut info = found.remove(&item.action_id);
            if let Some(info) = info.as_mut().filter(|i| i.kind == Kind::Function) {
                info.function_timeout = self.function_timeout(&info.action.id).await?;
            }
            result.push(info);
        }
        Ok(result)
    }

    /// Deletes the draft a stopped run left of `item`'s action when it is still dactl's own;
    /// `None` when there is none, else what became of it (for the change's reason) and whether
    /// that is a failure.
    async fn clear_own_draft(&self, item: &UndoItem, info: &ActionInfo) -> Option<(String, bool)> {
        let created = &item.drafts.created_from;
        if created.is_empty() || info.kind != Kind::Function {
            return None;
        }
        // Its own only as a copy of the version still published.
        let copies = info
            .action
            .version
            .filter(|v| created.contains(v))
            .or(created.last().copied())?;
        let id = &item.action_id;
        match self
            .draft_ownership(id, copies, &item.drafts.intended())
            .await
        {
            Ok(Ownership::None) => None,
            Ok(Ownership::Own) => Some(match self.delete_own_draft(id).await {
                Ok(()) => (
                    "dactl deleted the unpublished draft the run had left".into(),
                    false,
                ),
                Err(e) => (
                    format!("deleting the draft the run had left failed: {e}"),
                    true,
                ),
            }),
            Ok(Ownership::NotOwn(_)) => Some((
                crate::change::function::not_own_reason(None, NotOwn::Changed),
                false,
            )),
            Err(e) => Some((
                format!("checking the draft the run had left failed: {e}"),
                true,
            )),
        }
    }

    /// Puts back what the journal's writes changed (see the module docs). Writes are journaled
    /// in this engine's own journal; a version conflict re-reads and decides again (bounded).
    pub async fn undo(&self, items: &[UndoItem], force: bool) -> Result<Vec<Change>, Error> {
        let mut results: Vec<Option<Change>> = vec![None; items.len()];
        let mut notes: Vec<Option<String>> = vec![None; items.len()];
        let mut pending: Vec<(usize, ActionInfo)> = Vec::new();
        for (index, now) in self.read_now(items).await?.into_iter().enumerate() {
            let item = &items[index];
            let Some(info) = now else {
                let info = ActionInfo {
                    action: (&item.action).into(),
                    kind: if item.function {
                        Kind::Function
                    } else {
                        Kind::Standard
                    },
                    function_timeout: item.before,
                };
                results[index] = Some(not_done(
                    &info,
                    Status::Failed,
                    "the action no longer exists",
                ));
                continue;
            };
            match self.clear_own_draft(item, &info).await {
                Some((note, true)) => {
                    results[index] = Some(not_done(&info, Status::Failed, note));
                    continue;
                }
                Some((note, false)) => notes[index] = Some(note),
                None => {}
            }
            if item.landed {
                pending.push((index, info));
            } else {
                let mut change = not_done(&info, Status::Unchanged, "");
                change.after = change.before;
                change.reason = None;
                results[index] = Some(change);
            }
        }
        for _round in 0..self.max_attempts() {
            if pending.is_empty() {
                break;
            }
            let mut restores = Vec::new();
            for (index, mut info) in pending.drain(..) {
                if info.kind == Kind::Function && info.function_timeout.is_none() {
                    info.function_timeout = self.function_timeout(&info.action.id).await?;
                }
                match decide(&items[index], info, force) {
                    Decision::Done(change) => results[index] = Some(change),
                    Decision::Restore(info, to) => restores.push((index, info, to)),
                }
            }
            let (indexes, planned): (Vec<usize>, Vec<Planned>) = restores
                .into_iter()
                .map(|(index, info, target)| (index, Planned { info, target }))
                .unzip();
            let outcomes = self.apply(planned).await;
            for (index, outcome) in indexes.into_iter().zip(outcomes) {
                match outcome {
                    Outcome::Done(change) => results[index] = Some(change),
                    Outcome::Redecide { info, .. } => {
                        pending.push((index, Arc::unwrap_or_clone(info)))
                    }
                }
            }
        }
        for (index, info) in pending {
            results[index] = Some(not_done(
                &info,
                Status::Failed,
                "the action kept changing while dactl put it back; run undo again",
            ));
        }
        Ok(results
            .into_iter()
            .zip(notes)
            .filter_map(|(change, note)| {
                let mut change = change?;
                if let Some(note) = note {
                    change.reason = Some(match change.reason.take() {
                        Some(reason) => format!("{note}; {reason}"),
                        None => note,
                    });
                }
                Some(change)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str, text: &str) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!(
            "dactl-undo-{}-{name}-{}.jsonl",
            std::process::id(),
            fastrand::u32(..)
        ));
        std::fs::write(&path, text).unwrap();
        path
    }

    fn intent(id: &str, before: Option<i64>, set: i64) -> String {
        serde_json::json!({"time": "t", "run_id": "r", "kind": "intent", "action_id": id,
            "version": 1, "action": {"id": id, "version": 1, "config": {"timeoutSeconds": before}},
            "intended_timeout": set, "target": "action"})
        .to_string()
    }

    fn outcome(id: &str, status: &str) -> String {
        serde_json::json!({"time": "t", "run_id": "r", "kind": "outcome", "action_id": id,
            "status": status, "new_version": 2})
        .to_string()
    }

    #[test]
    fn a_cut_last_line_is_ignored_and_unanswered_intents_count() {
        let text = format!(
            "{}\n{}\n{}\n{}\n{}\n{}",
            intent("a", Some(5), 30),
            outcome("a", "updated"),
            intent("b", None, 30),
            intent("c", Some(7), 30),
            outcome("c", "failed"),
            &intent("d", Some(1), 30)[..20]
        );
        let path = temp("cut", &text);
        let items = read_journal(&path).unwrap();
        std::fs::remove_file(path).unwrap();
        let ids: Vec<_> = items
            .iter()
            .map(|i| (i.action_id.as_str(), i.before, i.set, i.confirmed))
            .collect();
        assert_eq!(
            ids,
            [("a", Some(5), Some(30), true), ("b", None, Some(30), false)]
        );
    }

    #[test]
    fn conflicts_undo_the_write_that_landed() {
        let text = [
            intent("a", Some(5), 30),
            outcome("a", "conflict"),
            intent("a", Some(6), 30),
            outcome("a", "updated"),
        ]
        .join("\n")
            + "\n";
        let path = temp("conflict", &text);
        let items = read_journal(&path).unwrap();
        std::fs::remove_file(path).unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!((items[0].before, items[0].set), (Some(6), Some(30)));
    }

    #[test]
    fn a_draft_dactl_created_is_kept_for_clearing_even_when_no_write_landed() {
        let function = serde_json::json!({"time": "t", "run_id": "r", "kind": "intent",
            "action_id": "f", "action": {"id": "f", "version": 3}, "intended_timeout": 9,
            "target": "function", "function_before": 15});
        let asked =
            r#"{"time":"t","run_id":"r","kind":"draft","action_id":"f","published_version":3}"#;
        let created = r#"{"time":"t","run_id":"r","kind":"draft_created","action_id":"f","published_version":3}"#;
        let text = [
            function.to_string(),
            asked.into(),
            created.into(),
            outcome("f", "failed"),
            intent("g", Some(5), 30),
            outcome("g", "conflict"),
        ]
        .join("\n")
            + "\n";
        let path = temp("draft-only", &text);
        let items = read_journal(&path).unwrap();
        std::fs::remove_file(path).unwrap();
        // `g` never landed and left no draft: nothing to do for it.
        assert_eq!(items.len(), 1, "{items:?}");
        let item = &items[0];
        assert_eq!(
            (item.action_id.as_str(), item.landed, item.function),
            ("f", false, true)
        );
        assert_eq!(item.drafts.created_from, [3]);
        assert_eq!(item.drafts.intended, [Some(9)]);
        assert_eq!(item.before, Some(15));
    }

    #[test]
    fn foreign_corrupt_and_empty_journals_are_refused() {
        for (name, text, says) in [
            ("empty", String::new(), "no write"),
            ("foreign", "{\"hello\": 1}\n".to_owned(), "line 1"),
            (
                "corrupt",
                format!("not json\n{}\n", intent("a", Some(5), 30)),
                "line 1 is not JSON",
            ),
        ] {
            let path = temp(name, &text);
            let err = read_journal(&path).unwrap_err();
            std::fs::remove_file(path).unwrap();
            assert!(err.0.contains(says), "{name}: {err}");
        }
        let missing = read_journal(Path::new("/nonexistent/x.jsonl")).unwrap_err();
        assert!(missing.0.contains("`/nonexistent/x.jsonl`"), "{missing}");
    }
}
