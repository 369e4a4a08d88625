//! The run journal: one JSON line per event, appended and flushed to disk before every write.
//!
//! Every line is a [`Line`]: `{"time", "run_id", "kind", ...}`, the rest by kind ([`Entry`]):
//! - `intent`, before a timeout write: `action_id`, `name`, `version`, `action` (the complete
//!   action as read before, template text included), `intended_timeout`, `target` (`"action"`:
//!   `config.timeoutSeconds`; `"function"`: the function settings' timeout, `function_before`
//!   its value before);
//! - `outcome`, after it: `action_id`, `status`, `new_version`, `error`;
//! - `draft`, before dactl asks for a draft of a function data action: `action_id`,
//!   `published_version` (the version it copies);
//! - `draft_created`, once the platform answered that create: the same, with the draft's
//!   `draft_version`. Only this line makes a draft dactl's own: a `draft` line without it means
//!   the create was refused (someone's draft was in the way) or its answer never came;
//! - `draft_delete` before dactl deletes a draft it created and `draft_deleted` after.
//!
//! The line before a write is on disk (`sync_data`) before the request leaves, so a crash at
//! any moment leaves a journal that names every action that may have changed and how it was
//! before. When the journal cannot be written the write is not sent. The file is created on the
//! first line, so a dry run or a run that changes nothing leaves no file. Lines hold action data
//! only: the client never hands tokens or secrets to this layer. The same types write and read
//! the lines, so what `undo` reads is what a run wrote.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::genesys::models::Action;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "Could not write the journal `{path}`: {message}. Nothing was changed; pass `--journal PATH` to keep it elsewhere."
)]
pub struct JournalError {
    pub path: String,
    pub message: String,
}

/// One line of a journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub time: String,
    pub run_id: String,
    #[serde(flatten)]
    pub entry: Entry,
}

/// What a line records, by its `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    /// A timeout write about to be made.
    Intent {
        action_id: String,
        name: Option<String>,
        version: Option<i64>,
        /// The action as read before the write, template text included.
        action: Box<Action>,
        /// `None`: the field is to be removed (an undo of a timeout that was unset).
        intended_timeout: Option<u32>,
        target: Target,
        /// The function settings' timeout before, for `Target::Function`.
        #[serde(default)]
        function_before: Option<i64>,
    },
    /// How the last intent for the action ended.
    Outcome {
        action_id: String,
        status: Recorded,
        new_version: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// dactl is about to ask for a draft copying `published_version`.
    Draft {
        action_id: String,
        published_version: i64,
    },
    /// The platform created the draft dactl asked for: from here on it is dactl's own.
    DraftCreated {
        action_id: String,
        published_version: i64,
        #[serde(default)]
        draft_version: Option<i64>,
    },
    /// dactl is about to delete a draft it created.
    DraftDelete { action_id: String },
    /// The draft is gone.
    DraftDeleted { action_id: String },
}

impl Entry {
    pub fn action_id(&self) -> &str {
        match self {
            Entry::Intent { action_id, .. }
            | Entry::Outcome { action_id, .. }
            | Entry::Draft { action_id, .. }
            | Entry::DraftCreated { action_id, .. }
            | Entry::DraftDelete { action_id }
            | Entry::DraftDeleted { action_id } => action_id,
        }
    }
}

/// Which timeout an intent writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// `config.timeoutSeconds`.
    Action,
    /// A function data action's function settings' `timeoutSeconds`, through a draft.
    Function,
}

/// How a write ended, as the journal records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recorded {
    /// It landed (the answer said so, or the action read back exactly as sent).
    Updated,
    /// Refused for a stale version: nothing was written.
    Conflict,
    /// The answer was lost and the action read back is not what was sent.
    NotApplied,
    /// Whether it landed is not known (the answer was lost and the read back failed).
    Unknown,
    /// Refused, or never sent past a failing step.
    Failed,
    /// Not written, for the reason given (someone else's draft in the way).
    Skipped,
}

impl Recorded {
    /// Whether the write may have changed the action (what `undo` puts back).
    pub fn may_have_landed(self) -> bool {
        matches!(self, Recorded::Updated | Recorded::Unknown)
    }
}

/// What is about to be written.
#[derive(Debug, Clone, Copy)]
pub struct Intent<'a> {
    pub action: &'a Action,
    /// `None`: the field is to be removed (an undo of a timeout that was unset).
    pub intended_timeout: Option<u32>,
    pub target: Target,
    /// The function settings' timeout before, for `Target::Function`.
    pub function_before: Option<i64>,
}

/// What a set of journals says about the drafts dactl made of one action.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DraftRecord {
    /// The published versions dactl's drafts were created from (a `draft_created` line each).
    pub created_from: Vec<i64>,
    /// Function timeouts dactl meant to write through a draft of it.
    pub intended: Vec<Option<u32>>,
    /// A create was asked for and no answer recorded (refused, lost, or the run was killed).
    pub unanswered: bool,
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
    /// `None`: the default under the XDG state dir. Made absolute when the journal is made, so
    /// that its folder is a real one (a bare `j1.jsonl` is in the current directory).
    configured: Option<PathBuf>,
    state: Mutex<State>,
}

impl Journal {
    /// A journal for a new run; `path` overrides the default location.
    pub fn new(path: Option<PathBuf>) -> Journal {
        Journal {
            run_id: new_run_id(),
            configured: path.map(|p| std::path::absolute(&p).unwrap_or(p)),
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
        self.append(Entry::Intent {
            action_id: intent.action.id.clone(),
            name: intent.action.name.clone(),
            version: intent.action.version,
            action: Box::new(intent.action.clone()),
            intended_timeout: intent.intended_timeout,
            target: intent.target,
            function_before: intent.function_before,
        })
    }

    /// Records that a draft of `action_id` is about to be asked for.
    pub fn draft(&self, action_id: &str, published_version: i64) -> Result<(), JournalError> {
        self.append(Entry::Draft {
            action_id: action_id.to_owned(),
            published_version,
        })
    }

    /// Records that the platform created the draft dactl asked for.
    pub fn draft_created(
        &self,
        action_id: &str,
        published_version: i64,
        draft_version: Option<i64>,
    ) -> Result<(), JournalError> {
        self.append(Entry::DraftCreated {
            action_id: action_id.to_owned(),
            published_version,
            draft_version,
        })
    }

    /// Records a draft delete, before it (`done: false`) or after it (`done: true`).
    pub fn draft_delete(&self, action_id: &str, done: bool) -> Result<(), JournalError> {
        let action_id = action_id.to_owned();
        self.append(match done {
            false => Entry::DraftDelete { action_id },
            true => Entry::DraftDeleted { action_id },
        })
    }

    /// Records how a write ended.
    pub fn outcome(
        &self,
        action_id: &str,
        status: Recorded,
        new_version: Option<i64>,
        error: Option<&str>,
    ) -> Result<(), JournalError> {
        self.append(Entry::Outcome {
            action_id: action_id.to_owned(),
            status,
            new_version,
            error: error.map(str::to_owned),
        })
    }

    /// What this journal and the others in its folder (earlier runs') say about dactl's drafts
    /// of `action_id`. Unreadable files and lines are passed over: the answer only ever lets
    /// dactl treat a draft as its own, so "not found" is the safe side.
    pub fn drafts_of(&self, action_id: &str) -> DraftRecord {
        match self.location() {
            Ok(path) => drafts_near(&path, Some(&self.run_id))
                .remove(action_id)
                .unwrap_or_default(),
            Err(_) => DraftRecord::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves at worst a half-written line, which readers of
        // the journal already tolerate; keep going.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn append(&self, entry: Entry) -> Result<(), JournalError> {
        let line = Line {
            time: now_rfc3339(),
            run_id: self.run_id.clone(),
            entry,
        };
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
        let mut text = serde_json::to_string(&line).map_err(|e| JournalError {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
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

/// The journal lines of `text` that parse (a line cut short by a crash, or anything else, is
/// passed over).
pub fn parse_lines(text: &str) -> impl Iterator<Item = Line> + '_ {
    text.lines()
        .filter_map(|line| serde_json::from_str::<Line>(line).ok())
}

/// Per action, what the journals in `journal`'s folder (it included) say about dactl's drafts.
/// The `draft` lines of `this_run` (a run still going) are not counted unanswered: their answer
/// is being waited for.
pub fn drafts_near(journal: &Path, this_run: Option<&str>) -> HashMap<String, DraftRecord> {
    let dir = match journal.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|e| e == "jsonl"))
                .collect()
        })
        .unwrap_or_default();
    if !files.iter().any(|f| f.file_name() == journal.file_name()) {
        files.push(journal.to_path_buf());
    }
    let mut records: HashMap<String, DraftRecord> = HashMap::new();
    for text in files.iter().filter_map(|f| std::fs::read_to_string(f).ok()) {
        record_drafts(parse_lines(&text), this_run, &mut records);
    }
    records
}

/// Adds what one journal's `lines` say about dactl's drafts to `records` (see [`drafts_near`]).
pub fn record_drafts(
    lines: impl IntoIterator<Item = Line>,
    this_run: Option<&str>,
    records: &mut HashMap<String, DraftRecord>,
) {
    // A `draft` line is answered by the next `draft_created` of the same action.
    let mut asked: HashMap<String, bool> = HashMap::new();
    for line in lines {
        match line.entry {
            Entry::Draft { action_id, .. } if this_run != Some(line.run_id.as_str()) => {
                asked.insert(action_id, true);
            }
            Entry::DraftCreated {
                action_id,
                published_version,
                ..
            } => {
                asked.insert(action_id.clone(), false);
                records
                    .entry(action_id)
                    .or_default()
                    .created_from
                    .push(published_version);
            }
            Entry::Intent {
                action_id,
                intended_timeout,
                target: Target::Function,
                ..
            } => records
                .entry(action_id)
                .or_default()
                .intended
                .push(intended_timeout),
            _ => {}
        }
    }
    for (action_id, unanswered) in asked {
        if unanswered {
            records.entry(action_id).or_default().unanswered = true;
        }
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
    use serde_json::{Value, json};

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
                target: Target::Action,
                function_before: None,
            })
            .unwrap();
        journal
            .outcome("a1", Recorded::Updated, Some(4), None)
            .unwrap();
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
        let err = journal
            .outcome("a1", Recorded::Updated, None, None)
            .unwrap_err();
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

    #[test]
    fn lines_read_back_as_the_entries_written_and_old_journals_parse() {
        let dir = temp_path("typed");
        let path = dir.join("run.jsonl");
        let journal = Journal::new(Some(path.clone()));
        journal.draft("f1", 6).unwrap();
        journal.draft_created("f1", 6, Some(1)).unwrap();
        journal.draft_delete("f1", false).unwrap();
        journal.draft_delete("f1", true).unwrap();
        journal
            .outcome("f1", Recorded::NotApplied, None, Some("lost"))
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let kinds: Vec<Entry> = parse_lines(&text).map(|l| l.entry).collect();
        assert_eq!(
            kinds,
            [
                Entry::Draft {
                    action_id: "f1".into(),
                    published_version: 6
                },
                Entry::DraftCreated {
                    action_id: "f1".into(),
                    published_version: 6,
                    draft_version: Some(1)
                },
                Entry::DraftDelete {
                    action_id: "f1".into()
                },
                Entry::DraftDeleted {
                    action_id: "f1".into()
                },
                Entry::Outcome {
                    action_id: "f1".into(),
                    status: Recorded::NotApplied,
                    new_version: None,
                    error: Some("lost".into())
                },
            ]
        );
        assert!(text.contains("\"kind\":\"draft_created\""), "{text}");
        assert!(text.contains("\"status\":\"not_applied\""), "{text}");
        // Every line of a journal written by release 0.1.0 parses, as what it says.
        let old = include_str!("../../tests/fixtures/journal-0.1.0.jsonl");
        let lines: Vec<Line> = parse_lines(old).collect();
        assert_eq!(lines.len(), old.lines().count());
        assert!(matches!(
            &lines[5].entry,
            Entry::Draft {
                published_version: 6,
                ..
            }
        ));
        assert!(matches!(
            &lines[4].entry,
            Entry::Intent {
                target: Target::Function,
                function_before: Some(15),
                intended_timeout: Some(12),
                ..
            }
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_draft_is_dactls_only_once_its_create_was_answered() {
        let dir = temp_path("drafts");
        // An earlier run asked for two drafts: one was created, one never answered.
        let earlier = Journal::new(Some(dir.join("earlier.jsonl")));
        earlier.draft("f1", 3).unwrap();
        earlier.draft_created("f1", 3, None).unwrap();
        earlier.draft("f2", 8).unwrap();
        // This run only asked.
        let now = Journal::new(Some(dir.join("now.jsonl")));
        now.draft("f3", 1).unwrap();
        assert_eq!(now.drafts_of("f1").created_from, [3]);
        assert!(!now.drafts_of("f1").unanswered);
        assert_eq!(now.drafts_of("f2").created_from, Vec::<i64>::new());
        assert!(now.drafts_of("f2").unanswered);
        // This run's own question is still waiting for its answer, not unanswered.
        assert_eq!(now.drafts_of("f3").created_from, Vec::<i64>::new());
        assert!(!now.drafts_of("f3").unanswered);
        // Read from elsewhere (an undo), this run's question was never answered.
        let records = drafts_near(&dir.join("now.jsonl"), None);
        assert!(records["f3"].unanswered);
        assert_eq!(now.drafts_of("f4"), DraftRecord::default());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_bare_file_name_is_a_journal_in_the_current_directory() {
        let journal = Journal::new(Some(PathBuf::from("j1.jsonl")));
        let path = journal.location().unwrap();
        assert!(path.is_absolute(), "{}", path.display());
        assert_eq!(path, std::env::current_dir().unwrap().join("j1.jsonl"));
    }
}
