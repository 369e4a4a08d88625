//! A `ChangeReport` as one self-contained HTML page: inline CSS, the histogram as inline SVG, no
//! script, no font, image or style sheet fetched; it opens offline, prints, and can be attached
//! to a ticket as it is. Every value from the run is escaped.

use std::fmt::Write;

use super::document::{ChangeReport, Histogram, Tally};
use super::summary::seconds;
use crate::change::Status;

const STYLE: &str = r#"
:root { --ink: #1f2933; --muted: #616e7c; --line: #e4e7eb; --soft: #f5f7fa; --accent: #0b6e79;
  --before: #9aa5b1; --after: #0b6e79; --ok: #1d7a46; --warn: #9a6700; --bad: #b42318; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--soft); color: var(--ink);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 32px 28px 48px; }
header { border-bottom: 3px solid var(--accent); padding-bottom: 16px; margin-bottom: 24px; }
.eyebrow { margin: 0; color: var(--accent); font-size: 12px; font-weight: 600; letter-spacing: .08em;
  text-transform: uppercase; }
h1 { margin: 4px 0 6px; font-size: 28px; font-weight: 650; }
h2 { margin: 0 0 12px; font-size: 18px; font-weight: 650; }
h3 { margin: 16px 0 8px; font-size: 14px; font-weight: 600; color: var(--muted); }
.lede { margin: 0; font-size: 16px; color: var(--muted); }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 20px 22px;
  margin: 0 0 20px; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: 6px 20px; margin: 0; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; overflow-wrap: anywhere; }
code { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: var(--soft);
  border: 1px solid var(--line); border-radius: 4px; padding: 1px 5px; }
pre { margin: 8px 0 0; padding: 12px 14px; background: #102a43; color: #f0f4f8; border-radius: 6px;
  overflow-x: auto; }
pre code { background: none; border: 0; padding: 0; color: inherit; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; padding: 0; background: none; border: 0; }
.card { flex: 1 1 140px; background: #fff; border: 1px solid var(--line); border-radius: 8px;
  padding: 14px 16px; border-top: 4px solid var(--before); }
.card .n { display: block; font-size: 30px; font-weight: 650; line-height: 1.1; }
.card .l { color: var(--muted); font-size: 13px; }
.card.updated, .card.planned { border-top-color: var(--ok); }
.card.skipped { border-top-color: var(--warn); }
.card.failed { border-top-color: var(--bad); }
table { width: 100%; border-collapse: collapse; font-size: 14px; }
th { text-align: left; font-weight: 600; color: var(--muted); border-bottom: 2px solid var(--line);
  padding: 6px 10px; white-space: nowrap; }
td { padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
tbody tr:nth-child(even) { background: #fafbfc; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.id { white-space: nowrap; }
td.id code { font-size: 12px; }
table.tally { width: auto; min-width: 50%; margin-bottom: 8px; }
.arrow { color: var(--muted); }
.pill { display: inline-block; padding: 0 8px; border-radius: 999px; font-size: 12px; font-weight: 600;
  background: var(--soft); color: var(--muted); border: 1px solid var(--line); white-space: nowrap; }
.pill.updated, .pill.planned { background: #e3f4ea; color: var(--ok); border-color: #b7e1c6; }
.pill.skipped { background: #fdf3dc; color: var(--warn); border-color: #f1d99a; }
.pill.failed { background: #fde8e6; color: var(--bad); border-color: #f5c2bd; }
ol.reasons { margin: 0 0 16px; padding-left: 22px; }
ol.reasons li { margin: 0 0 10px; }
.fix { margin: 2px 0 0; color: var(--muted); }
.legend { display: flex; gap: 18px; font-size: 13px; color: var(--muted); margin: 0 0 6px; }
.swatch { display: inline-block; width: 11px; height: 11px; border-radius: 2px; margin-right: 6px;
  vertical-align: -1px; }
.note { color: var(--muted); font-size: 13px; margin: 8px 0 0; }
svg { display: block; width: 100%; height: auto; }
svg text { font: 11px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: #616e7c; }
footer { color: var(--muted); font-size: 12px; text-align: center; margin-top: 28px; }
@media (max-width: 760px) { main { padding: 20px 12px; } td.id { white-space: normal; } }
@media print { body { background: #fff; } section { break-inside: avoid; border-color: #ccc; } }
"#;

/// `value` safe as HTML text or a quoted attribute.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A reason as HTML: its `code` spans (dactl marks flags and values so) kept as code.
fn prose(value: &str) -> String {
    let mut out = String::new();
    for (n, part) in value.split('`').enumerate() {
        if n % 2 == 1 {
            let _ = write!(out, "<code>{}</code>", escape(part));
        } else {
            out.push_str(&escape(part));
        }
    }
    out
}

/// A CSS class for a status: its name with anything but letters turned into `-`.
fn class(status: &str) -> String {
    status
        .chars()
        .map(|c| if c.is_ascii_alphabetic() { c } else { '-' })
        .collect()
}

fn pill(status: &str, label: &str) -> String {
    format!(
        r#"<span class="pill {}">{}</span>"#,
        class(status),
        escape(label)
    )
}

fn fact(out: &mut String, name: &str, value_html: &str) {
    let _ = write!(out, "<dt>{name}</dt><dd>{value_html}</dd>");
}

fn code(value: &str) -> String {
    format!("<code>{}</code>", escape(value))
}

fn tally_table(out: &mut String, what: &str, tallies: &[Tally], statuses: &[Status]) {
    let _ = write!(
        out,
        r#"<table class="tally"><thead><tr><th>{what}</th><th class="num">actions</th>"#
    );
    for status in statuses {
        let _ = write!(out, r#"<th class="num">{}</th>"#, escape(status.as_str()));
    }
    out.push_str("</tr></thead><tbody>");
    for tally in tallies {
        let _ = write!(
            out,
            r#"<tr><td>{}</td><td class="num">{}</td>"#,
            escape(&tally.name),
            tally.total
        );
        for status in statuses {
            let n = tally
                .by_status
                .get(status)
                .map(usize::to_string)
                .unwrap_or_default();
            let _ = write!(out, r#"<td class="num">{n}</td>"#);
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
}

/// The histogram as an SVG bar chart: one pair of bars (before, after) per timeout, unset first
/// and set apart by a dashed line; each bar has a `<title>` a browser shows on hover.
pub fn histogram_svg(histogram: &Histogram) -> String {
    let (width, height) = (1040.0_f64, 300.0_f64);
    let (left, right, top, bottom) = (44.0, 12.0, 14.0, 44.0);
    let buckets = histogram.before.len();
    let plot_width = width - left - right;
    let plot_height = height - top - bottom;
    let slot = plot_width / buckets as f64;
    let bar = (slot - 3.0) / 2.0;
    let max = histogram.max();
    // Gridlines at round counts: 4 steps, each a whole number.
    let step = max.div_ceil(4).max(1);
    let top_value = step * 4;
    let y = |count: usize| top + plot_height * (1.0 - count as f64 / top_value as f64);
    let mut svg = format!(
        r#"<svg viewBox="0 0 {width} {height}" role="img" aria-labelledby="histogram-title"><title id="histogram-title">Timeouts before and after, actions per timeout</title>"#
    );
    for n in 0..=4 {
        let value = step * n;
        let at = y(value);
        let _ = write!(
            svg,
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{at:.1}\" y2=\"{at:.1}\" stroke=\"{}\" stroke-width=\"1\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{value}</text>",
            width - right,
            if n == 0 { "#9aa5b1" } else { "#e4e7eb" },
            left - 6.0,
            at + 4.0
        );
    }
    let _ = write!(
        svg,
        "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{top}\" y2=\"{:.1}\" stroke=\"#cbd2d9\" stroke-dasharray=\"3 3\"/>",
        top + plot_height,
        x = left + slot
    );
    for index in 0..buckets {
        let x = left + slot * index as f64 + 1.5;
        let label = Histogram::label(index);
        for (series, count, color, offset) in [
            ("before", histogram.before[index], "#9aa5b1", 0.0),
            ("after", histogram.after[index], "#0b6e79", bar),
        ] {
            if count == 0 {
                continue;
            }
            let top_of_bar = y(count);
            let _ = write!(
                svg,
                "<rect class=\"{series}\" x=\"{:.1}\" y=\"{top_of_bar:.1}\" width=\"{bar:.1}\" height=\"{:.1}\" fill=\"{color}\" rx=\"1\"><title>{label}: {count} {series}</title></rect>",
                x + offset,
                top + plot_height - top_of_bar
            );
        }
        let labelled = index == 0 || index % 5 == 0;
        if labelled {
            let _ = write!(
                svg,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                x + bar,
                top + plot_height + 16.0,
                if index == 0 {
                    "unset".to_owned()
                } else {
                    index.to_string()
                }
            );
        }
    }
    let _ = write!(
        svg,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">timeout (seconds)</text></svg>",
        left + plot_width / 2.0,
        height - 6.0
    );
    svg
}

/// The report as one HTML page.
pub fn render(report: &ChangeReport) -> String {
    let context = &report.context;
    let title = report.title();
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title} · {}</title><style>{STYLE}</style></head><body><main>",
        escape(&report.when())
    );
    let _ = write!(
        out,
        "<header><p class=\"eyebrow\">dactl · Genesys Cloud Data Actions</p><h1>{title}</h1><p class=\"lede\">{}</p></header>",
        escape(&report.outcome())
    );

    out.push_str("<section><h2>Run</h2><dl class=\"facts\">");
    fact(&mut out, "Org", &escape(&context.org));
    fact(&mut out, "When", &escape(&report.when()));
    let who = match &context.client_id {
        Some(id) => format!("OAuth client {}", code(id)),
        None => escape(&report.who()),
    };
    fact(&mut out, "Who", &who);
    fact(&mut out, "Command", &code(&context.command));
    fact(&mut out, "Run id", &code(&context.run_id));
    let journal = match &context.journal {
        Some(path) => code(&path.display().to_string()),
        None => "none (nothing was written)".into(),
    };
    fact(&mut out, "Journal", &journal);
    if let Some(undo) = &context.undo {
        fact(&mut out, "Undo", &code(undo));
    }
    if let Some(apply) = &context.apply {
        fact(&mut out, "Apply", &code(apply));
    }
    out.push_str("</dl></section>");

    let counts = report.counts();
    out.push_str("<section class=\"cards\">");
    let _ = write!(
        out,
        "<div class=\"card\"><span class=\"n\">{}</span><span class=\"l\">actions</span></div>",
        report.changes.len()
    );
    for (status, n) in &counts {
        let _ = write!(
            out,
            "<div class=\"card {}\"><span class=\"n\">{n}</span><span class=\"l\">{}</span></div>",
            class(status.as_str()),
            escape(status.as_str())
        );
    }
    out.push_str("</section>");

    let histogram = report.histogram();
    out.push_str("<section><h2>Timeouts before and after</h2>");
    out.push_str(
        "<p class=\"legend\"><span><span class=\"swatch\" style=\"background:#9aa5b1\"></span>before</span><span><span class=\"swatch\" style=\"background:#0b6e79\"></span>after</span></p>",
    );
    out.push_str(&histogram_svg(&histogram));
    let _ = write!(
        out,
        "<p class=\"note\">Actions that take a timeout ({}), by timeout in seconds; <em>unset</em>: none set, the platform's default applies. Built-in and custom authentication actions take none.</p></section>",
        histogram.before.iter().sum::<usize>()
    );

    let statuses: Vec<Status> = counts.keys().copied().collect();
    out.push_str("<section><h2>Counts</h2><h3>By kind</h3>");
    tally_table(&mut out, "kind", &report.by_kind(), &statuses);
    out.push_str("<h3>By category</h3>");
    tally_table(&mut out, "category", &report.by_category(), &statuses);
    out.push_str("</section>");

    let rows = report.rows();
    let _ = write!(out, "<section><h2>Changes ({})</h2>", rows.len());
    if rows.is_empty() {
        out.push_str("<p>No timeout changes.</p>");
    } else {
        let evidence = !report.evidence.is_empty();
        out.push_str("<table id=\"changes\"><thead><tr><th>action</th><th>name</th><th>category</th><th>kind</th><th class=\"num\">before</th><th></th><th class=\"num\">after</th><th>status</th>");
        out.push_str(if evidence {
            "<th>evidence</th></tr></thead><tbody>"
        } else {
            "</tr></thead><tbody>"
        });
        for change in rows {
            let _ = write!(
                out,
                "<tr data-id=\"{id}\"><td class=\"id\"><code>{id}</code></td><td>{}</td><td>{}</td><td>{}</td><td class=\"num before\">{}</td><td class=\"arrow\">→</td><td class=\"num after\">{}</td><td>{}</td>",
                escape(change.name.as_deref().unwrap_or("")),
                escape(change.category.as_deref().unwrap_or("")),
                change.kind.as_str(),
                seconds(change.before, change.kind),
                seconds(change.after, change.kind),
                pill(change.status.as_str(), change.status.as_str()),
                id = escape(&change.id),
            );
            if evidence {
                let _ = write!(out, "<td>{}</td>", escape(report.evidence_of(&change.id)));
            }
            out.push_str("</tr>");
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</section>");

    let left = report.left_alone();
    let grouped = report.reasons();
    let _ = write!(out, "<section><h2>Not changed ({})</h2>", left.len());
    let unchanged = report.unchanged();
    if unchanged > 0 {
        let _ = write!(
            out,
            "<p>{unchanged} {} already had the timeout asked for (no request sent).</p>",
            if unchanged == 1 { "action" } else { "actions" }
        );
    }
    if left.is_empty() {
        out.push_str("<p>No action was skipped or failed.</p>");
    } else {
        out.push_str("<ol class=\"reasons\">");
        for group in &grouped.groups {
            let _ = write!(
                out,
                "<li><strong>{}</strong> {} {}",
                group.count,
                pill(&group.status, &group.status),
                prose(&group.reason)
            );
            if let Some(fix) = &group.fix {
                let _ = write!(out, "<p class=\"fix\">Fix: {}</p>", prose(fix));
            }
            out.push_str("</li>");
        }
        out.push_str("</ol><table id=\"left-alone\"><thead><tr><th>action</th><th>name</th><th>category</th><th>kind</th><th class=\"num\">timeout</th><th>status</th></tr></thead><tbody>");
        for (change, group) in left {
            let _ = write!(
                out,
                "<tr data-id=\"{id}\"><td class=\"id\"><code>{id}</code></td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                escape(change.name.as_deref().unwrap_or("")),
                escape(change.category.as_deref().unwrap_or("")),
                change.kind.as_str(),
                seconds(change.before, change.kind),
                pill(
                    change.status.as_str(),
                    &format!("{} ({group})", change.status.as_str())
                ),
                id = escape(&change.id),
            );
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</section>");

    out.push_str("<section><h2>Undo</h2>");
    match &context.undo {
        Some(undo) => {
            let _ = write!(
                out,
                "<p>Every timeout this run changed goes back with:</p><pre><code>{}</code></pre>",
                escape(undo)
            );
        }
        None => out.push_str("<p>Nothing was written, so there is nothing to undo.</p>"),
    }
    out.push_str("</section>");
    let _ = writeln!(
        out,
        "<footer>Made by dactl {} at {} · run {}</footer></main></body></html>",
        env!("CARGO_PKG_VERSION"),
        escape(&report.when()),
        escape(&context.run_id)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::super::document::tests::{change, sample};
    use super::*;
    use crate::change::Kind;
    use scraper::{Html, Selector};

    fn select<'a>(page: &'a Html, css: &str) -> Vec<scraper::ElementRef<'a>> {
        page.select(&Selector::parse(css).unwrap()).collect()
    }

    fn cells(row: &scraper::ElementRef<'_>) -> Vec<String> {
        row.select(&Selector::parse("td").unwrap())
            .map(|td| td.text().collect::<String>())
            .collect()
    }

    #[test]
    fn the_change_rows_are_the_planned_changes_and_nothing_is_fetched() {
        let report = sample(true);
        let page = Html::parse_document(&render(&report));
        assert!(page.errors.is_empty(), "{:?}", page.errors);
        let rows: Vec<Vec<String>> = select(&page, "table#changes tbody tr")
            .iter()
            .map(cells)
            .collect();
        let expected: Vec<Vec<String>> = report
            .rows()
            .iter()
            .map(|c| {
                vec![
                    c.id.clone(),
                    c.name.clone().unwrap(),
                    c.category.clone().unwrap(),
                    c.kind.as_str().into(),
                    seconds(c.before, c.kind),
                    "→".into(),
                    seconds(c.after, c.kind),
                    "planned".into(),
                ]
            })
            .collect();
        assert_eq!(rows, expected);
        assert!(select(&page, "script").is_empty());
        assert!(select(&page, "[src], link, img, iframe, object, embed").is_empty());
        assert_eq!(select(&page, "svg").len(), 1);
        assert_eq!(select(&page, "style").len(), 1);
    }

    #[test]
    fn values_are_escaped_and_reasons_numbered() {
        let mut report = sample(false);
        report.changes.push(change(
            "x<script>",
            Kind::Standard,
            "<img src=x>",
            Some(5),
            None,
            Status::Failed,
            Some("a `<b>` thing"),
        ));
        let html = render(&report);
        assert!(
            !html.contains("<script>") && !html.contains("<img"),
            "{html}"
        );
        let page = Html::parse_document(&html);
        assert!(select(&page, "script, img").is_empty());
        let left: Vec<(String, String)> = select(&page, "table#left-alone tbody tr")
            .iter()
            .map(|r| {
                let c = cells(r);
                (c[0].clone(), c[5].clone())
            })
            .collect();
        assert_eq!(
            left,
            [
                ("s-1".into(), "skipped (1)".into()),
                ("a-5".into(), "skipped (2)".into()),
                ("x<script>".into(), "failed (3)".into())
            ]
        );
        let reasons: Vec<String> = select(&page, "ol.reasons li")
            .iter()
            .map(|li| li.text().collect())
            .collect();
        assert_eq!(reasons.len(), 3);
        assert!(reasons[2].contains("a <b> thing"), "{reasons:?}");
        let undo: String = select(&page, "pre code")[0].text().collect();
        assert_eq!(
            undo,
            "dactl --region eu-west-1 undo '/state/dactl/journal/run 1.jsonl'"
        );
    }

    #[test]
    fn the_histogram_has_a_bar_per_count_and_unset_apart() {
        let report = sample(false);
        let svg = histogram_svg(&report.histogram());
        let page = Html::parse_fragment(&svg);
        let titles: Vec<String> = select(&page, "rect title")
            .iter()
            .map(|t| t.text().collect())
            .collect();
        assert_eq!(
            titles,
            [
                "unset: 2 before",
                "unset: 1 after",
                "5 s: 1 before",
                "10 s: 1 before",
                "15 s: 1 after",
                "30 s: 1 before",
                "30 s: 3 after"
            ]
        );
    }
}
