//! Unset timeouts are not short: the platform's default for an action with no `timeoutSeconds`
//! is not documented and may be the maximum. They are shown as `unset`, left alone by bulk
//! changes by filter unless asked for, and reported. Through the real binary against a sandbox.

use std::collections::HashMap;
use std::process::Output;

use dactl::sandbox::SandboxOptions;
use serde_json::Value;

use crate::support::{Org, stderr, stdout};

/// The hand-written seed org, with a rate limit that does not slow tests down.
fn seed() -> Org {
    Org::start(SandboxOptions {
        rate_limit: 100_000,
        ..SandboxOptions::default()
    })
}

/// `dactl` against `org`, allowed as many requests a minute as the org, journal in a temp dir.
fn dactl(org: &Org, args: &[&str]) -> Output {
    let journal = std::env::temp_dir().join(format!(
        "dactl-unset-{}-{}.jsonl",
        std::process::id(),
        fastrand::u64(..)
    ));
    let mut all = vec!["--rate", "100000", "--journal", journal.to_str().unwrap()];
    all.extend_from_slice(args);
    let output = org.dactl(&all);
    let _ = std::fs::remove_file(journal);
    output
}

fn assert_code(output: &Output, expected: i32) {
    assert_eq!(
        output.status.code(),
        Some(expected),
        "stdout: {}\nstderr: {}",
        stdout(output),
        stderr(output)
    );
}

fn timeout(action: &Value) -> Option<i64> {
    action["config"]["timeoutSeconds"].as_i64()
}

/// The cells of a table row (columns are at least two spaces apart).
fn cells(line: &str) -> Vec<&str> {
    line.split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}

#[test]
fn actions_list_and_eval_tables_show_unset_not_a_dash() {
    let org = seed();
    let stored: HashMap<String, Option<i64>> = org
        .actions()
        .iter()
        .map(|a| (a["id"].as_str().unwrap().to_owned(), timeout(a)))
        .collect();
    assert!(
        stored.values().any(Option::is_none),
        "the seed org has unset actions"
    );
    let list = dactl(&org, &["actions", "list", "--kind", "standard"]);
    assert_code(&list, 0);
    let eval = dactl(
        &org,
        &["eval", "list_actions().filter(|a| a.kind == \"standard\")"],
    );
    assert_code(&eval, 0);
    for (what, text) in [("actions list", stdout(&list)), ("eval", stdout(&eval))] {
        let rows: Vec<Vec<&str>> = text
            .lines()
            .skip(1)
            .map(cells)
            .filter(|c| c.len() == 5)
            .collect();
        assert!(rows.len() > 20, "{what}: {text}");
        for row in rows {
            let expected = stored[row[0]].map_or("unset".to_owned(), |t| t.to_string());
            assert_eq!(row[4], expected, "{what}: {row:?}");
        }
    }
}
