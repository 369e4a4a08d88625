//! Execution statistics drawn as a table (`dactl actions stats`, and a script's array of stats
//! values), and as JSON: the one drawing of `change::stats::ActionStats`.

use serde_json::{Value, json};

use crate::change::stats::{
    ActionStats, DEFAULT_FACTOR, DEFAULT_MIN_EXECUTIONS, UNSET_TIMEOUT_SECONDS, suggest_timeout,
};
use crate::output::table::{self, Align, Layout};

/// One row: an action's statistics, and what is known of its timeout.
#[derive(Debug, Clone)]
pub struct Row {
    pub stats: ActionStats,
    /// `config.timeoutSeconds` as set; `None` when unset (it runs at 60 s). `Some` of the
    /// effective timeout when only that is known (a script's stats value).
    pub timeout_seconds: Option<i64>,
    /// The kind (`"standard"`, ...), when known.
    pub kind: Option<&'static str>,
}

impl Row {
    /// The timeout the defaults suggest (`suggest_timeout` with factor 3, 50 executions).
    pub fn suggested(&self) -> Option<u32> {
        suggest_timeout(&self.stats, DEFAULT_FACTOR, DEFAULT_MIN_EXECUTIONS)
    }

    /// How close the p99 runs to the timeout (p99 ÷ timeout); 0 without a p99.
    fn pressure(&self) -> f64 {
        let timeout = f64::from(self.stats.effective_timeout.max(1)) * 1000.0;
        self.stats.p99_ms.map_or(0.0, |p| f64::from(p) / timeout)
    }
}

/// Worst first: most executions cut at the timeout, then the p99 closest to (or over) the
/// timeout, then by name.
pub fn sort(rows: &mut [Row]) {
    rows.sort_by(|a, b| {
        b.stats
            .timeouts
            .cmp(&a.stats.timeouts)
            .then(b.pressure().total_cmp(&a.pressure()))
            .then_with(|| a.stats.name.cmp(&b.stats.name))
    });
}

/// `1 240 ms` → `1.24 s`: a duration in ms as people read it.
fn duration(ms: u32) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.2} s", f64::from(ms) / 1000.0)
    }
}

fn timeout_text(row: &Row) -> String {
    match row.timeout_seconds {
        Some(t) => format!("{t} s"),
        None => format!("unset ({UNSET_TIMEOUT_SECONDS} s)"),
    }
}

/// The table: id, name, timeout, executions, errors, timeouts, p99 (`~` when estimated),
/// suggested; then what `~` and `-` mean.
pub fn table(rows: &[Row], layout: Layout) -> String {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let s = &r.stats;
            vec![
                s.id.clone(),
                s.name.clone().unwrap_or_else(|| "-".to_owned()),
                timeout_text(r),
                s.executions.to_string(),
                s.errors.to_string(),
                s.timeouts.to_string(),
                match (s.p99_ms, s.p99_estimated) {
                    (None, _) => "-".to_owned(),
                    (Some(p), true) => format!("~{}", duration(p)),
                    (Some(p), false) => duration(p),
                },
                r.suggested()
                    .map_or_else(|| "-".to_owned(), |t| format!("{t} s")),
            ]
        })
        .collect();
    let drawn = table::render_with(
        &[
            "ID",
            "NAME",
            "TIMEOUT",
            "EXECUTIONS",
            "ERRORS",
            "TIMEOUTS",
            "P99",
            "SUGGESTED",
        ],
        &cells,
        &[
            Align::Left,
            Align::Left,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
        ],
        layout,
    );
    let mut text = drawn.text;
    if drawn.hidden > 0 {
        text.push_str(&format!(
            "\n({} more rows: `-v` or `--json` show every row)",
            drawn.hidden
        ));
    }
    let window = rows.first().map(|r| r.stats.window.as_str()).unwrap_or("");
    let executions: u64 = rows.iter().map(|r| r.stats.executions).sum();
    let timed_out = rows.iter().filter(|r| r.stats.timeouts > 0).count();
    let estimated = if rows.iter().any(|r| r.stats.p99_estimated) {
        " P99 ~: estimated from range counts (the platform gave none)."
    } else {
        ""
    };
    text.push_str(&format!(
        "\n{} actions, {executions} executions in {window}; {timed_out} actions timed out.\n\
         TIMEOUTS: executions cut at the action's timeout.{estimated} SUGGESTED: \
         {DEFAULT_FACTOR} × p99 in whole seconds (at least the longest execution when any timed \
         out); - under {DEFAULT_MIN_EXECUTIONS} executions.",
        rows.len()
    ));
    text
}

/// The rows as JSON: each stats value with `timeout_seconds` (`null` when unset), `kind` and
/// `suggested` beside it.
pub fn json(rows: &[Row]) -> Value {
    Value::Array(
        rows.iter()
            .map(|r| {
                let mut value = json!(r.stats);
                value["timeout_seconds"] = json!(r.timeout_seconds);
                if let Some(kind) = r.kind {
                    value["kind"] = json!(kind);
                }
                value["suggested"] = json!(r.suggested());
                value
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, timeout: u32, timeouts: u64, p99: Option<u32>) -> Row {
        Row {
            stats: ActionStats {
                id: name.to_owned(),
                name: Some(name.to_owned()),
                effective_timeout: timeout,
                executions: 100,
                errors: timeouts,
                errors_by_type: Default::default(),
                timeouts,
                mean_ms: None,
                max_ms: p99,
                p95_ms: None,
                p99_ms: p99,
                p99_estimated: true,
                window: "w".into(),
            },
            timeout_seconds: Some(i64::from(timeout)),
            kind: Some("standard"),
        }
    }

    #[test]
    fn worst_first_timeouts_then_p99_over_timeout() {
        let mut rows = vec![
            row("calm", 10, 0, Some(1_000)),
            row("close", 10, 0, Some(9_000)),
            row("cut", 60, 3, Some(60_000)),
            row("silent", 10, 0, None),
            row("cut-more", 5, 9, Some(5_000)),
        ];
        sort(&mut rows);
        let order: Vec<&str> = rows.iter().map(|r| r.stats.id.as_str()).collect();
        assert_eq!(order, ["cut-more", "cut", "close", "calm", "silent"]);
    }

    #[test]
    fn an_estimated_p99_is_marked_and_unset_says_what_it_means() {
        let mut r = row("a", 60, 0, Some(1_240));
        r.timeout_seconds = None;
        let text = table(&[r], Layout::default());
        let line = text.lines().nth(1).unwrap();
        assert!(line.contains("unset (60 s)"), "{text}");
        assert!(line.contains("~1.24 s"), "{text}");
        assert!(line.trim_end().ends_with("4 s"), "{text}");
    }
}
