//! A `ChangeReport` as Markdown (GitHub-flavoured: tables), for a ticket or a pull request. The
//! histogram is drawn with text bars, so it reads the same rendered or raw.

use std::fmt::Write;

use super::document::{ChangeReport, Histogram, Tally};
use super::summary::seconds;
use crate::change::Status;

/// The longest bar of the histogram, in characters.
const BAR: usize = 30;

/// Text for a table cell or a line: Markdown's own characters escaped, one line.
fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A code span for `value` (ids, paths, commands), safe in a table cell.
fn code(value: &str) -> String {
    let value = value.replace(['\n', '\r'], " ").replace('|', "\\|");
    if value.contains('`') {
        format!("`` {value} ``")
    } else {
        format!("`{value}`")
    }
}

/// A reason as prose: dactl's reasons already mark flags and values as code; only what could
/// become HTML is escaped.
fn prose(value: &str) -> String {
    value
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace(['\n', '\r'], " ")
}

/// `████ 4`: a bar scaled to the largest count, never empty for a count above 0.
fn bar(count: usize, max: usize) -> String {
    if count == 0 {
        return String::new();
    }
    let length = (count * BAR).div_ceil(max).max(1);
    format!("{} {count}", "█".repeat(length))
}

fn tally_table(out: &mut String, what: &str, tallies: &[Tally], statuses: &[Status]) {
    let _ = write!(out, "| {what} | actions |");
    for status in statuses {
        let _ = write!(out, " {} |", status.as_str());
    }
    out.push_str("\n|---|--:|");
    out.push_str(&"--:|".repeat(statuses.len()));
    out.push('\n');
    for tally in tallies {
        let _ = write!(out, "| {} | {} |", text(&tally.name), tally.total);
        for status in statuses {
            match tally.by_status.get(status) {
                Some(n) => {
                    let _ = write!(out, " {n} |");
                }
                None => out.push_str("  |"),
            }
        }
        out.push('\n');
    }
    out.push('\n');
}

fn histogram(out: &mut String, histogram: &Histogram) {
    let used = histogram.used();
    if used.is_empty() {
        out.push_str("No action here takes a timeout.\n\n");
        return;
    }
    let max = histogram.max();
    out.push_str("| timeout | before | after |\n|--:|---|---|\n");
    for index in used {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            Histogram::label(index),
            bar(histogram.before[index], max),
            bar(histogram.after[index], max)
        );
    }
    out.push('\n');
}

/// The report as Markdown.
pub fn render(report: &ChangeReport) -> String {
    let context = &report.context;
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", report.title());
    let _ = writeln!(out, "{}\n", report.outcome());
    let _ = writeln!(out, "- **Org:** {}", text(&context.org));
    let _ = writeln!(out, "- **When:** {}", report.when());
    match &context.client_id {
        Some(id) => {
            let _ = writeln!(out, "- **Who:** OAuth client {}", code(id));
        }
        None => {
            let _ = writeln!(out, "- **Who:** {}", report.who());
        }
    }
    let _ = writeln!(out, "- **Command:** {}", code(&context.command));
    let _ = writeln!(out, "- **Run id:** {}", code(&context.run_id));
    match &context.journal {
        Some(journal) => {
            let _ = writeln!(
                out,
                "- **Journal:** {}",
                code(&journal.display().to_string())
            );
        }
        None => out.push_str("- **Journal:** none (nothing was written)\n"),
    }
    if let Some(undo) = &context.undo {
        let _ = writeln!(out, "- **Undo:** {}", code(undo));
    }
    if let Some(apply) = &context.apply {
        let _ = writeln!(out, "- **Apply:** {}", code(apply));
    }
    out.push('\n');

    let counts = report.counts();
    let statuses: Vec<Status> = counts.keys().copied().collect();
    let total = report.changes.len();
    let _ = writeln!(out, "## Counts\n");
    let _ = writeln!(
        out,
        "{total} {}: {}.\n",
        if total == 1 { "action" } else { "actions" },
        report.counts_text()
    );
    tally_table(&mut out, "kind", &report.by_kind(), &statuses);
    tally_table(&mut out, "category", &report.by_category(), &statuses);

    let _ = writeln!(out, "## Timeouts before and after\n");
    out.push_str(
        "Actions that take a timeout, by timeout (`unset`: none set, the platform's default \
         applies).\n\n",
    );
    histogram(&mut out, &report.histogram());

    let rows = report.rows();
    let _ = writeln!(out, "## Changes ({})\n", rows.len());
    if rows.is_empty() {
        out.push_str("No timeout changes.\n\n");
    } else {
        let evidence = !report.evidence.is_empty();
        out.push_str("| action | name | category | kind | before | after | status |");
        out.push_str(if evidence { " evidence |\n" } else { "\n" });
        out.push_str("|---|---|---|---|--:|--:|---|");
        out.push_str(if evidence { "---|\n" } else { "\n" });
        for change in rows {
            let _ = write!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                code(&change.id),
                text(change.name.as_deref().unwrap_or("")),
                text(change.category.as_deref().unwrap_or("")),
                change.kind.as_str(),
                seconds(change.before, change.kind),
                seconds(change.after, change.kind),
                change.status.as_str()
            );
            if evidence {
                let _ = write!(out, " {} |", text(report.evidence_of(&change.id)));
            }
            out.push('\n');
        }
        out.push('\n');
    }

    let grouped = report.reasons();
    let left = report.left_alone();
    let _ = writeln!(out, "## Not changed ({})\n", left.len());
    let unchanged = report.unchanged();
    if unchanged > 0 {
        let _ = writeln!(
            out,
            "{unchanged} {} already had the timeout asked for (no request sent).\n",
            if unchanged == 1 { "action" } else { "actions" }
        );
    }
    if left.is_empty() {
        out.push_str("No action was skipped or failed.\n\n");
    } else {
        for (n, group) in grouped.groups.iter().enumerate() {
            let _ = writeln!(
                out,
                "{}. **{} {}**: {}",
                n + 1,
                group.count,
                group.status,
                prose(&group.reason)
            );
            if let Some(fix) = &group.fix {
                let _ = writeln!(out, "   Fix: {}", prose(fix));
            }
        }
        out.push_str("\n| action | name | category | kind | timeout | status |\n");
        out.push_str("|---|---|---|---|--:|---|\n");
        for (change, group) in left {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} ({group}) |",
                code(&change.id),
                text(change.name.as_deref().unwrap_or("")),
                text(change.category.as_deref().unwrap_or("")),
                change.kind.as_str(),
                seconds(change.before, change.kind),
                change.status.as_str()
            );
        }
        out.push('\n');
    }

    let _ = writeln!(out, "## Undo\n");
    match (&context.undo, context.dry_run) {
        (Some(undo), _) => {
            let _ = writeln!(
                out,
                "Every timeout this run changed goes back with:\n\n```sh\n{undo}\n```\n"
            );
        }
        (None, true) => out.push_str("Nothing was written, so there is nothing to undo.\n\n"),
        (None, false) => out.push_str("Nothing was written, so there is no journal to undo.\n\n"),
    }
    let _ = writeln!(
        out,
        "---\nMade by dactl {} at {} (run `{}`).",
        env!("CARGO_PKG_VERSION"),
        report.when(),
        context.run_id
    );
    out
}

#[cfg(test)]
mod tests {
    use super::super::document::tests::sample;
    use super::*;

    /// The cells of the table rows under a `## heading`, `|` split (escaped `\|` kept).
    pub fn table_rows(markdown: &str, heading: &str) -> Vec<Vec<String>> {
        let mut lines = markdown
            .lines()
            .skip_while(|l| !l.starts_with(heading))
            .skip(1)
            .skip_while(|l| !l.starts_with('|'))
            .take_while(|l| l.starts_with('|'));
        lines.next();
        lines.next();
        lines
            .map(|l| {
                let cells = l.trim().trim_matches('|').replace("\\|", "\u{0}");
                cells
                    .split('|')
                    .map(|c| c.trim().replace('\u{0}', "|"))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn the_change_rows_are_the_planned_changes() {
        let report = sample(true);
        let markdown = render(&report);
        let rows = table_rows(&markdown, "## Changes");
        let expected: Vec<Vec<String>> = report
            .rows()
            .iter()
            .map(|c| {
                vec![
                    format!("`{}`", c.id),
                    c.name.clone().unwrap(),
                    c.category.clone().unwrap(),
                    c.kind.as_str().into(),
                    seconds(c.before, c.kind),
                    seconds(c.after, c.kind),
                    "planned".into(),
                ]
            })
            .collect();
        assert_eq!(rows, expected, "{markdown}");
        // A plan says so, says how to apply it, and has no journal to undo.
        assert!(
            markdown.starts_with("# Data Action timeout change plan\n"),
            "{markdown}"
        );
        assert!(
            markdown.contains("- **Apply:** `dactl apply plan.json`"),
            "{markdown}"
        );
        assert!(markdown.contains("nothing to undo"), "{markdown}");
    }

    #[test]
    fn the_facts_the_histogram_and_the_reasons_are_there() {
        let report = sample(false);
        let markdown = render(&report);
        for part in [
            "- **Org:** eu-west-1 (https://api.mypurecloud.ie/)",
            "- **When:** 2026-11-28 22:49:00 UTC",
            "- **Who:** OAuth client `client-7`",
            "- **Journal:** `/state/dactl/journal/run 1.jsonl`",
            "```sh\ndactl --region eu-west-1 undo '/state/dactl/journal/run 1.jsonl'\n```",
            // Counts by kind, with a column per status that occurs.
            "| kind | actions | updated | unchanged | skipped |",
            "| standard | 4 | 2 | 1 | 1 |",
            // A category's own `|` and `<` cannot break the table or the page.
            "| Billing \\| &lt;Ops&gt; | 1 |  |  | 1 |",
            // Bars scaled to the largest count (3 actions at 30 s after).
            "| unset | ████████████████████ 2 | ██████████ 1 |",
            "| 30 s | ██████████ 1 | ██████████████████████████████ 3 |",
            "1. **1 skipped**: built-in (static) action",
        ] {
            assert!(markdown.contains(part), "{part} missing from:\n{markdown}");
        }
        let left = table_rows(&markdown, "## Not changed");
        let ids: Vec<(&str, &str)> = left
            .iter()
            .map(|r| (r[0].as_str(), r[5].as_str()))
            .collect();
        assert_eq!(ids, [("`s-1`", "skipped (1)"), ("`a-5`", "skipped (2)")]);
    }
}
