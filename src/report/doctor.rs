//! `dactl doctor`'s findings as a sectioned table, for a terminal or a bug report.

use std::fmt;

use crate::doctor::*;

/// Width of the table's text, indent and labels included.
const TABLE_WIDTH: usize = 100;

/// `label  value` lines, the labels padded to one width; long values are wrapped and a value's
/// later lines indented under its first.
fn section(out: &mut String, title: &str, rows: &[(&str, String)]) {
    out.push_str(title);
    out.push('\n');
    let width = rows
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    let room = TABLE_WIDTH.saturating_sub(width + 4).max(40);
    for (label, value) in rows {
        let lines: Vec<String> = value.lines().map(|line| wrap(line, room)).collect();
        let text = lines.join("\n");
        let mut lines = text.lines();
        let first = lines.next().unwrap_or_default();
        out.push_str(&format!("  {label:<width$}  {first}\n"));
        for line in lines {
            out.push_str(&format!("  {:<width$}  {line}\n", ""));
        }
    }
    out.push('\n');
}

/// `1 page`, `2 pages`.
/// Minutes as a person reads them: seconds under a minute (`22 s`), else minutes (`3.4 min`).
fn duration(minutes: f64) -> String {
    if minutes < 1.0 {
        format!("{:.0} s", (minutes * 60.0).ceil())
    } else {
        format!("{minutes:.1} min")
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn step_text<T>(step: &Step<T>, done: impl Fn(&T) -> String) -> String {
    match step {
        Step::Done(value) => done(value),
        Step::Failed { error } => format!("FAILED: {error}"),
        Step::Skipped { skipped } => skipped.clone(),
    }
}

impl fmt::Display for Findings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::from("dactl doctor: reads only; nothing was changed.\n\n");
        let c = &self.connection;
        section(
            &mut out,
            "Connection",
            &[
                (
                    "region",
                    c.region
                        .clone()
                        .unwrap_or_else(|| "none: a local base URL (a sandbox)".to_owned()),
                ),
                ("API host", c.api_host.clone()),
                ("login host", c.login_host.clone()),
                (
                    "credentials",
                    match &c.client_id {
                        Some(id) => format!("{}, client id `{id}`", c.credentials),
                        None => c.credentials.to_owned(),
                    },
                ),
                (
                    "token",
                    step_text(&self.token, |t| match t.lifetime_seconds {
                        Some(s) => format!("ok, lifetime {s} s ({:.1} h)", s as f64 / 3600.0),
                        None => "ok: a ready-made token, lifetime unknown".to_owned(),
                    }),
                ),
            ],
        );
        section(
            &mut out,
            "Permissions",
            &[
                (
                    "read",
                    step_text(&self.permissions.read, |r| format!("ok ({})", r.checked_by)),
                ),
                ("edit", self.permissions.edit.to_owned()),
            ],
        );
        match &self.actions {
            Step::Done(a) => {
                let mut rows = vec![
                    ("total", a.total.to_string()),
                    ("by kind", a.by_kind.to_string()),
                    (
                        "unset timeouts",
                        format!("{} standard actions have no timeout set", a.unset_timeouts),
                    ),
                    (
                        "templates",
                        format!(
                            "{} inline · {} named by URI only",
                            a.templates.inline, a.templates.uri_only
                        ),
                    ),
                ];
                rows.push((
                    "drafts",
                    step_text(&self.drafts, |d| {
                        if d.total == 0 {
                            return "none".to_owned();
                        }
                        let mut text = format!(
                            "{} ({}): someone's unfinished work; a timeout change of a function \
                             data action with a draft is refused",
                            d.total,
                            d.by_kind.present()
                        );
                        for draft in &d.list {
                            text.push_str(&format!(
                                "\n{}  {}  {}",
                                draft.id,
                                draft.kind,
                                draft.name.as_deref().unwrap_or("-")
                            ));
                        }
                        text
                    }),
                ));
                section(&mut out, "Actions", &rows);
                let rows: Vec<Vec<String>> = a
                    .by_integration
                    .iter()
                    .map(|i| {
                        vec![
                            i.name.clone().unwrap_or_else(|| "(not listed)".to_owned()),
                            i.type_id.clone().unwrap_or_else(|| "-".to_owned()),
                            i.actions.to_string(),
                            i.id.clone(),
                        ]
                    })
                    .collect();
                out.push_str("By integration\n");
                out.push_str(&columns(&["integration", "type", "actions", "id"], &rows));
                out.push('\n');
            }
            other => section(
                &mut out,
                "Actions",
                &[("counts", step_text(other, |_| String::new()))],
            ),
        }
        section(
            &mut out,
            "Latency",
            &[(
                "round trip",
                step_text(&self.latency, |l| {
                    format!(
                        "median {} ms of {} reads ({})",
                        l.median_ms,
                        l.samples_ms.len(),
                        l.request
                    )
                }),
            )],
        );
        match &self.estimate {
            Step::Done(e) => section(
                &mut out,
                &format!(
                    "Setting every standard action ({}, unset ones included) at --rate {}/min on {}",
                    e.standard_actions,
                    e.rate_per_minute,
                    plural(e.tokens as u64, "token", "tokens")
                ),
                &[
                    (
                        "requests",
                        format!(
                            "{}: {}, {}, {}, {}, {}, {}",
                            e.requests,
                            plural(e.listing_pages, "listing page", "listing pages"),
                            plural(
                                e.integrations_listing,
                                "integrations listing page",
                                "integrations listing pages"
                            ),
                            plural(e.patches, "PATCH", "PATCHes"),
                            plural(e.template_reads, "template read", "template reads"),
                            plural(e.verify_reads, "read-back", "read-backs"),
                            plural(e.first_write_check_reads, "canary read", "canary reads"),
                        ),
                    ),
                    ("time", format!("at least {}", duration(e.minutes))),
                    (
                        "function actions",
                        format!(
                            "{} more, not included: each costs a draft cycle of about {} requests ({} requests, {})",
                            e.function_actions,
                            e.function_requests_each,
                            e.function_requests,
                            duration(e.function_minutes)
                        ),
                    ),
                ],
            ),
            other => section(
                &mut out,
                "Setting every standard action",
                &[("estimate", step_text(other, |_| String::new()))],
            ),
        }
        executions(&mut out, &self.executions);
        let rows: Vec<(&str, String)> = self
            .variants
            .0
            .iter()
            .map(|v| {
                let text = match &v.value {
                    Some(value) => format!("{value}: {}", v.seen),
                    None => v.seen.clone(),
                };
                (v.option, text)
            })
            .collect();
        section(&mut out, "Platform variants", &rows);
        if let Some(line) = &self.reproduce {
            out.push_str(&format!(
                "A sandbox that behaves like this org: dactl --sandbox {line} ...\n"
            ));
        }
        if !self.problems.is_empty() {
            out.push_str("\nProblems\n");
            for problem in &self.problems {
                let text = wrap(problem, TABLE_WIDTH - 4).replace('\n', "\n    ");
                out.push_str(&format!("  - {text}\n"));
            }
        }
        write!(f, "{}", out.trim_end())
    }
}

/// Aligned columns under a header row, indented like a section's rows.
fn columns(headers: &[&str], rows: &[Vec<String>]) -> String {
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
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        format!("  {}\n", padded.join("  ").trim_end())
    };
    let mut out = line(headers.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// Breaks text into lines of at most `width` characters, at spaces.
fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line_len = 0;
    for word in text.split_whitespace() {
        let len = word.chars().count();
        if line_len > 0 && line_len + 1 + len > width {
            out.push('\n');
            line_len = 0;
        } else if line_len > 0 {
            out.push(' ');
            line_len += 1;
        }
        out.push_str(word);
        line_len += len;
    }
    out
}

/// The executions section: totals and the query budget, then the actions that timed out and
/// those near their timeout as columns (at most [`LISTED`] each, then how many more).
fn executions(out: &mut String, step: &ExecutionsStep) {
    let title = format!("Executions, last {STATS_DAYS} days");
    let e = match step {
        ExecutionsStep::Read(e) => e,
        ExecutionsStep::Refused(r) => {
            section(
                out,
                &title,
                &[
                    ("statistics", r.refused.clone()),
                    (
                        "query budget",
                        plural(r.queries, "analytics query", "analytics queries"),
                    ),
                ],
            );
            return;
        }
        ExecutionsStep::Skipped { skipped } => {
            section(out, &title, &[("statistics", skipped.clone())]);
            return;
        }
    };
    let actions = |n: usize| plural(n as u64, "action", "actions");
    section(
        out,
        &title,
        &[
            (
                "executions",
                format!(
                    "{} in {} of {} actions ({} errors, {} timeouts), {}",
                    e.executions, e.actions_executed, e.actions, e.errors, e.timeouts, e.window
                ),
            ),
            (
                "timed out",
                match e.timed_out.len() {
                    0 => "none".to_owned(),
                    n => format!("{}, {} executions", actions(n), e.timeouts),
                },
            ),
            (
                "near timeout",
                format!(
                    "{} with a p99 at or over {:.0} % of the timeout",
                    match e.near_timeout.len() {
                        0 => "none".to_owned(),
                        n => actions(n),
                    },
                    e.near_fraction * 100.0
                ),
            ),
            (
                "query budget",
                format!(
                    "{} for {}",
                    plural(e.queries, "analytics query", "analytics queries"),
                    actions(e.actions)
                ),
            ),
        ],
    );
    let name = |a: &ActionExecutions| a.name.clone().unwrap_or_else(|| "-".to_owned());
    let p99 = |a: &ActionExecutions| match a.p99_ms {
        Some(ms) if a.p99_estimated => format!("~{ms} ms"),
        Some(ms) => format!("{ms} ms"),
        None => "-".to_owned(),
    };
    let more = |out: &mut String, n: usize| {
        if n > LISTED {
            out.push_str(&format!("  ... and {} more\n", n - LISTED));
        }
        out.push('\n');
    };
    if !e.timed_out.is_empty() {
        out.push_str("Timed out, most timeouts first\n");
        let rows: Vec<Vec<String>> = e
            .timed_out
            .iter()
            .take(LISTED)
            .map(|a| {
                vec![
                    a.timeouts.to_string(),
                    a.executions.to_string(),
                    format!("{} s", a.effective_timeout),
                    name(a),
                    a.id.clone(),
                ]
            })
            .collect();
        out.push_str(&columns(
            &["timeouts", "executions", "timeout", "action", "id"],
            &rows,
        ));
        more(out, e.timed_out.len());
    }
    if !e.near_timeout.is_empty() {
        let estimated = e.near_timeout.iter().any(|a| a.p99_estimated);
        out.push_str(&format!(
            "Near timeout, closest first{}\n",
            if estimated {
                " (~: p99 estimated from counts; the platform gave none)"
            } else {
                ""
            }
        ));
        let rows: Vec<Vec<String>> = e
            .near_timeout
            .iter()
            .take(LISTED)
            .map(|a| {
                vec![
                    p99(a),
                    format!("{} s", a.effective_timeout),
                    format!("{:.0} %", a.p99_of_timeout() * 100.0),
                    a.executions.to_string(),
                    name(a),
                    a.id.clone(),
                ]
            })
            .collect();
        out.push_str(&columns(
            &["p99", "timeout", "of timeout", "executions", "action", "id"],
            &rows,
        ));
        more(out, e.near_timeout.len());
    }
}
