//! The bulk scenarios under every value of the sandbox's `templates` and `conflict-status`
//! variants: 3 × 2 combinations, one test each, on a small generated org. Each runs, through the
//! real binary:
//!
//! (a) a raise with another editor racing it, so version conflicts really happen and are answered
//!     with the combination's status;
//! (c) the undo of (a)'s journal;
//! (b) a dry run saved with `--plan-out`, then `dactl apply PLAN`;
//! (d) a raise killed with SIGKILL part way, a re-run, both undone; then the undo of (b).
//!
//! Every step compares `/sandbox/actions?templates=text` (the stored configs with every template's
//! text) before and after: only `config.timeoutSeconds` and `version` may move (and the editor's
//! `name`). What each check catches, by the bug it names:
//! - a client that reads a 400 (or 409) version conflict as a plain failure leaves the edited
//!   actions at their old timeout and exits 1: (a) fails on the exit code and on "target was raised";
//! - a client that writes back a config naming its templates only by URI gets the platform's
//!   default template text (`template-on-missing=default`): the diff shows
//!   `.config.request.requestTemplate` (or the success template) changed;
//! - a client that overwrites another editor's change on retry loses ` (edited)`;
//! - an undo or apply that writes more than the timeout, or misses an action, differs from the
//!   expected snapshot in that field or action.

use std::path::Path;

use dactl::sandbox::SandboxOptions;
use dactl::sandbox::variants::VARIANTS;
use serde_json::Value;

use crate::support::{
    Org, RAISE, assert_code, assert_complete, assert_only_intended, dactl, eligible,
    kill_rerun_undo, lines, listed_kinds, path, spawn, temp_dir, undo, without_versions,
};

/// Every combination the matrix runs, and one test per combination.
macro_rules! matrix {
    ($($name:ident: $variants:literal),* $(,)?) => {
        const MATRIX: &[&str] = &[$($variants),*];
        $(
            #[test]
            fn $name() {
                bulk_scenarios($variants);
            }
        )*
    };
}

matrix! {
    templates_uri_conflict_400: "templates=uri,conflict-status=400",
    templates_uri_conflict_409: "templates=uri,conflict-status=409",
    templates_inline_conflict_400: "templates=inline,conflict-status=400",
    templates_inline_conflict_409: "templates=inline,conflict-status=409",
    templates_mixed_conflict_400: "templates=mixed,conflict-status=400",
    templates_mixed_conflict_409: "templates=mixed,conflict-status=409",
}

/// A value added to either option (in `variants::VARIANTS`) must join the matrix.
#[test]
fn the_matrix_covers_every_templates_and_conflict_status_value() {
    let values = |option: &str| -> Vec<&str> {
        VARIANTS
            .iter()
            .find(|d| d.option == option)
            .unwrap()
            .values
            .iter()
            .map(|(v, _)| *v)
            .collect()
    };
    let mut expected = Vec::new();
    for templates in values("templates") {
        for status in values("conflict-status") {
            expected.push(format!("templates={templates},conflict-status={status}"));
        }
    }
    let mut run: Vec<String> = MATRIX.iter().map(|s| s.to_string()).collect();
    expected.sort();
    run.sort();
    assert_eq!(run, expected);
}

/// The timeout the raise and the plan set, and the one the killed run aims at.
const TARGET: u32 = 45;
const KILL_TARGET: i64 = 50;

/// 36 generated actions (with unset timeouts, static, function and custom authentication actions,
/// and template text a careless client would change), 30 ms of latency on every API request, so
/// an editor can race a run and a kill lands part way.
fn small_org(variants: &str) -> Org {
    let mut options = SandboxOptions {
        actions: Some(36),
        seed: 21,
        latency_ms: 30,
        rate_limit: 100_000,
        ..SandboxOptions::default()
    };
    options.variants.apply(variants).unwrap();
    Org::start(options)
}

fn bulk_scenarios(variants: &str) {
    let org = small_org(variants);
    let dir = temp_dir("variants");
    let (conflict, other) = if variants.contains("conflict-status=409") {
        (409, 400)
    } else {
        (400, 409)
    };
    let listed = listed_kinds(&org);
    let kinds = listed.iter().cloned().collect();
    let start = org.actions();
    let targets = eligible(&start, &kinds, i64::from(TARGET), true);
    assert!(targets.len() >= 15, "{variants}: {} targets", targets.len());
    // The org has what makes the template check bite: templates the client must carry back.
    assert!(
        start
            .iter()
            .any(|a| a["config"]["request"]["requestTemplate"].is_string()),
        "{variants}: the org has template text"
    );

    // (a) A raise, with another editor changing the last targets (in the order the run takes
    // them) as soon as the run starts writing.
    let in_order: Vec<&String> = listed
        .iter()
        .map(|(id, _)| id)
        .filter(|id| targets.contains(id))
        .collect();
    let edited: Vec<String> = in_order
        .iter()
        .rev()
        .take(3)
        .map(|id| id.to_string())
        .collect();
    let journal = dir.join("raise.jsonl");
    raced_raise(&org, &journal, &edited);
    let raised = org.actions();
    assert_only_intended(&start, &raised, &targets, TARGET, &edited);
    for id in &edited {
        let name = &raised.iter().find(|a| a["id"] == id.as_str()).unwrap()["name"];
        assert!(
            name.as_str().unwrap().ends_with(" (edited)"),
            "{variants}: the other editor's change to {id} survived: {name}"
        );
    }
    assert_complete(&lines(&journal));
    let stale =
        org.count_answers(|m, r, s| m == "PATCH" && r.ends_with("{actionId}") && s == conflict);
    assert!(
        stale >= 1,
        "{variants}: the editor raced the run, so some PATCH was refused with {conflict}"
    );
    assert_eq!(
        org.count_answers(|m, _, s| m == "PATCH" && s == other),
        0,
        "{variants}: no PATCH was answered {other}"
    );

    // (c) Undoing (a) puts back every field but the version, template bytes included; the
    // other editor's names stay.
    assert_code(&undo(&org, &journal, &dir.join("undo-raise.jsonl")), 0);
    let expected = with_edited_names(&start, &edited);
    assert_same_but_versions(
        &org.actions(),
        &expected,
        &format!("{variants}: undo of (a)"),
    );

    // (b) A saved plan, applied.
    let before_plan = org.actions();
    let plan = dir.join("plan.json");
    let writes = org.writes();
    let dry = dactl(
        &org,
        &[
            "--plan-out",
            path(&plan),
            "run",
            RAISE,
            "--arg",
            &format!("target={TARGET}"),
            "--arg",
            "unset=set",
        ],
    );
    assert_code(&dry, 0);
    assert_eq!(org.writes(), writes, "{variants}: a dry run writes nothing");
    let applied_journal = dir.join("apply.jsonl");
    let applied = dactl(
        &org,
        &["--journal", path(&applied_journal), "apply", path(&plan)],
    );
    assert_code(&applied, 0);
    let after_apply = org.actions();
    assert_only_intended(&before_plan, &after_apply, &targets, TARGET, &[]);

    // (d) Killed part way, re-run, both undone: back to after (b). Then (b) undone: the start.
    kill_rerun_undo(&org, &dir, KILL_TARGET, 4, &["--concurrency", "1"]);
    assert_same_but_versions(&org.actions(), &after_apply, &format!("{variants}: (d)"));
    assert_code(
        &undo(&org, &applied_journal, &dir.join("undo-apply.jsonl")),
        0,
    );
    assert_same_but_versions(
        &org.actions(),
        &expected,
        &format!("{variants}: undo of (b)"),
    );
}

/// `raise` to [`TARGET`], slowed to two requests at a time, while another editor changes each of
/// `edited` once the run has sent its first PATCH.
fn raced_raise(org: &Org, journal: &Path, edited: &[String]) {
    let target = format!("target={TARGET}");
    let child = spawn(
        org,
        &[
            "--rate",
            "100000",
            "--concurrency",
            "2",
            "--journal",
            path(journal),
            "run",
            RAISE,
            "--arg",
            &target,
            "--arg",
            "unset=set",
        ],
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while org.count(|m, _| m == "PATCH") == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the run never started writing"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    for id in edited {
        org.edit(id);
    }
    let output = child.wait_with_output().unwrap();
    assert_code(&output, 0);
}

/// `start` with the other editor's changes: ` (edited)` after each edited action's name.
fn with_edited_names(start: &[Value], edited: &[String]) -> Vec<Value> {
    start
        .iter()
        .map(|a| {
            let mut a = a.clone();
            if edited.iter().any(|id| a["id"] == id.as_str()) {
                let name = format!("{} (edited)", a["name"].as_str().unwrap());
                a["name"] = Value::String(name);
            }
            a
        })
        .collect()
}

/// Equal but for versions, naming the first action and field that differ.
fn assert_same_but_versions(now: &[Value], expected: &[Value], what: &str) {
    let changed = crate::support::diff(&without_versions(expected), &without_versions(now));
    assert!(changed.is_empty(), "{what}: {changed:?}");
}
