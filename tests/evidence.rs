//! Timeouts from evidence, through the binary: `action_stats` and `suggest_timeout` in scripts,
//! `dactl actions stats`, and `scripts/tune-timeouts.rhai`, on a generated org of 300 actions whose
//! execution history the sandbox knows (`GET /sandbox/executions`, the truth). Every expected
//! figure and every expected change is computed here from the truth, never from dactl.
//!
//! What each test catches, by the bug it names:
//! - values: a script's or the command's stats that differ from the truth (a field dropped or
//!   renamed on the way to Rhai or JSON, an unset timeout not read as 60 s, a p99 given by the
//!   platform but not used);
//! - order: `actions stats` not worst first;
//! - the tune script: an action raised that the rule does not select or one it selects left out,
//!   a lowering without `lower=yes`, a lowering below the suggestion or of an action that timed
//!   out, an unset action raised, an action with too little evidence changed or not reported;
//! - the workflow: a tune that undo cannot take back;
//! - bad input: a window or an option out of range that is not refused before any write.

use std::collections::{BTreeSet, HashMap};

use dactl::sandbox::SandboxOptions;
use serde_json::Value;

use crate::support::{self, Org, assert_code, dactl, report, stdout, temp_dir, timeout};

const TUNE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/tune-timeouts.rhai");

/// The estimated p99 is within this fraction of the true one, or within `P99_SLACK_MS` (the
/// tolerance `tests/stats.rs` holds the estimate to).
/// Measured on seed 19's 300 actions over windows of 3, 5 and 7 days (2026-12-07): the worst
/// estimates off by more than 100 ms were 23 % and 25.3 % of the true p99, so a quarter was the edge,
/// and the window moves with the clock: a third holds them with room. (`stats.rs` prints the
/// distribution of the errors each run.)
const P99_TOLERANCE: f64 = 1.0 / 3.0;
const P99_SLACK_MS: f64 = 100.0;

fn org(variants: &str) -> Org {
    let mut options = SandboxOptions {
        actions: Some(300),
        seed: 19,
        ..SandboxOptions::default()
    };
    options.variants.apply(variants).unwrap();
    Org::unthrottled(options)
}

/// What the rule suggests from the truth: `ceil(3 × p99)` s clamped to 1..=60, at least the
/// longest execution rounded up when any timed out; `None` under 50 executions.
fn suggestion(truth: &Value) -> Option<i64> {
    let executions = truth["executions"].as_i64().unwrap();
    if executions < 50 {
        return None;
    }
    let p99 = truth["p99_ms"].as_f64().unwrap();
    let mut seconds = ((3.0 * p99 / 1000.0).ceil() as i64).clamp(1, 60);
    if truth["timeouts"].as_i64().unwrap() > 0 {
        let max = truth["max_ms"].as_i64().unwrap();
        seconds = seconds.max((max + 999) / 1000).min(60);
    }
    Some(seconds)
}

/// Stored standard actions by id: their `config.timeoutSeconds` (`None`: unset).
fn standard_timeouts(org: &Org) -> HashMap<String, Option<i64>> {
    let kinds = support::kinds(org);
    org.actions()
        .iter()
        .filter(|a| kinds.get(a["id"].as_str().unwrap()).map(String::as_str) == Some("standard"))
        .map(|a| (a["id"].as_str().unwrap().to_owned(), timeout(a)))
        .collect()
}

/// The window a tune run read, from its first line (`Executions over START/END ...`).
fn tuned_window(out: &std::process::Output) -> String {
    let text = stdout(out);
    let first = text.lines().next().unwrap_or_default();
    first
        .strip_prefix("Executions over ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no window in the first line: {text}"))
        .to_owned()
}

/// (id → (before, after)) of the changes with `status` in a run's JSON report.
fn with_status(json: &Value, status: &str) -> HashMap<String, (Option<i64>, i64)> {
    json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == status)
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                (c["before"].as_i64(), c["after"].as_i64().unwrap()),
            )
        })
        .collect()
}

/// The same figures as the truth: counts exactly; p99 exactly when the platform gives it,
/// within the estimate's tolerance when it does not.
fn assert_matches_truth(stats: &Value, truth: &Value, present: bool) {
    let id = stats["id"].as_str().unwrap();
    for key in ["executions", "errors", "timeouts", "max_ms"] {
        assert_eq!(stats[key], truth[key], "{id}: {key}: {stats} vs {truth}");
    }
    assert_eq!(
        stats["effective_timeout"], truth["timeout_seconds"],
        "{id}: the timeout the timeouts were counted at (unset: 60)"
    );
    let errors_by_type: serde_json::Map<String, Value> = truth["by_error_type"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| *k != "NONE")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(
        stats["errors_by_type"],
        Value::Object(errors_by_type),
        "{id}"
    );
    if truth["executions"] == 0 {
        assert!(stats["p99_ms"].is_null(), "{id}: no p99 without executions");
        return;
    }
    let p99 = stats["p99_ms"]
        .as_f64()
        .expect("a p99 for an action that ran");
    let true_p99 = truth["p99_ms"].as_f64().unwrap();
    if present {
        assert_eq!(stats["p99_estimated"], false, "{id}");
        assert_eq!(p99, true_p99, "{id}: the platform's p99, as given");
        assert_eq!(stats["p95_ms"], truth["p95_ms"], "{id}");
    } else {
        assert_eq!(stats["p99_estimated"], true, "{id}");
        assert!(stats["p95_ms"].is_null(), "{id}: a p95 is never made up");
        let error = (p99 - true_p99).abs();
        assert!(
            error <= P99_SLACK_MS || error <= P99_TOLERANCE * true_p99,
            "{id}: estimated p99 {p99} ms, true {true_p99} ms"
        );
    }
}

#[test]
fn a_scripts_stats_match_the_truth_under_both_percentile_variants() {
    for (variants, present) in [("percentiles=absent", false), ("percentiles=present", true)] {
        let org = org(variants);
        let out = dactl(
            &org,
            &["--json", "eval", "action_stats(list_actions(), #{days: 5})"],
        );
        assert_code(&out, 0);
        let all: Vec<Value> = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(all.len(), 300, "one stats value per listed action");
        let window = all[0]["window"].as_str().unwrap();
        let (start, end) = window.split_once('/').unwrap();
        let days =
            end.parse::<jiff::Timestamp>().unwrap() - start.parse::<jiff::Timestamp>().unwrap();
        assert_eq!(days.as_hours(), 5 * 24, "{window}: the days asked for");
        let truth = org.executions(window);
        for stats in &all {
            assert_matches_truth(stats, &truth[stats["id"].as_str().unwrap()], present);
        }
        let silent = all.iter().filter(|s| s["executions"] == 0).count();
        eprintln!("{variants}: {} actions, {silent} never ran", all.len());
    }
}

#[test]
fn actions_stats_is_the_truth_worst_first_with_unset_read_as_60_seconds() {
    let org = org("percentiles=present");
    let out = dactl(&org, &["--json", "actions", "stats", "--kind", "standard"]);
    assert_code(&out, 0);
    let rows: Vec<Value> = serde_json::from_str(&stdout(&out)).unwrap();
    let standard = standard_timeouts(&org);
    assert_eq!(
        rows.len(),
        standard.len(),
        "every standard action, only them"
    );
    let truth = org.executions(rows[0]["window"].as_str().unwrap());
    for row in &rows {
        let id = row["id"].as_str().unwrap();
        assert_matches_truth(row, &truth[id], true);
        assert_eq!(
            row["timeout_seconds"].as_i64(),
            standard[id],
            "{id}: as set"
        );
        assert_eq!(row["suggested"].as_i64(), suggestion(&truth[id]), "{id}");
    }
    assert!(
        rows.iter().any(|r| r["timeout_seconds"].is_null()),
        "the org has unset actions to show"
    );
    // Worst first: timeouts, then p99 ÷ timeout.
    let key = |r: &Value| {
        let p99 = r["p99_ms"].as_f64().unwrap_or(0.0);
        let timeout = r["effective_timeout"].as_f64().unwrap() * 1000.0;
        (r["timeouts"].as_u64().unwrap(), p99 / timeout)
    };
    for pair in rows.windows(2) {
        let (a, b) = (key(&pair[0]), key(&pair[1]));
        assert!(
            a.0 > b.0 || (a.0 == b.0 && a.1 >= b.1),
            "not worst first: {a:?} before {b:?}"
        );
    }
    assert!(key(&rows[0]).0 > 0, "the worst timed out");

    // The table says what unset means and marks nothing estimated when the platform gave p99.
    let out = dactl(&org, &["actions", "stats", "--kind", "standard"]);
    assert_code(&out, 0);
    let text = stdout(&out);
    assert!(text.contains("unset (60 s)"), "{text}");
    assert!(
        !text.contains(" ~"),
        "a given p99 is not marked estimated: {text}"
    );
}

#[test]
fn the_tune_script_raises_exactly_what_the_rule_selects_and_undo_takes_it_back() {
    let org = org("percentiles=present");
    let standard = standard_timeouts(&org);
    let before = org.actions();

    let out = dactl(&org, &["--json", "--dry-run", "run", TUNE]);
    assert_code(&out, 0);
    let truth = org.executions(&tuned_window(&out));
    let expected: BTreeSet<(String, i64)> = standard
        .iter()
        .filter_map(|(id, set)| {
            let t = suggestion(&truth[id])?;
            // Unset runs at 60 s: never raised.
            (set.is_some_and(|now| t > now)).then(|| (id.clone(), t))
        })
        .collect();
    assert!(
        expected.len() >= 5,
        "the history has actions to raise: {expected:?}"
    );
    let json = report(&out);
    let planned: BTreeSet<(String, i64)> = with_status(&json, "planned")
        .into_iter()
        .map(|(id, (_, after))| (id, after))
        .collect();
    assert_eq!(planned, expected, "planned = what the rule selects");
    for (id, (before, after)) in with_status(&json, "planned") {
        assert!(
            before.is_some_and(|b| after > b),
            "{id}: {before:?} -> {after}"
        );
    }

    // Too little evidence: left alone, and named.
    let thin: Vec<&String> = standard
        .keys()
        .filter(|id| truth[*id]["executions"].as_i64().unwrap() < 50)
        .collect();
    assert!(!thin.is_empty(), "the history has actions that ran rarely");
    let text = stdout(&out);
    let said = text
        .lines()
        .find(|l| l.contains("too little evidence"))
        .unwrap_or_else(|| panic!("the thin actions are reported: {text}"));
    assert!(
        said.starts_with(&format!("{} actions ran fewer than 50", thin.len())),
        "{said}"
    );
    for id in &thin {
        assert!(
            !planned.iter().any(|(p, _)| p == *id),
            "{id} has too little evidence"
        );
    }

    // The report file shows the evidence beside each change: the truth's figures.
    let dir = temp_dir("tune-report");
    let file = dir.join("plan.md");
    let out = dactl(
        &org,
        &["--dry-run", "--report", support::path(&file), "run", TUNE],
    );
    assert_code(&out, 0);
    let markdown = std::fs::read_to_string(&file).unwrap();
    let rows: Vec<&str> = markdown
        .lines()
        .skip_while(|l| !l.starts_with("## Changes"))
        .filter(|l| l.starts_with("| `"))
        .take_while(|l| l.contains(" planned "))
        .collect();
    assert_eq!(rows.len(), expected.len(), "{markdown}");
    let window = tuned_window(&out);
    let truth_now = org.executions(&window);
    for row in rows {
        let id = row.split('`').nth(1).unwrap();
        let t = &truth_now[id];
        let said = format!(
            "| {} executions, {} timed out, p99 {} ms |",
            t["executions"], t["timeouts"], t["p99_ms"]
        );
        assert!(
            row.ends_with(&said),
            "{row}\nexpected it to end with {said}"
        );
    }

    // The evidence is printed per change.
    for (id, after) in &expected {
        let name = before.iter().find(|a| a["id"] == **id).unwrap()["name"]
            .as_str()
            .unwrap();
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("  {name}: "))
                    && l.contains(&format!("-> {after} s;"))),
            "no evidence line for {name}: {text}"
        );
    }

    // For real, then undo: the org is as it was.
    let dir = temp_dir("tune");
    let journal = dir.join("tune.jsonl");
    let out = dactl(
        &org,
        &["--json", "--journal", support::path(&journal), "run", TUNE],
    );
    assert_code(&out, 0);
    let updated: BTreeSet<(String, i64)> = with_status(&report(&out), "updated")
        .into_iter()
        .map(|(id, (_, after))| (id, after))
        .collect();
    assert_eq!(
        updated, expected,
        "the real run does what the dry run planned"
    );
    let undo_journal = dir.join("undo.jsonl");
    let out = support::undo(&org, &journal, &undo_journal);
    assert_code(&out, 0);
    assert_eq!(
        support::without_versions(&org.actions()),
        support::without_versions(&before),
        "undo puts every timeout back"
    );
}

#[test]
fn lowering_only_when_asked_never_below_the_suggestion_nor_for_an_action_that_timed_out() {
    let org = org("percentiles=present");
    let standard = standard_timeouts(&org);
    let out = dactl(
        &org,
        &["--json", "--dry-run", "run", TUNE, "--arg", "lower=yes"],
    );
    assert_code(&out, 0);
    let truth = org.executions(&tuned_window(&out));
    let planned = with_status(&report(&out), "planned");
    let lowered: Vec<&String> = planned
        .iter()
        .filter(|(_, (before, after))| *after < before.unwrap_or(60))
        .map(|(id, _)| id)
        .collect();
    assert!(
        lowered.len() >= 5,
        "the history has timeouts far above the suggestion"
    );
    assert!(
        lowered.iter().any(|id| standard[*id].is_none()),
        "asked to lower, unset actions are lowered too"
    );
    for (id, (_, after)) in &planned {
        let t = &truth[id];
        assert_eq!(Some(*after), suggestion(t), "{id}: set to its suggestion");
        if lowered.contains(&id) {
            assert_eq!(t["timeouts"], 0, "{id} timed out and was lowered");
        }
    }
    // Every action the rule lowers, and only those.
    let expected_lowered: BTreeSet<&String> = standard
        .iter()
        .filter(|(id, set)| {
            let t = &truth[*id];
            suggestion(t).is_some_and(|s| s < set.unwrap_or(60)) && t["timeouts"] == 0
        })
        .map(|(id, _)| id)
        .collect();
    assert_eq!(
        lowered.into_iter().collect::<BTreeSet<_>>(),
        expected_lowered
    );

    // Without lower=yes, nothing goes down.
    let out = dactl(&org, &["--json", "--dry-run", "run", TUNE]);
    assert_code(&out, 0);
    for (id, (before, after)) in with_status(&report(&out), "planned") {
        assert!(
            after > before.unwrap_or(60),
            "{id}: {before:?} -> {after} without lower=yes"
        );
    }
}

#[test]
fn with_estimated_percentiles_every_action_that_timed_out_is_raised_and_none_lowered() {
    let org = org("percentiles=absent");
    let standard = standard_timeouts(&org);
    let out = dactl(&org, &["--json", "--dry-run", "run", TUNE]);
    assert_code(&out, 0);
    let truth = org.executions(&tuned_window(&out));
    let planned = with_status(&report(&out), "planned");
    // Cut at its timeout, an action's longest execution is past it: the suggestion is above the
    // timeout whatever the p99 estimate, so every such action with enough evidence is raised.
    let cut: BTreeSet<&String> = standard
        .iter()
        .filter(|(id, set)| {
            let t = &truth[*id];
            set.is_some_and(|s| s < 60)
                && t["timeouts"].as_i64().unwrap() > 0
                && t["executions"].as_i64().unwrap() >= 50
        })
        .map(|(id, _)| id)
        .collect();
    assert!(
        !cut.is_empty(),
        "the history has actions cut at their timeout"
    );
    for id in &cut {
        let (before, after) = planned
            .get(*id)
            .unwrap_or_else(|| panic!("{id} timed out and was not raised"));
        assert!(after > &before.unwrap(), "{id}");
    }
    for (id, (before, after)) in &planned {
        assert!(
            before.is_some_and(|b| *after > b),
            "{id}: {before:?} -> {after}"
        );
    }
}

#[test]
fn out_of_range_options_are_refused_before_any_write() {
    let org = Org::unthrottled(SandboxOptions {
        actions: Some(20),
        ..SandboxOptions::default()
    });
    for (args, says) in [
        (
            vec!["--arg", "days=40"],
            "--arg days=40 is not a whole number from 1 to 31",
        ),
        (
            vec!["--arg", "factor=0.5"],
            "--arg factor=0.5 is not a number from 1 to 10",
        ),
        (
            vec!["--arg", "lower=maybe"],
            "--arg lower=maybe is not understood",
        ),
        (
            vec!["--arg", "min=none"],
            "--arg min=none is not a whole number",
        ),
    ] {
        let mut all = vec!["run", TUNE];
        all.extend(args);
        let out = dactl(&org, &all);
        assert_code(&out, 1);
        assert!(
            support::stderr(&out).contains(says),
            "{}",
            support::stderr(&out)
        );
    }
    for (script, says) in [
        ("action_stats([], #{days: 0})", "`days: 0` is out of range"),
        (
            "action_stats([], #{weeks: 1})",
            "`action_stats` has no option `weeks`",
        ),
        (
            "action_stats([\"no-such-id\"])",
            "there is no action `no-such-id`",
        ),
        (
            "suggest_timeout(#{executions: 60, p99_ms: 100}, #{factor: 20})",
            "must be a number from 1 to 10",
        ),
        (
            "suggest_timeout(#{p99_ms: 100})",
            "the stats map has no `executions`",
        ),
        (
            "suggest_timeout(list_actions()[0])",
            "takes one stats value",
        ),
    ] {
        let out = dactl(&org, &["eval", script]);
        assert_code(&out, 1);
        assert!(
            support::stderr(&out).contains(says),
            "{script}: {}",
            support::stderr(&out)
        );
    }
    let out = dactl(
        &org,
        &["actions", "stats", "--category", "No Such Category"],
    );
    assert_code(&out, 1);
    assert!(support::stderr(&out).contains("No action matches --category No Such Category"));
    let out = dactl(&org, &["actions", "stats", "--days", "32"]);
    assert_code(&out, 2);
    assert_eq!(org.writes(), 0, "nothing was written");
}

#[test]
fn suggest_timeout_follows_its_documented_rule() {
    let org = Org::unthrottled(SandboxOptions {
        actions: Some(3),
        ..SandboxOptions::default()
    });
    let script = r#"[
        suggest_timeout(#{executions: 100, p99_ms: 1000}),
        suggest_timeout(#{executions: 100, p99_ms: 1001}),
        suggest_timeout(#{executions: 49, p99_ms: 1000}),
        suggest_timeout(#{executions: 10, p99_ms: 1000}, #{min_executions: 10}),
        suggest_timeout(#{executions: 100, p99_ms: 1000}, #{factor: 4}),
        suggest_timeout(#{executions: 100, p99_ms: 90}),
        suggest_timeout(#{executions: 100, p99_ms: 30000}),
        suggest_timeout(#{executions: 100, p99_ms: 4000, timeouts: 2, max_ms: 20039}),
        suggest_timeout(#{executions: 100, p99_ms: ()}),
        list_actions().all(|a| a.effective_timeout == if a.timeout_seconds == () { 60 } else { a.timeout_seconds })
    ]"#;
    let out = dactl(&org, &["--json", "eval", script]);
    assert_code(&out, 0);
    let values: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        values,
        serde_json::json!([3, 4, null, 3, 4, 1, 60, 21, null, true]),
        "3 × p99 rounded up, clamped to 1..=60, at least the longest execution after timeouts, \
         () under min_executions or without a p99; effective_timeout is 60 when unset"
    );
}
