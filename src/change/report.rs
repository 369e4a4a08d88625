//! The end-of-run report: counts by status, the reasons behind skipped and failed changes, and
//! (for a dry run) the plan itself.

use std::collections::BTreeMap;
use std::fmt;

use super::{Change, Status};

/// What a run did, ready to print.
pub struct Report<'a> {
    pub changes: &'a [Change],
}

impl Report<'_> {
    fn count(&self, status: Status) -> usize {
        self.changes.iter().filter(|c| c.status == status).count()
    }

    /// Changes that make the run fail: failed, and not attempted.
    pub fn failed(&self) -> usize {
        self.changes
            .iter()
            .filter(|c| c.status.is_failure())
            .count()
    }

    /// Reasons and how many changes each, for one status.
    fn reasons(&self, status: Status) -> BTreeMap<&str, usize> {
        let mut reasons = BTreeMap::new();
        for change in self.changes.iter().filter(|c| c.status == status) {
            *reasons
                .entry(change.reason.as_deref().unwrap_or("no reason given"))
                .or_default() += 1;
        }
        reasons
    }
}

impl Report<'_> {
    /// The report as JSON: every change, the counts by status, and the journal.
    pub fn to_json(&self, journal: Option<&std::path::Path>) -> serde_json::Value {
        let changes: Vec<serde_json::Value> = self.changes.iter().map(Change::to_json).collect();
        let counts: serde_json::Map<String, serde_json::Value> = Status::ALL
            .into_iter()
            .map(|s| (s.as_str().to_owned(), self.count(s).into()))
            .collect();
        serde_json::json!({
            "changes": changes,
            "counts": counts,
            "journal": journal.map(|p| p.display().to_string()),
        })
    }
}

fn seconds(value: Option<i64>) -> String {
    value.map_or_else(|| "unset".to_owned(), |s| format!("{s} s"))
}

/// Aligned columns under a header row.
fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}", w = *w))
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    let mut out = vec![line(headers.to_vec())];
    out.extend(
        rows.iter()
            .map(|r| line(r.iter().map(String::as_str).collect())),
    );
    out.join("\n")
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A plan (dry run): what would change, then what is left alone and why.
        let planned: Vec<Vec<String>> = self
            .changes
            .iter()
            .filter(|c| c.status == Status::Planned)
            .map(|c| {
                vec![
                    c.id.clone(),
                    c.name.clone().unwrap_or_default(),
                    c.kind.as_str().to_owned(),
                    format!("{} -> {}", seconds(c.before), seconds(c.after)),
                ]
            })
            .collect();
        if !planned.is_empty() {
            writeln!(f, "plan:")?;
            writeln!(f, "{}", table(&["id", "name", "kind", "change"], &planned))?;
            let skipped: Vec<Vec<String>> = self
                .changes
                .iter()
                .filter(|c| matches!(c.status, Status::Skipped) || c.status.is_failure())
                .map(|c| {
                    vec![
                        c.id.clone(),
                        c.name.clone().unwrap_or_default(),
                        c.kind.as_str().to_owned(),
                        format!(
                            "{}: {}",
                            c.status.as_str(),
                            c.reason.as_deref().unwrap_or("no reason given")
                        ),
                    ]
                })
                .collect();
            if !skipped.is_empty() {
                writeln!(f, "not in the plan:")?;
                writeln!(f, "{}", table(&["id", "name", "kind", "why"], &skipped))?;
            }
        }
        let counts: Vec<String> = Status::ALL
            .into_iter()
            .map(|s| (s, self.count(s)))
            .filter(|(_, n)| *n > 0)
            .map(|(s, n)| format!("{n} {}", s.as_str()))
            .collect();
        let actions = if self.changes.len() == 1 {
            "action"
        } else {
            "actions"
        };
        write!(
            f,
            "{} {actions}: {}",
            self.changes.len(),
            if counts.is_empty() {
                "none".into()
            } else {
                counts.join(", ")
            }
        )?;
        for status in [Status::Skipped, Status::Failed, Status::NotAttempted] {
            for (reason, n) in self.reasons(status) {
                write!(f, "\n  {} {n}: {reason}", status.as_str())?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::Kind;

    fn change(id: &str, status: Status, reason: Option<&str>) -> Change {
        Change {
            id: id.into(),
            name: Some(format!("name {id}")),
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
        let text = report.to_string();
        assert!(
            text.starts_with("4 actions: 1 updated, 2 skipped, 1 failed"),
            "{text}"
        );
        assert!(text.contains("skipped 2: built-in"), "{text}");
        assert!(text.contains("failed 1: boom"), "{text}");
    }

    #[test]
    fn a_plan_lists_each_planned_change() {
        let changes = [change("a", Status::Planned, None)];
        let text = Report { changes: &changes }.to_string();
        assert!(
            text.starts_with("plan:\nid  name    kind      change\n"),
            "{text}"
        );
        assert!(
            text.contains("\na   name a  standard  5 s -> 30 s\n"),
            "{text}"
        );
        assert!(text.ends_with("1 action: 1 planned"), "{text}");
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
        assert_eq!(json["changes"][1]["reason"], "built-in");
        assert_eq!(json["changes"][0]["after"], 30);
        assert!(json["journal"].is_null());
    }
}
