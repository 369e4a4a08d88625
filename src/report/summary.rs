//! The end-of-run report on stderr, and the same as JSON (`--json`): a table of the actions with a
//! short status each, the counts by status, then each reason once.
//!
//! ```text
//! id     name          kind      timeout      status
//! a-1    Lookup order  standard  5 s -> 30 s  planned
//! s-1    Built-in      static    unset        skipped (2)
//! b-2    Get customer  standard  10 s         failed (1)
//! 3 actions: 1 planned, 1 skipped, 1 failed
//! (1)  1  failed   Genesys Cloud answered 403 `missing.any.permissions`: ...
//!                  fix: The OAuth client's role lacks the permission `integrations:action:edit`; ...
//! (2)  1  skipped  built-in (static) action: the platform does not allow changing it
//! ```
//!
//! On a terminal the table stops after `TERMINAL_ROWS` rows, saying how many more and where to
//! see them (`-v`, `--json`, `--report FILE`); into a pipe or a file every row is written.

use std::collections::BTreeMap;

use super::reasons::{self, Grouped};
use crate::change::{Change, Kind, Status};
use crate::output::table::{self, Align, Layout};
use crate::output::{Printer, Stream};

/// Rows of the per-action table shown on a terminal (without `-v`).
pub const TERMINAL_ROWS: usize = 40;

/// What a run did, ready to print.
pub struct Report<'a> {
    pub changes: &'a [Change],
}

/// `5 s`, or `unset (60 s)`: unset says what it means for an action of this kind.
pub fn seconds(value: Option<i64>, kind: Kind) -> String {
    value.map_or_else(
        || format!("unset ({} s)", kind.unset_seconds()),
        |s| format!("{s} s"),
    )
}

/// Whether a change of this status set (or, in a dry run, would set) its timeout: the changes
/// the before → after tables list. Every other status left the action as it was.
pub fn sets_timeout(status: Status) -> bool {
    matches!(status, Status::Updated | Status::Planned)
}

impl Report<'_> {
    /// Changes that make the run fail: failed, and not attempted.
    pub fn failed(&self) -> usize {
        self.changes
            .iter()
            .filter(|c| c.status.is_failure())
            .count()
    }

    /// How many changes have each status, for the statuses that occur, in `Status` order.
    pub fn counts(&self) -> BTreeMap<Status, usize> {
        let mut counts = BTreeMap::new();
        for change in self.changes {
            *counts.entry(change.status).or_default() += 1;
        }
        counts
    }

    /// The changes' reasons, grouped (see `reasons`).
    pub fn grouped(&self) -> Grouped {
        reasons::group(
            self.changes
                .iter()
                .map(|c| (c.id.as_str(), c.status.as_str(), c.reason.as_deref())),
        )
    }

    /// The report as JSON: every change, the counts by status, and the journal.
    pub fn to_json(&self, journal: Option<&std::path::Path>) -> serde_json::Value {
        let changes: Vec<serde_json::Value> = self.changes.iter().map(Change::to_json).collect();
        // Every status, at 0 when no change has it.
        let mut counts: BTreeMap<Status, usize> = Status::ALL.iter().map(|s| (*s, 0)).collect();
        counts.extend(self.counts());
        let counts: serde_json::Map<String, serde_json::Value> = counts
            .into_iter()
            .map(|(s, n)| (s.as_str().to_owned(), n.into()))
            .collect();
        serde_json::json!({
            "changes": changes,
            "counts": counts,
            "journal": journal.map(|p| p.display().to_string()),
        })
    }

    /// The report for stderr as `printer` prints it: wrapped to a terminal, at most
    /// `TERMINAL_ROWS` rows there unless `-v`; whole into a pipe or a file.
    pub fn render(&self, printer: &Printer) -> String {
        let layout = printer.layout(Stream::Stderr);
        let layout = if printer.verbose() {
            layout
        } else {
            layout.capped(TERMINAL_ROWS)
        };
        let more = if printer.json {
            "every row is in the JSON on stdout"
        } else {
            "`-v`, `--json` or `--report FILE` show every row"
        };
        self.text(layout, more)
    }

    /// The report laid out for `layout`; `more` says how to see rows the layout leaves out.
    pub fn text(&self, layout: Layout, more: &str) -> String {
        let grouped = self.grouped();
        let rows: Vec<Vec<String>> = self
            .changes
            .iter()
            .enumerate()
            .map(|(index, c)| {
                let timeout = if sets_timeout(c.status) {
                    format!(
                        "{} -> {}",
                        seconds(c.before, c.kind),
                        seconds(c.after, c.kind)
                    )
                } else {
                    seconds(c.before, c.kind)
                };
                vec![
                    c.id.clone(),
                    c.name.clone().unwrap_or_default(),
                    c.kind.as_str().to_owned(),
                    timeout,
                    grouped.label(index, c.status.as_str()),
                ]
            })
            .collect();
        let mut out = Vec::new();
        if !rows.is_empty() {
            let table = table::render(&["id", "name", "kind", "timeout", "status"], &rows, layout);
            out.push(table.text);
            if table.hidden > 0 {
                out.push(format!("({} more: {more})", table.hidden));
            }
        }
        let counts: Vec<String> = self
            .counts()
            .into_iter()
            .map(|(s, n)| format!("{n} {}", s.as_str()))
            .collect();
        let actions = if self.changes.len() == 1 {
            "action"
        } else {
            "actions"
        };
        out.push(format!(
            "{} {actions}: {}",
            self.changes.len(),
            if counts.is_empty() {
                "none".into()
            } else {
                counts.join(", ")
            }
        ));
        let reasons = grouped.rows();
        if !reasons.is_empty() {
            let layout = Layout {
                max_rows: None,
                ..layout
            };
            let aligned = [Align::Left, Align::Right];
            out.push(table::render_aligned(&[], &reasons, &aligned, layout).text);
        }
        out.join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::Kind;
    use crate::output::{Terminal, Verbosity};

    fn change(id: &str, status: Status, reason: Option<&str>) -> Change {
        Change {
            id: id.into(),
            name: Some(format!("name {id}")),
            category: Some("CRM".into()),
            kind: Kind::Standard,
            before: Some(5),
            after: Some(30),
            status,
            reason: reason.map(str::to_owned),
        }
    }

    #[test]
    fn counts_and_groups_reasons() {
        let changes = [
            change("a", Status::Updated, None),
            change("b", Status::Skipped, Some("built-in")),
            change("c", Status::Skipped, Some("built-in")),
            change("d", Status::Failed, Some("boom")),
        ];
        let report = Report { changes: &changes };
        assert_eq!(report.failed(), 1);
        let text = report.text(Layout::default(), "");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0].split_whitespace().collect::<Vec<_>>(),
            ["id", "name", "kind", "timeout", "status"]
        );
        assert!(
            lines[1].starts_with("a  ") && lines[1].ends_with("5 s -> 30 s  updated"),
            "{text}"
        );
        assert!(lines[2].ends_with("5 s          skipped (1)"), "{text}");
        assert!(lines[4].ends_with("failed (2)"), "{text}");
        assert_eq!(lines[5], "4 actions: 1 updated, 2 skipped, 1 failed");
        assert_eq!(lines[6], "(1)  2  skipped  built-in");
        assert_eq!(lines[7], "(2)  1  failed   boom");
        assert_eq!(lines.len(), 8, "{text}");
    }

    #[test]
    fn a_plan_lists_each_planned_change() {
        let changes = [change("a", Status::Planned, None)];
        let text = Report { changes: &changes }.text(Layout::default(), "");
        assert_eq!(
            text,
            "id  name    kind      timeout      status\n\
             a   name a  standard  5 s -> 30 s  planned\n\
             1 action: 1 planned"
        );
    }

    /// The same API error for many actions: said once, with its count and fix; rows stay short.
    #[test]
    fn one_api_error_for_many_actions_is_one_line_and_short_rows() {
        let reasons: Vec<String> = (0..50)
            .map(|n| {
                crate::genesys::Error::Api {
                    status: 403,
                    code: "missing.any.permissions".into(),
                    message: "Unable to perform the requested action. You must have at least one \
                              of the following permissions assigned: [integrations:action:edit]"
                        .into(),
                    correlation_id: Some(format!("corr-{n}")),
                    action_id: Some(format!("act-{n}")),
                }
                .to_string()
            })
            .collect();
        let changes: Vec<Change> = reasons
            .iter()
            .enumerate()
            .map(|(n, r)| change(&format!("act-{n}"), Status::Failed, Some(r)))
            .collect();
        let text = Report { changes: &changes }.text(Layout::default(), "");
        let naming: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("Unable to perform"))
            .collect();
        assert_eq!(naming.len(), 1, "{text}");
        assert!(
            naming[0].starts_with("(1)  50  failed  Genesys Cloud answered 403"),
            "{}",
            naming[0]
        );
        let fix: Vec<&str> = text.lines().filter(|l| l.contains("fix: ")).collect();
        assert_eq!(fix.len(), 1, "{text}");
        assert!(fix[0].contains("`integrations:action:edit`"), "{text}");
        for row in text.lines().skip(1).take(50) {
            assert!(row.ends_with("failed (1)") && row.len() < 60, "{row}");
        }
    }

    fn printer(verbosity: Verbosity, stderr: Option<u16>, json: bool) -> Printer {
        Printer {
            verbosity,
            json,
            terminal: Terminal {
                stdout: None,
                stderr,
            },
        }
    }

    /// The row cap, through the printer: on a terminal only, and not with `-v`.
    #[test]
    fn a_terminal_shows_at_most_forty_rows_unless_verbose() {
        let changes: Vec<Change> = (0..100)
            .map(|n| change(&format!("a{n}"), Status::Updated, None))
            .collect();
        let report = Report { changes: &changes };
        let rows = |text: &str| text.lines().filter(|l| l.starts_with('a')).count();

        let terminal = report.render(&printer(Verbosity::Normal, Some(120), false));
        assert_eq!(rows(&terminal), TERMINAL_ROWS, "{terminal}");
        assert!(
            terminal.contains("\n(60 more: `-v`, `--json` or `--report FILE` show every row)\n"),
            "{terminal}"
        );
        assert!(terminal.ends_with("100 actions: 100 updated"), "{terminal}");
        let json = report.render(&printer(Verbosity::Normal, Some(120), true));
        assert!(
            json.contains("(60 more: every row is in the JSON on stdout)"),
            "{json}"
        );

        for (what, printer) in [
            ("piped", printer(Verbosity::Normal, None, false)),
            ("verbose", printer(Verbosity::Verbose(1), Some(120), false)),
        ] {
            let text = report.render(&printer);
            assert_eq!(rows(&text), 100, "{what}");
            assert!(!text.contains("more:"), "{what}: {text}");
        }
    }

    #[test]
    fn json_has_every_change_and_the_counts() {
        let changes = [
            change("a", Status::Updated, None),
            change("b", Status::Skipped, Some("built-in")),
        ];
        let json = Report { changes: &changes }.to_json(None);
        assert_eq!(json["counts"]["updated"], 1);
        assert_eq!(json["counts"]["skipped"], 1);
        assert_eq!(json["counts"]["failed"], 0);
        assert_eq!(json["changes"][1]["reason"], "built-in");
        assert_eq!(json["changes"][0]["after"], 30);
        assert_eq!(json["changes"][0]["category"], "CRM");
        assert!(json["journal"].is_null());
    }
}
