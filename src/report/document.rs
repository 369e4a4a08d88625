//! `ChangeReport`: what a change-approval board reads about one run, whatever the file format.
//! It holds the run's changes and its context (org, time, who, journal, undo command) and works
//! out everything a page shows: counts by status, kind and category, the before → after rows,
//! the actions left alone with their reasons grouped, and the histogram of timeouts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use super::reasons::{self, Grouped};
use super::summary::{Report, sets_timeout};
use crate::change::{Change, MAX_SECONDS, Status, refusal};

/// Where and by whom a run was made, and how to take it back.
#[derive(Debug, Clone, PartialEq)]
pub struct Context {
    /// The org's region and API, e.g. `eu-west-1 (https://api.mypurecloud.ie/)`.
    pub org: String,
    /// The OAuth client's id; `None`: a ready access token was used. Never a secret.
    pub client_id: Option<String>,
    /// When the report was made (the end of the run).
    pub generated: Timestamp,
    pub run_id: String,
    /// Nothing was written: a plan.
    pub dry_run: bool,
    /// The command line, as typed.
    pub command: String,
    /// The run's journal, when it wrote anything.
    pub journal: Option<PathBuf>,
    /// The command that puts the run's timeouts back (`dactl undo JOURNAL`), with a journal.
    pub undo: Option<String>,
    /// For a plan: the command that carries it out (`dactl apply PLAN`), when it was saved.
    pub apply: Option<String>,
    /// Whether dactl read the changes back as intended; `None`: not checked by dactl (a dry run,
    /// or a script, which verifies as it chooses).
    pub read_back: Option<bool>,
}

/// A report file's format, by its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.md`: Markdown, for a ticket or a pull request.
    Markdown,
    /// `.html`: one self-contained page (inline CSS and SVG, no script, nothing fetched).
    Html,
}

impl Format {
    /// The format a path asks for; anything but `.md` or `.html` is an error saying so.
    pub fn of(path: &Path) -> Result<Format, String> {
        let extension = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        match extension.as_deref() {
            Some("md") => Ok(Format::Markdown),
            Some("html") => Ok(Format::Html),
            Some(other) => Err(format!(
                "`--report {}`: a report is written as `.md` (Markdown) or `.html` (one \
                 self-contained page), chosen by the file's extension, and `.{other}` is neither; \
                 e.g. `--report change.md`.",
                path.display()
            )),
            None => Err(format!(
                "`--report {}` has no extension; a report is written as `.md` (Markdown) or \
                 `.html` (one self-contained page), chosen by the extension, e.g. `--report \
                 change.md`.",
                path.display()
            )),
        }
    }
}

/// A report file that could not be written.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "Could not write the report `{path}`: {message}. The run itself is over and its outcome is \
     above{journal}; pass another `--report FILE` next time."
)]
pub struct ReportError {
    pub path: String,
    pub message: String,
    /// `, and its journal is `PATH`` when there is one.
    journal: String,
}

/// Timeouts counted by value: index 0 is unset, index `s` is `s` seconds (1..=60).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Histogram {
    pub before: Vec<usize>,
    pub after: Vec<usize>,
}

impl Histogram {
    /// The label of bucket `index`: `unset`, or `30 s`.
    pub fn label(index: usize) -> String {
        if index == 0 {
            "unset".into()
        } else {
            format!("{index} s")
        }
    }

    /// The largest count of either series (at least 1, to scale by).
    pub fn max(&self) -> usize {
        self.before
            .iter()
            .chain(&self.after)
            .copied()
            .max()
            .unwrap_or(0)
            .max(1)
    }

    /// Indexes of the buckets with a count before or after.
    pub fn used(&self) -> Vec<usize> {
        (0..self.before.len())
            .filter(|&i| self.before[i] > 0 || self.after[i] > 0)
            .collect()
    }
}

/// Counts by status for one kind or category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    pub name: String,
    pub total: usize,
    pub by_status: BTreeMap<Status, usize>,
}

/// One run's report, ready to render as Markdown or HTML.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeReport {
    pub context: Context,
    pub changes: Vec<Change>,
    /// What a script gave as the evidence for a change, by action id (a decide closure's
    /// `#{timeout, evidence}`): shown beside the change. Empty: no evidence column.
    pub evidence: BTreeMap<String, String>,
}

impl ChangeReport {
    pub fn new(context: Context, changes: Vec<Change>) -> ChangeReport {
        ChangeReport {
            context,
            changes,
            evidence: BTreeMap::new(),
        }
    }

    /// The report with `evidence` beside the changes it names.
    pub fn with_evidence(mut self, evidence: BTreeMap<String, String>) -> ChangeReport {
        self.evidence = evidence;
        self
    }

    /// The evidence given for the change of action `id`, or `""`.
    pub fn evidence_of(&self, id: &str) -> &str {
        self.evidence.get(id).map_or("", String::as_str)
    }

    /// `Timeout change plan` or `Timeout change report`.
    pub fn title(&self) -> &'static str {
        if self.context.dry_run {
            "Data Action timeout change plan"
        } else {
            "Data Action timeout change report"
        }
    }

    /// The statuses that occur, in `Status` order, with their counts.
    pub fn counts(&self) -> BTreeMap<Status, usize> {
        Report {
            changes: &self.changes,
        }
        .counts()
    }

    /// `17 planned, 3 skipped`.
    pub fn counts_text(&self) -> String {
        let counts: Vec<String> = self
            .counts()
            .into_iter()
            .map(|(s, n)| format!("{n} {}", s.as_str()))
            .collect();
        if counts.is_empty() {
            "no action".into()
        } else {
            counts.join(", ")
        }
    }

    /// One sentence on the outcome, for the top of the page.
    pub fn outcome(&self) -> String {
        let set = self.rows().len();
        let plural = |n: usize| if n == 1 { "action" } else { "actions" };
        let failed = self.counts().get(&Status::Failed).copied().unwrap_or(0);
        let mut text = if self.context.dry_run {
            format!(
                "Dry run: nothing was written. {set} {} would get a new timeout.",
                plural(set)
            )
        } else {
            format!("{set} {} got a new timeout.", plural(set))
        };
        if failed > 0 {
            text.push_str(&format!(" {failed} {} failed.", plural(failed)));
        }
        let stopped = self
            .counts()
            .get(&Status::NotAttempted)
            .copied()
            .unwrap_or(0);
        if stopped > 0 {
            text.push_str(&format!(
                " {stopped} {} not attempted: the run stopped writing (see the reasons).",
                plural(stopped)
            ));
        }
        match self.context.read_back {
            Some(true) => text.push_str(" Every change read back as intended."),
            Some(false) => text.push_str(" Some changes did not read back as intended."),
            None => {}
        }
        text
    }

    /// Who made the run: `OAuth client `ID``, or that an access token was used.
    pub fn who(&self) -> String {
        match &self.context.client_id {
            Some(id) => format!("OAuth client {id}"),
            None => "a ready access token (no client id)".into(),
        }
    }

    /// `2026-11-28 22:49:00 UTC`.
    pub fn when(&self) -> String {
        self.context
            .generated
            .strftime("%Y-%m-%d %H:%M:%S UTC")
            .to_string()
    }

    /// The changes that set (or would set) a timeout: the before → after table.
    pub fn rows(&self) -> Vec<&Change> {
        self.changes
            .iter()
            .filter(|c| sets_timeout(c.status))
            .collect()
    }

    /// Changes that left their action as it was for a reason (skipped, failed, ...), each with
    /// the number of its reason in `reasons().groups` (1-based).
    pub fn left_alone(&self) -> Vec<(&Change, usize)> {
        let grouped = self.reasons();
        self.changes
            .iter()
            .zip(&grouped.of)
            .filter(|(c, _)| !sets_timeout(c.status))
            .filter_map(|(c, group)| group.map(|g| (c, g + 1)))
            .collect()
    }

    /// Already at their timeout: no request, nothing to say.
    pub fn unchanged(&self) -> usize {
        self.counts().get(&Status::Unchanged).copied().unwrap_or(0)
    }

    /// The reasons, each once (see `reasons`).
    pub fn reasons(&self) -> Grouped {
        reasons::group(
            self.changes
                .iter()
                .map(|c| (c.id.as_str(), c.status.as_str(), c.reason.as_deref())),
        )
    }

    /// Counts by kind, kinds in name order.
    pub fn by_kind(&self) -> Vec<Tally> {
        self.tally(|c| c.kind.as_str().to_owned())
    }

    /// Counts by category, categories in name order (`(none)` last).
    pub fn by_category(&self) -> Vec<Tally> {
        let mut tallies = self.tally(|c| c.category.clone().unwrap_or_default());
        tallies.sort_by_key(|t| t.name.is_empty());
        for tally in &mut tallies {
            if tally.name.is_empty() {
                tally.name = "(none)".into();
            }
        }
        tallies
    }

    fn tally(&self, key: impl Fn(&Change) -> String) -> Vec<Tally> {
        let mut by: BTreeMap<String, BTreeMap<Status, usize>> = BTreeMap::new();
        for change in &self.changes {
            *by.entry(key(change))
                .or_default()
                .entry(change.status)
                .or_default() += 1;
        }
        by.into_iter()
            .map(|(name, by_status)| Tally {
                name,
                total: by_status.values().sum(),
                by_status,
            })
            .collect()
    }

    /// Timeouts before and after the run, for the actions that take one (built-in and custom
    /// authentication actions do not). After is the new timeout of a change that set one, and
    /// the timeout before for every other action.
    pub fn histogram(&self) -> Histogram {
        let buckets = MAX_SECONDS as usize + 1;
        let mut histogram = Histogram {
            before: vec![0; buckets],
            after: vec![0; buckets],
        };
        let bucket = |t: Option<i64>| match t {
            None => Some(0),
            Some(s) if (1..=i64::from(MAX_SECONDS)).contains(&s) => Some(s as usize),
            Some(_) => None,
        };
        for change in self.changes.iter().filter(|c| refusal(c.kind).is_none()) {
            let after = if sets_timeout(change.status) {
                change.after
            } else {
                change.before
            };
            if let Some(b) = bucket(change.before) {
                histogram.before[b] += 1;
            }
            if let Some(a) = bucket(after) {
                histogram.after[a] += 1;
            }
        }
        histogram
    }

    /// The report as `format`.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Markdown => super::markdown::render(self),
            Format::Html => super::html::render(self),
        }
    }

    /// Writes the report to `path`, in the format of its extension.
    pub fn write(&self, path: &Path) -> Result<(), ReportError> {
        let error = |message: String| ReportError {
            path: path.display().to_string(),
            message,
            journal: self
                .context
                .journal
                .as_ref()
                .map(|j| format!(", and its journal is `{}`", j.display()))
                .unwrap_or_default(),
        };
        let format = Format::of(path).map_err(error)?;
        std::fs::write(path, self.render(format)).map_err(|e| error(e.to_string()))
    }
}

/// `text` as one shell word: bare when it is only safe characters, else in single quotes.
pub fn shell_word(text: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "/._-+:@%=,".contains(c);
    if !text.is_empty() && text.chars().all(safe) {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::change::Kind;

    pub fn change(
        id: &str,
        kind: Kind,
        category: &str,
        before: Option<i64>,
        after: Option<i64>,
        status: Status,
        reason: Option<&str>,
    ) -> Change {
        Change {
            id: id.into(),
            name: Some(format!("Name {id}")),
            category: Some(category.into()),
            kind,
            before,
            after,
            status,
            reason: reason.map(str::to_owned),
        }
    }

    pub fn sample(dry_run: bool) -> ChangeReport {
        let set = if dry_run {
            Status::Planned
        } else {
            Status::Updated
        };
        let changes = vec![
            change("a-1", Kind::Standard, "CRM", Some(5), Some(30), set, None),
            change("a-2", Kind::Standard, "CRM", None, Some(30), set, None),
            change(
                "a-3",
                Kind::Function,
                "Scoring",
                Some(10),
                Some(15),
                set,
                None,
            ),
            change(
                "a-4",
                Kind::Standard,
                "CRM",
                Some(30),
                Some(30),
                Status::Unchanged,
                None,
            ),
            change(
                "s-1",
                Kind::Static,
                "Built-in",
                None,
                None,
                Status::Skipped,
                Some("built-in (static) action: the platform does not allow changing it"),
            ),
            change(
                "a-5",
                Kind::Standard,
                "Billing | <Ops>",
                None,
                None,
                Status::Skipped,
                Some("no timeout set: left alone; add `--include-unset` to set it too"),
            ),
        ];
        let context = Context {
            org: "eu-west-1 (https://api.mypurecloud.ie/)".into(),
            client_id: Some("client-7".into()),
            generated: Timestamp::from_second(1_795_906_140).unwrap(),
            run_id: "20261128T224900Z-3f9a".into(),
            dry_run,
            command: "dactl --region eu-west-1 run raise.rhai --arg target=30".into(),
            journal: (!dry_run).then(|| PathBuf::from("/state/dactl/journal/run 1.jsonl")),
            undo: (!dry_run)
                .then(|| "dactl --region eu-west-1 undo '/state/dactl/journal/run 1.jsonl'".into()),
            apply: dry_run.then(|| "dactl apply plan.json".into()),
            read_back: (!dry_run).then_some(true),
        };
        ChangeReport::new(context, changes)
    }

    #[test]
    fn formats_are_chosen_by_extension_and_others_are_named() {
        assert_eq!(Format::of(Path::new("a/b.md")), Ok(Format::Markdown));
        assert_eq!(Format::of(Path::new("B.HTML")), Ok(Format::Html));
        let error = Format::of(Path::new("change.pdf")).unwrap_err();
        for part in ["`.pdf`", "`.md`", "`.html`", "`--report change.pdf`"] {
            assert!(error.contains(part), "{part}: {error}");
        }
        assert!(
            Format::of(Path::new("report"))
                .unwrap_err()
                .contains("no extension")
        );
    }

    #[test]
    fn counts_rows_and_histogram_follow_the_changes() {
        let report = sample(true);
        assert_eq!(report.counts_text(), "1 unchanged, 3 planned, 2 skipped");
        let rows: Vec<&str> = report.rows().iter().map(|c| c.id.as_str()).collect();
        assert_eq!(rows, ["a-1", "a-2", "a-3"]);
        let left: Vec<(&str, usize)> = report
            .left_alone()
            .iter()
            .map(|(c, n)| (c.id.as_str(), *n))
            .collect();
        assert_eq!(left, [("s-1", 1), ("a-5", 2)]);
        let kinds: Vec<(String, usize)> = report
            .by_kind()
            .into_iter()
            .map(|t| (t.name, t.total))
            .collect();
        assert_eq!(
            kinds,
            [
                ("function".into(), 1),
                ("standard".into(), 4),
                ("static".into(), 1)
            ]
        );
        let categories: Vec<String> = report.by_category().into_iter().map(|t| t.name).collect();
        assert_eq!(
            categories,
            ["Billing | <Ops>", "Built-in", "CRM", "Scoring"]
        );
        // The static action takes no timeout and is not counted; the unset standard one is.
        let h = report.histogram();
        assert_eq!(h.before.iter().sum::<usize>(), 5);
        assert_eq!(
            (h.before[0], h.before[5], h.before[10], h.before[30]),
            (2, 1, 1, 1)
        );
        assert_eq!((h.after[0], h.after[15], h.after[30]), (1, 1, 3));
        assert_eq!(h.used(), [0, 5, 10, 15, 30]);
        assert_eq!(h.max(), 3);
        assert!(
            report
                .outcome()
                .starts_with("Dry run: nothing was written. 3 actions")
        );
    }

    #[test]
    fn an_unwritable_report_names_its_path_and_the_journal() {
        let report = sample(false);
        let path = std::env::temp_dir()
            .join(format!("dactl-no-such-dir-{}", fastrand::u32(..)))
            .join("r.md");
        let error = report.write(&path).unwrap_err().to_string();
        assert!(error.contains(&format!("`{}`", path.display())), "{error}");
        assert!(
            error.contains("/state/dactl/journal/run 1.jsonl"),
            "{error}"
        );
    }

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_word("/tmp/run.jsonl"), "/tmp/run.jsonl");
        assert_eq!(shell_word("/tmp/my run.jsonl"), "'/tmp/my run.jsonl'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word(""), "''");
    }
}
