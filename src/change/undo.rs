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
//! A journal cut short by a crash ends in a half-written line; that last line is ignored. Any
//! other line that is not one of dactl's journal lines makes the whole journal refused before a
//! single request is sent.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

use crate::change::apply::{Outcome, Planned, not_done};
use crate::change::{ActionInfo, Change, Engine, Kind, Status, Timeout};
use crate::genesys::models::Action;
use crate::genesys::{ActionQuery, Error};

/// A journal that cannot be undone; nothing was sent.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct UndoError(pub String);

/// One action's write to undo, as the journal tells it.
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
}

/// Parsed intent or outcome line.
enum Line {
    Intent {
        id: String,
        action: Box<Action>,
        function: bool,
        before: Option<i64>,
        set: Option<i64>,
    },
    Outcome {
        id: String,
        status: String,
    },
    /// A draft dactl created: nothing to undo by itself (its publish is an intent).
    Draft,
}

fn parse_line(value: &Value) -> Result<Line, String> {
    let field = |name: &str| value.get(name).ok_or(format!("it has no `{name}`"));
    let id = field("action_id")?
        .as_str()
        .ok_or("its `action_id` is not text")?
        .to_owned();
    field("run_id")?;
    match field("kind")?.as_str() {
        Some("intent") => {
            let action: Action = serde_json::from_value(field("action")?.clone())
                .map_err(|e| format!("its `action` is not an action: {e}"))?;
            let function = match field("target")?.as_str() {
                Some("function") => true,
                Some("action") => false,
                _ => return Err("its `target` is neither `action` nor `function`".into()),
            };
            let set = match field("intended_timeout")? {
                Value::Null => None,
                v => Some(v.as_i64().ok_or("its `intended_timeout` is not a number")?),
            };
            let before = if function {
                value.get("function_before").and_then(Value::as_i64)
            } else {
                action.config.as_ref().and_then(|c| c.timeout_seconds)
            };
            Ok(Line::Intent {
                id,
                action: Box::new(action),
                function,
                before,
                set,
            })
        }
        Some("outcome") => Ok(Line::Outcome {
            id,
            status: field("status")?
                .as_str()
                .ok_or("its `status` is not text")?
                .to_owned(),
        }),
        Some("draft") => Ok(Line::Draft),
        _ => Err("its `kind` is not `intent`, `outcome` or `draft`".into()),
    }
}

/// Reads a journal into the writes to undo, in the order the journal first names each action.
pub fn read_journal(path: &Path) -> Result<Vec<UndoItem>, UndoError> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| {
        UndoError(format!(
            "Could not read the journal `{shown}`: {e}. Pass the path that the run printed after `journal:`."
        ))
    })?;
    let lines: Vec<&str> = text.lines().collect();
    let complete = text.ends_with('\n');
    let mut parsed = Vec::new();
    for (index, raw) in lines.iter().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        let last = index + 1 == lines.len();
        let value: Value = match serde_json::from_str(raw) {
            Ok(v) => v,
            // The line a crash cut short: the write it announced was never sent.
            Err(_) if last && !complete => continue,
            Err(e) => {
                return Err(UndoError(format!(
                    "`{shown}` is not a dactl journal: line {} is not JSON ({e}). Nothing was changed.",
                    index + 1
                )));
            }
        };
        let line = parse_line(&value).map_err(|why| {
            UndoError(format!(
                "`{shown}` is not a dactl journal: line {} is not a journal line ({why}). Nothing was changed.",
                index + 1
            ))
        })?;
        parsed.push(line);
    }
    // Per action: its writes in order, each with the outcome that followed it.
    let mut order: Vec<String> = Vec::new();
    let mut writes: HashMap<String, Vec<(Line, Option<String>)>> = HashMap::new();
    for line in parsed {
        match line {
            Line::Intent { ref id, .. } => {
                let id = id.clone();
                if !writes.contains_key(&id) {
                    order.push(id.clone());
                }
                writes.entry(id).or_default().push((line, None));
            }
            Line::Outcome { id, status } => {
                if let Some((_, outcome @ None)) = writes.get_mut(&id).and_then(|w| w.last_mut()) {
                    *outcome = Some(status);
                }
            }
            Line::Draft => {}
        }
    }
    if order.is_empty() {
        return Err(UndoError(format!(
            "The journal `{shown}` records no write, so there is nothing to undo."
        )));
    }
    let mut items = Vec::new();
    for id in order {
        let landed: Vec<(Line, Option<String>)> = writes
            .remove(&id)
            .unwrap_or_default()
            .into_iter()
            .filter(|(_, o)| matches!(o.as_deref(), None | Some("updated") | Some("unknown")))
            .collect();
        // Only intents are stored per action, so both ends are intents.
        let (
            Some((
                Line::Intent {
                    action,
                    function,
                    before,
                    ..
                },
                _,
            )),
            Some((Line::Intent { set, .. }, outcome)),
        ) = (landed.first(), landed.last())
        else {
            continue;
        };
        items.push(UndoItem {
            action_id: id,
            action: (**action).clone(),
            function: *function,
            before: *before,
            set: *set,
            confirmed: outcome.as_deref() == Some("updated"),
        });
    }
    Ok(items)
}

/// The timeout that matters for comparisons: a function's unset timeout is its default, 15 s.
fn effective(function: bool, value: Option<i64>) -> Option<i64> {
    if function { value.or(Some(15)) } else { value }
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
        let mut found: HashMap<String, ActionInfo> = HashMap::new();
        for chunk in items.chunks(crate::change::verify::VERIFY_BATCH) {
            let query = ActionQuery {
                ids: Some(chunk.iter().map(|i| i.action_id.clone()).collect()),
                include_config: true,
                ..ActionQuery::default()
            };
            for info in self.list_actions(&query).await? {
                found.insert(info.action.id.clone(), info);
            }
        }
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

    /// Puts back what the journal's writes changed (see the module docs). Writes are journaled
    /// in this engine's own journal; a version conflict re-reads and decides again (bounded).
    pub async fn undo(&self, items: &[UndoItem], force: bool) -> Result<Vec<Change>, Error> {
        let mut results: Vec<Option<Change>> = vec![None; items.len()];
        let mut pending: Vec<(usize, ActionInfo)> = Vec::new();
        for (index, now) in self.read_now(items).await?.into_iter().enumerate() {
            match now {
                Some(info) => pending.push((index, info)),
                None => {
                    let item = &items[index];
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
                }
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
        Ok(results.into_iter().flatten().collect())
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
