//! Unset timeouts are not short: an action with no `timeoutSeconds` runs with 60 s, the maximum
//! (Genesys' announcement of the timeout feature). They are shown as `unset`, left alone by bulk
//! changes by filter unless asked for, and reported. Through the real binary against a sandbox.

use std::collections::HashMap;

use dactl::sandbox::SandboxOptions;
use serde_json::Value;

use crate::support::{
    Org, RAISE, assert_code, dactl, kinds, report, stderr, stdout, temp_dir, timeout,
};

/// The cells of a table row (columns are at least two spaces apart).
fn cells(line: &str) -> Vec<&str> {
    line.split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}

#[test]
fn actions_list_and_eval_tables_show_unset_not_a_dash() {
    let org = Org::unthrottled(SandboxOptions::default());
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
            let expected = stored[row[0]].map_or("unset (60 s)".to_owned(), |t| t.to_string());
            assert_eq!(row[4], expected, "{what}: {row:?}");
        }
    }
}

/// Ids of the standard actions in `actions` that `keep` the timeout of.
fn standard(
    actions: &[Value],
    kinds: &HashMap<String, String>,
    keep: impl Fn(Option<i64>) -> bool,
) -> Vec<String> {
    let mut ids: Vec<String> = actions
        .iter()
        .filter(|a| kinds[a["id"].as_str().unwrap()] == "standard" && keep(timeout(a)))
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

/// Ids whose stored action differs between the two snapshots.
fn changed(before: &[Value], after: &[Value]) -> Vec<String> {
    let mut ids: Vec<String> = crate::support::diff(before, after)
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    ids.sort();
    ids
}

#[test]
fn the_raise_script_leaves_unset_actions_alone_unless_asked_and_says_so() {
    let org = Org::unthrottled(SandboxOptions::default());
    let kinds = kinds(&org);
    let before = org.actions();
    let unset = standard(&before, &kinds, |t| t.is_none());
    let low = standard(&before, &kinds, |t| t.is_some_and(|t| t < 30));
    assert!(unset.len() > 1 && !low.is_empty());

    let out = dactl(&org, &["run", RAISE, "--arg", "target=30"]);
    assert_code(&out, 0);
    let middle = org.actions();
    // Exactly the set ones below 30 changed, each to 30; no unset one was touched.
    assert_eq!(changed(&before, &middle), low);
    for id in &low {
        let now = middle.iter().find(|a| a["id"] == id.as_str()).unwrap();
        assert_eq!(timeout(now), Some(30), "{id}");
    }
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "{} actions have no timeout set and were left alone",
            unset.len()
        )) && text.contains("means 60 s")
            && text.contains("--arg unset=set"),
        "{text}"
    );

    // Asked for, they are set too; nothing else changes, and the count is not printed.
    let out = dactl(
        &org,
        &["run", RAISE, "--arg", "target=30", "--arg", "unset=set"],
    );
    assert_code(&out, 0);
    let after = org.actions();
    assert_eq!(changed(&middle, &after), unset);
    for id in &unset {
        let now = after.iter().find(|a| a["id"] == id.as_str()).unwrap();
        assert_eq!(timeout(now), Some(30), "{id}");
    }
    assert!(!stdout(&out).contains("left alone"), "{}", stdout(&out));
}

#[test]
fn the_raise_script_refuses_an_unknown_unset_value_before_any_write() {
    let org = Org::unthrottled(SandboxOptions::default());
    let before = org.actions();
    for value in ["bogus", "", "yes"] {
        let arg = format!("unset={value}");
        let out = dactl(&org, &["run", RAISE, "--arg", &arg]);
        assert_code(&out, 1);
        let err = stderr(&out);
        assert!(
            err.contains(&format!("`--arg {arg}`")) && err.contains("`--arg unset=set`"),
            "{err}"
        );
    }
    assert_eq!(org.writes(), 0);
    assert!(crate::support::diff(&before, &org.actions()).is_empty());
}

/// The JSON report's change for `id`.
fn change_of<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no change for {id} in {report}"))
}

#[test]
fn set_timeout_by_category_leaves_unset_actions_alone_unless_include_unset() {
    let org = Org::unthrottled(SandboxOptions::default());
    let kinds = kinds(&org);
    let before = org.actions();
    // A category of standard actions (no function ones: 41 s is too long for those) with both
    // unset timeouts and set ones.
    let category_of = |a: &Value| a["category"].as_str().unwrap().to_owned();
    let category = before
        .iter()
        .map(category_of)
        .find(|c| {
            let of = |a: &&Value| category_of(a) == *c;
            let ours: Vec<&Value> = before.iter().filter(of).collect();
            ours.iter().all(|a| {
                kinds.get(a["id"].as_str().unwrap()).map(String::as_str) != Some("function")
            }) && ours
                .iter()
                .any(|a| timeout(a).is_none() && kinds[a["id"].as_str().unwrap()] == "standard")
                && ours
                    .iter()
                    .any(|a| timeout(a).is_some() && kinds[a["id"].as_str().unwrap()] == "standard")
        })
        .expect("the seed org has a category with unset and set standard actions");
    let ours: Vec<Value> = before
        .iter()
        .filter(|a| category_of(a) == category)
        .cloned()
        .collect();
    let unset = standard(&ours, &kinds, |t| t.is_none());
    let set = standard(&ours, &kinds, |t| t.is_some());

    // A dry run plans the set ones and lists the unset ones as skipped, with the way to include them.
    let dry = dactl(
        &org,
        &[
            "--dry-run",
            "actions",
            "set-timeout",
            "--category",
            &category,
            "41",
        ],
    );
    assert_code(&dry, 0);
    assert!(
        stderr(&dry).contains("`--include-unset`"),
        "{}",
        stderr(&dry)
    );
    assert_eq!(org.writes(), 0);

    let out = dactl(
        &org,
        &[
            "--json",
            "actions",
            "set-timeout",
            "--category",
            &category,
            "41",
        ],
    );
    assert_code(&out, 0);
    let json = report(&out);
    for id in &unset {
        let change = change_of(&json, id);
        assert_eq!(change["status"], "skipped", "{change}");
        let reason = change["reason"].as_str().unwrap();
        assert!(
            reason.contains("means 60 s") && reason.contains("`--include-unset`"),
            "{reason}"
        );
    }
    let middle = org.actions();
    assert_eq!(changed(&before, &middle), set, "only the set ones changed");
    for id in &set {
        assert_eq!(timeout(&org.action(id)), Some(41), "{id}");
    }

    let out = dactl(
        &org,
        &[
            "actions",
            "set-timeout",
            "--category",
            &category,
            "--include-unset",
            "41",
        ],
    );
    assert_code(&out, 0);
    assert_eq!(
        changed(&middle, &org.actions()),
        unset,
        "now the unset ones"
    );
    for id in &unset {
        assert_eq!(timeout(&org.action(id)), Some(41), "{id}");
    }
}

#[test]
fn set_timeout_by_id_changes_an_unset_action_as_asked() {
    let org = Org::unthrottled(SandboxOptions::default());
    let kinds = kinds(&org);
    let unset = standard(&org.actions(), &kinds, |t| t.is_none());
    let id = unset[0].as_str();
    // `--include-unset` means nothing with ids: refused rather than ignored, before any request.
    let out = dactl(
        &org,
        &["actions", "set-timeout", "--include-unset", id, "42"],
    );
    assert_code(&out, 2);
    assert!(
        stderr(&out).contains("`--include-unset`"),
        "{}",
        stderr(&out)
    );
    assert_eq!(org.writes(), 0);

    let out = dactl(&org, &["actions", "set-timeout", id, "42"]);
    assert_code(&out, 0);
    assert_eq!(timeout(&org.action(id)), Some(42));
}

#[test]
fn the_quick_start_still_changes_actions_on_the_sandbox_org() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let command = "--sandbox run scripts/raise-timeouts.rhai --arg target=30";
    assert!(readme.contains(command), "the README's quick start changed");
    let dir = temp_dir("quick-start");
    let journal = dir.join("journal.jsonl");
    let out = crate::support::dactl_cmd()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["--json", "--journal", journal.to_str().unwrap()])
        .args(command.split(' '))
        .output()
        .unwrap();
    assert_code(&out, 0);
    let json = report(&out);
    assert!(json["counts"]["updated"].as_u64().unwrap() > 5, "{json}");
    assert!(stdout(&out).contains("left alone"), "{}", stdout(&out));
}

/// The examples follow the unset rule of `set-timeout --name`: `06-args.rhai` leaves an action
/// whose timeout is unset (60 s) alone and says so, unless `--arg unset=set`; `01-raise-one.rhai`
/// picks an action with a timeout set.
#[test]
fn the_examples_leave_unset_actions_alone_unless_asked_and_say_so() {
    let org = Org::unthrottled(SandboxOptions::default());
    let kinds = kinds(&org);
    let before = org.actions();
    let unset = standard(&before, &kinds, |t| t.is_none());
    let args = "examples/06-args.rhai";

    // The only `Order` action of the seed org has no timeout set: reported skipped, not planned.
    let out = dactl(
        &org,
        &[
            "--json",
            "--dry-run",
            "run",
            args,
            "--arg",
            "name=Order",
            "--arg",
            "target=45",
        ],
    );
    assert_code(&out, 0);
    let json = report(&out);
    let changes = json["changes"].as_array().unwrap();
    let order: Vec<&Value> = changes
        .iter()
        .filter(|c| c["name"].as_str().unwrap().contains("Order"))
        .collect();
    assert!(!order.is_empty());
    for change in &order {
        let id = change["id"].as_str().unwrap();
        assert!(unset.contains(&id.to_owned()), "{change}");
        assert_eq!(change["status"], "skipped", "{change}");
    }
    let said = stdout(&out);
    assert!(
        said.contains(&format!(
            "{} of them have a timeout that is unset (60 s)",
            order.len()
        )) && said.contains("--arg unset=set"),
        "{said}"
    );

    // Asked for, it is planned.
    let out = dactl(
        &org,
        &[
            "--json",
            "--dry-run",
            "run",
            args,
            "--arg",
            "name=Order",
            "--arg",
            "target=45",
            "--arg",
            "unset=set",
        ],
    );
    assert_code(&out, 0);
    let json = report(&out);
    for change in &order {
        let planned = change_of(&json, change["id"].as_str().unwrap());
        assert_eq!(planned["status"], "planned", "{planned}");
        assert_eq!(planned["after"], 45, "{planned}");
    }
    assert!(!stdout(&out).contains("unset (60 s)"), "{}", stdout(&out));

    // Over the whole org (no name), a real run (14 s: function data actions take it too): the
    // set ones change, no unset one does.
    let out = dactl(&org, &["run", args, "--arg", "target=14"]);
    assert_code(&out, 0);
    let after = org.actions();
    let moved = changed(&before, &after);
    assert!(!moved.is_empty());
    for id in &unset {
        assert!(!moved.contains(id), "{id} was unset and changed");
    }
    let out = dactl(&org, &["run", args, "--arg", "unset=bogus"]);
    assert_code(&out, 1);
    assert!(
        stderr(&out).contains("`--arg unset=bogus`"),
        "{}",
        stderr(&out)
    );

    // 01 picks an action with a timeout set, and says its before.
    let fresh = Org::unthrottled(SandboxOptions::default());
    let start = fresh.actions();
    let out = dactl(&fresh, &["run", "examples/01-raise-one.rhai"]);
    assert_code(&out, 0);
    let moved = changed(&start, &fresh.actions());
    assert_eq!(moved.len(), 1, "{moved:?}");
    let picked = start.iter().find(|a| a["id"] == moved[0].as_str()).unwrap();
    assert!(
        timeout(picked).is_some(),
        "01 picked an unset action: {picked}"
    );
}
