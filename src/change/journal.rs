//! The run journal: one JSON line per event, appended and flushed to disk before every write.
//!
//! Before a write: `{"time", "run_id", "kind": "intent", "action_id", "name", "version",
//! "action" (the complete action JSON as read before, template text included), "intended_timeout",
//! "target"}` where `target` is `"action"` (`config.timeoutSeconds`) or `"function"` (the
//! function settings' timeout, then `function_before` holds its value before). After it:
//! `{"time", "run_id", "kind": "outcome", "action_id", "status", "new_version", "error"?}`.
//! Before dactl creates a draft: `{"time", "run_id", "kind": "draft", "action_id",
//! "published_version"}`, so that a later run can tell its own draft (left by an interrupted run)
//! from someone else's.
//!
//! The intent line is on disk (`sync_data`) before the request leaves, so a crash at any moment
//! leaves a journal that names every action that may have changed and how it was before. When
//! the journal cannot be written the write is not sent. The file is created on the first line,
//! so a dry run or a run that changes nothing leaves no file. Lines hold action data only: the
//! client never hands tokens or secrets to this layer.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::genesys::models::Action;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "Could not write the journal `{path}`: {message}. Nothing was changed; pass `--journal PATH` to keep it elsewhere."
)]
pub struct JournalError {
    pub path: String,
    pub message: String,
}

/// What is about to be written.
#[derive(Debug, Clone, Copy)]
pub struct Intent<'a> {
    pub action: &'a Action,
    /// `None`: the field is to be removed (an undo of a timeout that was unset).
    pub intended_timeout: Option<u32>,
    /// `"action"` or `"function"`.
    pub target: &'a str,
    /// The function settings' timeout before, for `target == "function"`.
    pub function_before: Option<i64>,
}

#[derive(Debug)]
struct State {
    file: Option<File>,
    /// Set once the file was opened.
    written: Option<PathBuf>,
}

/// One run's journal.
#[derive(Debug)]
pub struct Journal {
    run_id: String,
    /// `None`: the default under the XDG state dir.
    configured: Option<PathBuf>,
    state: Mutex<State>,
}

impl Journal {
    /// A journal for a new run; `path` overrides the default location.
    pub fn new(path: Option<PathBuf>) -> Journal {
        Journal {
            run_id: new_run_id(),
            configured: path,
            state: Mutex::new(State {
                file: None,
                written: None,
            }),
        }
    }

    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The file, once anything was written to it.
    pub fn path(&self) -> Option<PathBuf> {
        self.lock().written.clone()
    }

    /// Where the journal goes: the configured path, or `<state dir>/dactl/journal/<run-id>.jsonl`
    /// (state dir: `$XDG_STATE_HOME` or `~/.local/state`; falls back to the local data dir).
    pub fn location(&self) -> Result<PathBuf, JournalError> {
        self.location_in(dirs::state_dir().or_else(dirs::data_local_dir))
    }

    /// `location`, given the state directory (`None`: not known).
    fn location_in(&self, state_dir: Option<PathBuf>) -> Result<PathBuf, JournalError> {
        if let Some(path) = &self.configured {
            return Ok(path.clone());
        }
        let base = state_dir.ok_or_else(|| JournalError {
            path: "(no state directory)".into(),
            message: "neither the XDG state directory nor the local data directory is known (is HOME set?)".into(),
        })?;
        Ok(base
            .join("dactl")
            .join("journal")
            .join(format!("{}.jsonl", self.run_id)))
    }

    /// Records what is about to be written; returns only once the line is on disk.
    pub fn intent(&self, intent: &Intent<'_>) -> Result<(), JournalError> {
        let mut line = json!({
            "time": now_rfc3339(),
            "run_id": self.run_id,
            "kind": "intent",
            "action_id": intent.action.id,
            "name": intent.action.name,
            "version": intent.action.version,
            "action": intent.action,
            "intended_timeout": intent.intended_timeout,
            "target": intent.target,
        });
        if intent.target == "function" {
            line["function_before"] = json!(intent.function_before);
        }
        self.append(&line)
    }

    /// Records that a draft of `action_id` is about to be created from its published version.
    pub fn draft(&self, action_id: &str, published_version: i64) -> Result<(), JournalError> {
        self.append(&json!({
            "time": now_rfc3339(),
            "run_id": self.run_id,
            "kind": "draft",
            "action_id": action_id,
            "published_version": published_version,
        }))
    }

    /// Whether this journal, or another in its folder (an earlier run's), records creating a
    /// draft of `action_id` from `published_version`. Unreadable files and lines are passed over:
    /// the answer only ever lets dactl reuse a draft, so "not found" is the safe side.
    pub fn created_draft(&self, action_id: &str, published_version: i64) -> bool {
        let Some(dir) = self
            .location()
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
        else {
            return false;
        };
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return false;
        };
        entries
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|e| e == "jsonl"))
            .filter_map(|path| std::fs::read_to_string(path).ok())
            .any(|text| {
                text.lines()
                    .filter(|line| line.contains("\"draft\""))
                    .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                    .any(|line| {
                        line["kind"] == "draft"
                            && line["action_id"] == action_id
                            && line["published_version"] == published_version
                    })
            })
    }

    /// Records how a write ended.
    pub fn outcome(
        &self,
        action_id: &str,
        status: &str,
        new_version: Option<i64>,
        error: Option<&str>,
    ) -> Result<(), JournalError> {
        let mut line = json!({
            "time": now_rfc3339(),
            "run_id": self.run_id,
            "kind": "outcome",
            "action_id": action_id,
            "status": status,
            "new_version": new_version,
        });
        if let Some(error) = error {
            line["error"] = json!(error);
        }
        self.append(&line)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves at worst a half-written line, which readers of
        // the journal already tolerate; keep going.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn append(&self, line: &Value) -> Result<(), JournalError> {
        let mut state = self.lock();
        if state.file.is_none() {
            let path = self.location()?;
            let file = open(&path).map_err(|e| JournalError {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
            state.file = Some(file);
            state.written = Some(path);
        }
        let path = state.written.clone().unwrap_or_default();
        let mut text = line.to_string();
        text.push('\n');
        let file = state.file.as_mut().expect("opened above");
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_data())
            .map_err(|e| JournalError {
                path: path.display().to_string(),
                message: e.to_string(),
            })
    }
}

fn open(path: &Path) -> std::io::Result<File> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    OpenOptions::new().create(true).append(true).open(path)
}

/// `20261128T224900Z-3f9a`: sorts by time, unique enough for one user's runs.
fn new_run_id() -> String {
    run_id_at(Timestamp::now(), fastrand::u16(..))
}

/// The run id of a run started at `at` (UTC, to the second) with the random `suffix`.
fn run_id_at(at: Timestamp, suffix: u16) -> String {
    format!("{}-{suffix:04x}", at.strftime("%Y%m%dT%H%M%SZ"))
}

/// `2026-11-28T22:49:00.123Z`: now, in UTC, to the millisecond.
pub fn now_rfc3339() -> String {
    rfc3339(Timestamp::now())
}

/// `at` as RFC 3339 in UTC with milliseconds (cut, not rounded: a time is never shown later than
/// it was), the one format of every time dactl writes to a file.
pub fn rfc3339(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(micros: i64) -> Timestamp {
        Timestamp::from_microsecond(micros).unwrap()
    }

    #[test]
    fn times_are_rfc3339_in_utc_to_the_millisecond() {
        assert_eq!(rfc3339(at(0)), "1970-01-01T00:00:00.000Z");
        // A leap day, with microseconds cut (not rounded up) to milliseconds.
        assert_eq!(
            rfc3339(at(1_709_210_096_123_999)),
            "2024-02-29T12:34:56.123Z"
        );
        assert_eq!(rfc3339(at(978_307_199_000_000)), "2000-12-31T23:59:59.000Z");
        // The example of the docs: 2026-11-28T22:49:00.123Z.
        assert_eq!(
            rfc3339(at(1_795_906_140_123_000)),
            "2026-11-28T22:49:00.123Z"
        );
        // What a journal line carries now reads back as a time, in UTC.
        let now = now_rfc3339();
        let parsed: Timestamp = now.parse().unwrap();
        assert!(now.ends_with('Z') && now.len() == 24, "{now}");
        assert!(
            Timestamp::now().duration_since(parsed).as_secs().abs() < 60,
            "{now}"
        );
    }

    #[test]
    fn run_ids_sort_by_time_and_end_in_four_hex_digits() {
        assert_eq!(
            run_id_at(at(1_795_906_140_123_000), 0x3f9a),
            "20261128T224900Z-3f9a"
        );
        assert_eq!(run_id_at(at(0), 7), "19700101T000000Z-0007");
        let id = new_run_id();
        let (time, suffix) = id.split_once('-').unwrap();
        assert_eq!(time.len(), 16, "{id}");
        assert!(time.starts_with("20") && time.ends_with('Z') && time.as_bytes()[8] == b'T');
        assert!(
            suffix.len() == 4 && suffix.chars().all(|c| c.is_ascii_hexdigit()),
            "{id}"
        );
    }

    fn temp_path(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!(
            "dactl-journal-test-{}-{name}-{}",
            std::process::id(),
            fastrand::u32(..)
        ))
    }

    #[test]
    fn lines_are_complete_json_and_the_file_is_lazy() {
        let dir = temp_path("lazy");
        let path = dir.join("sub").join("run.jsonl");
        let journal = Journal::new(Some(path.clone()));
        assert_eq!(journal.path(), None);
        assert!(!path.exists());
        let action: Action = serde_json::from_value(json!({
            "id": "a1", "name": "Lookup", "version": 3, "config": {"timeoutSeconds": 10, "odd": [1]}
        }))
        .unwrap();
        journal
            .intent(&Intent {
                action: &action,
                intended_timeout: Some(30),
                target: "action",
                function_before: None,
            })
            .unwrap();
        journal.outcome("a1", "updated", Some(4), None).unwrap();
        assert_eq!(journal.path(), Some(path.clone()));
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["kind"], "intent");
        assert_eq!(lines[0]["action"]["config"]["odd"], json!([1]));
        assert_eq!(lines[0]["version"], 3);
        assert_eq!(lines[0]["intended_timeout"], 30);
        assert_eq!(lines[0]["run_id"], journal.run_id());
        assert_eq!(lines[1]["kind"], "outcome");
        assert_eq!(lines[1]["new_version"], 4);
        assert!(lines[1].get("error").is_none());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_unwritable_path_is_an_error_naming_it() {
        let blocker = temp_path("blocker");
        std::fs::write(&blocker, "a file, not a directory").unwrap();
        let path = blocker.join("run.jsonl");
        let journal = Journal::new(Some(path.clone()));
        let err = journal.outcome("a1", "updated", None, None).unwrap_err();
        assert_eq!(err.path, path.display().to_string());
        assert!(err.to_string().contains(&format!("`{}`", path.display())));
        assert_eq!(journal.path(), None);
        std::fs::remove_file(blocker).unwrap();
    }

    #[test]
    fn the_default_location_is_under_the_state_dir() {
        let journal = Journal::new(None);
        let state = PathBuf::from("/home/u/.local/state");
        // Under the state dir, named by the run id: a journal written elsewhere, or under a
        // name `undo` cannot tie to the run, fails.
        assert_eq!(
            journal.location_in(Some(state.clone())).unwrap(),
            state
                .join("dactl")
                .join("journal")
                .join(format!("{}.jsonl", journal.run_id()))
        );
        // No state dir is an error that says why, not a journal in the current directory.
        let error = journal.location_in(None).unwrap_err();
        assert!(error.to_string().contains("HOME"), "{error}");
        // `--journal PATH` wins over the state dir.
        let configured = Journal::new(Some(PathBuf::from("/tmp/run.jsonl")));
        assert_eq!(
            configured.location_in(Some(state)).unwrap(),
            PathBuf::from("/tmp/run.jsonl")
        );
    }
}
