//! Promises a run keeps when other people work on the org at the same time, or when the run is
//! killed: someone else's draft is never published, someone else's write is never recorded as
//! dactl's (so undo never reverts it), and undo clears the draft a killed run left. Each test
//! runs the real binary against a sandbox, the other admin working through the API with their own
//! token.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::Stdio;

use dactl::sandbox::SandboxOptions;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{
    Org, assert_code, dactl, dactl_cmd, lines, listed_kinds, path, report, signal, stderr,
    temp_dir, timeout,
};

/// The journal's outcome lines for `id`, as `status` values.
fn outcomes(journal: &Path, id: &str) -> Vec<String> {
    lines(journal)
        .iter()
        .filter(|l| l["kind"] == "outcome" && l["action_id"] == id)
        .map(|l| l["status"].as_str().unwrap().to_owned())
        .collect()
}

/// Another admin opens a draft of `id` and changes only its `config.timeoutSeconds` to `seconds`.
fn draft_with_timeout(org: &Org, id: &str, seconds: i64) {
    let base = org.action_path(id);
    let (status, body) = org.api(Method::POST, &format!("{base}/draft"), None);
    assert_eq!(status, 200, "{body}");
    let (_, read) = org.api(
        Method::GET,
        &format!("{base}/draft?includeConfig=true"),
        None,
    );
    let mut config = read["config"].clone();
    let stored = org.action(id);
    for (section, key) in [
        ("request", "requestTemplate"),
        ("response", "successTemplate"),
    ] {
        config[section][key] = stored["config"][section][key].clone();
    }
    config["timeoutSeconds"] = json!(seconds);
    let (status, body) = org.api(
        Method::PATCH,
        &format!("{base}/draft"),
        Some(json!({"version": read["version"], "config": config})),
    );
    assert_eq!(status, 200, "{body}");
}

#[test]
fn a_draft_someone_else_opened_is_never_published_even_when_it_only_changes_the_timeout() {
    for templates in ["uri", "inline"] {
        let org = Org::seed();
        let dir = temp_dir("foreign-timeout-draft");
        let action = org.function_action();
        let id = action["id"].as_str().unwrap();
        draft_with_timeout(&org, id, 33);
        let before = org.action(id);
        let journal = dir.join("run.jsonl");
        let variant = format!("templates={templates}");

        let out = dactl(
            &org,
            &[
                "--sandbox-variant",
                &variant,
                "--json",
                "--journal",
                path(&journal),
                "actions",
                "set-timeout",
                id,
                "10",
            ],
        );
        assert_code(&out, 0);
        let change = &report(&out)["changes"][0];
        assert_eq!(change["status"], "skipped", "{templates}: {change}");
        assert!(
            change["reason"]
                .as_str()
                .unwrap()
                .contains("dactl did not create"),
            "{templates}: {change}"
        );
        // Their draft is still there, as they left it; the published action is untouched.
        let (status, draft) = org.api(
            Method::GET,
            &format!("{}/draft?includeConfig=true", org.action_path(id)),
            None,
        );
        assert_eq!(
            status, 200,
            "{templates}: their draft was published: {draft}"
        );
        assert_eq!(draft["config"]["timeoutSeconds"], 33, "{templates}");
        assert_eq!(org.action(id), before, "{templates}");
        assert!(
            !outcomes(&journal, id).contains(&"updated".to_owned()),
            "{templates}"
        );
    }
}

/// A standard action with a timeout set, and another, from the seed org.
fn two_standard_actions(org: &Org) -> (Value, Value) {
    let kinds = listed_kinds(org);
    let mut standard = org.actions().into_iter().filter(|a| {
        timeout(a).is_some_and(|t| t < 40)
            && kinds
                .iter()
                .any(|(id, kind)| a["id"] == id.as_str() && kind == "standard")
    });
    (standard.next().unwrap(), standard.next().unwrap())
}

#[test]
fn a_colleagues_write_between_dactls_read_and_its_write_is_never_recorded_as_dactls_nor_undone() {
    let org = Org::seed();
    let dir = temp_dir("colleague-write");
    let (a, other) = two_standard_actions(&org);
    let (a_id, other_id) = (a["id"].as_str().unwrap(), other["id"].as_str().unwrap());
    let journal = dir.join("repl.jsonl");

    let mut repl = dactl_cmd()
        .args(["--environment", &org.url(), "--rate", "100000"])
        .args(["--journal", path(&journal), "repl"])
        .env("GENESYSCLOUD_OAUTHCLIENT_ID", "sandbox")
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", "sandbox")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = repl.stdin.take().unwrap();
    let mut stdout = BufReader::new(repl.stdout.take().unwrap());
    writeln!(
        stdin,
        "let a = fetch_action(\"{a_id}\"); print(\"read \" + a.version);"
    )
    .unwrap();
    let mut seen = String::new();
    while !seen.contains("read ") {
        let mut line = String::new();
        assert_ne!(
            stdout.read_line(&mut line).unwrap(),
            0,
            "the REPL ended: {seen}"
        );
        seen.push_str(&line);
    }

    // The colleague, after dactl's read: 45 s and a new request URL.
    let (_, read) = org.api(
        Method::GET,
        &format!("{}?includeConfig=true", org.action_path(a_id)),
        None,
    );
    let mut config = read["config"].clone();
    let stored = org.action(a_id);
    for (section, key) in [
        ("request", "requestTemplate"),
        ("response", "successTemplate"),
    ] {
        config[section][key] = stored["config"][section][key].clone();
    }
    config["timeoutSeconds"] = json!(45);
    config["request"]["requestUrlTemplate"] = json!("https://colleague.example/v2");
    let (status, body) = org.api(
        Method::PATCH,
        &org.action_path(a_id),
        Some(json!({"version": read["version"], "config": config})),
    );
    assert_eq!(status, 200, "{body}");

    writeln!(
        stdin,
        "for c in update_timeouts([\"{other_id}\", a], 45) {{ print(`${{c.id}} ${{c.status}} ${{c.reason}}`); }}"
    )
    .unwrap();
    drop(stdin);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let status = repl.wait().unwrap();
    assert!(status.success(), "{seen}{rest}");
    let line = rest
        .lines()
        .find(|l| l.starts_with(a_id))
        .unwrap_or_else(|| panic!("no result for {a_id}: {rest}"));
    assert!(
        line.contains(" unchanged ") && line.contains("someone else"),
        "{line}"
    );
    assert!(
        !outcomes(&journal, a_id).contains(&"updated".to_owned()),
        "{:?}",
        lines(&journal)
    );
    assert_eq!(outcomes(&journal, other_id), ["updated"]);

    // Undo puts back dactl's own write and leaves the colleague's.
    let out = dactl(
        &org,
        &[
            "--journal",
            path(&dir.join("undo.jsonl")),
            "undo",
            path(&journal),
        ],
    );
    assert_code(&out, 0);
    assert_eq!(timeout(&org.action(other_id)), timeout(&other));
    let after = org.action(a_id);
    assert_eq!(
        timeout(&after),
        Some(45),
        "undo reverted the colleague's timeout"
    );
    assert_eq!(
        after["config"]["request"]["requestUrlTemplate"],
        "https://colleague.example/v2"
    );
}

/// Starts `set-timeout ID 9` on a function action with 150 ms latency, in `cwd`, journaling to
/// `journal` (as typed), and kills it with SIGKILL once its journal says the platform created its
/// draft (before the draft could be published).
fn kill_during_draft_work(org: &Org, cwd: &Path, journal: &str, id: &str) {
    let child = dactl_cmd()
        .current_dir(cwd)
        .args(["--environment", &org.url(), "--rate", "100000"])
        .args(["--journal", journal, "actions", "set-timeout", id, "9"])
        .env("GENESYSCLOUD_OAUTHCLIENT_ID", "sandbox")
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", "sandbox")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let file = cwd.join(journal);
    let start = std::time::Instant::now();
    while !std::fs::read_to_string(&file).is_ok_and(|t| t.contains("\"draft_created\"")) {
        assert!(
            start.elapsed().as_secs() < 60,
            "the run never created its draft"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    signal(&child, "-KILL");
    let mut child = child;
    child.wait().unwrap();
    // A request the sandbox was still delaying when the client died may yet land: let it.
    std::thread::sleep(std::time::Duration::from_millis(400));
}

fn slow_org() -> Org {
    Org::start(SandboxOptions {
        latency_ms: 150,
        rate_limit: 100_000,
        ..SandboxOptions::default()
    })
}

#[test]
fn undo_of_a_run_killed_during_draft_work_deletes_dactls_draft_and_only_dactls() {
    let org = slow_org();
    let dir = temp_dir("kill-draft");
    let action = org.function_action();
    let id = action["id"].as_str().unwrap();
    kill_during_draft_work(&org, &dir, "killed.jsonl", id);
    assert!(
        org.action(id).get("draft").is_some(),
        "the kill came too late: no draft left to test with"
    );

    let out = dactl(
        &org,
        &[
            "--json",
            "--journal",
            path(&dir.join("undo.jsonl")),
            "undo",
            path(&dir.join("killed.jsonl")),
        ],
    );
    assert_code(&out, 0);
    let after = org.action(id);
    assert!(
        after.get("draft").is_none(),
        "dactl's draft was left: {after}"
    );
    assert_eq!(after["function"], action["function"]);
    let change = &report(&out)["changes"][0];
    assert!(
        change["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("deleted"),
        "{change}"
    );

    // The same journal once someone has edited that draft: theirs now, left alone.
    kill_during_draft_work(&org, &dir, "killed-2.jsonl", id);
    let (_, read) = org.api(
        Method::GET,
        &format!("{}/draft?includeConfig=true", org.action_path(id)),
        None,
    );
    let mut config = read["config"].clone();
    config["request"]["requestUrlTemplate"] = json!("https://someone.example/edit");
    let stored = org.action(id);
    for (section, key) in [
        ("request", "requestTemplate"),
        ("response", "successTemplate"),
    ] {
        config[section][key] = stored["config"][section][key].clone();
    }
    let (status, body) = org.api(
        Method::PATCH,
        &format!("{}/draft", org.action_path(id)),
        Some(json!({"version": read["version"], "config": config})),
    );
    assert_eq!(status, 200, "{body}");
    let out = dactl(
        &org,
        &[
            "--journal",
            path(&dir.join("undo-2.jsonl")),
            "undo",
            path(&dir.join("killed-2.jsonl")),
        ],
    );
    assert_code(&out, 0);
    assert_eq!(
        org.action(id)["draft"]["config"]["request"]["requestUrlTemplate"],
        "https://someone.example/edit",
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_relative_journal_path_finds_the_draft_its_killed_run_left() {
    let org = slow_org();
    let dir = temp_dir("relative-journal");
    let action = org.function_action();
    let id = action["id"].as_str().unwrap();
    kill_during_draft_work(&org, &dir, "j1.jsonl", id);
    assert!(
        org.action(id).get("draft").is_some(),
        "the kill came too late"
    );

    // The re-run, in the same folder with a bare file name, knows the draft is its own.
    let out = dactl_cmd()
        .current_dir(&dir)
        .args(["--environment", &org.url(), "--rate", "100000"])
        .args([
            "--json",
            "--journal",
            "j2.jsonl",
            "actions",
            "set-timeout",
            id,
            "9",
        ])
        .env("GENESYSCLOUD_OAUTHCLIENT_ID", "sandbox")
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", "sandbox")
        .output()
        .unwrap();
    assert_code(&out, 0);
    assert_eq!(
        report(&out)["changes"][0]["status"],
        "updated",
        "{}",
        stderr(&out)
    );
    let after = org.action(id);
    assert_eq!(after["function"]["function"]["timeoutSeconds"], 9);
    assert!(after.get("draft").is_none());
}

#[test]
fn a_journal_written_by_release_0_1_0_still_undoes() {
    let org = Org::seed();
    let dir = temp_dir("old-journal");
    let before = org.actions();
    // What that release's run did, done again on a fresh seed org.
    let ids = [
        "46378148-7120-1f52-0284-9343789bfbab",
        "df6082c7-737d-6179-380c-1fb2837adfaf",
        "e3b32919-c36a-234b-82c5-19af50ae9f81",
        "5b719e02-b64d-fadd-e532-3623ca46c11a",
    ];
    let list = ids.map(|id| format!("\"{id}\"")).join(", ");
    let out = dactl(
        &org,
        &[
            "--journal",
            path(&dir.join("now.jsonl")),
            "eval",
            &format!("update_timeouts([{list}], 12)"),
        ],
    );
    assert_code(&out, 0);
    assert_ne!(org.actions(), before, "the eval changed nothing");

    let out = dactl(
        &org,
        &[
            "--journal",
            path(&dir.join("undo.jsonl")),
            "undo",
            "tests/fixtures/journal-0.1.0.jsonl",
        ],
    );
    assert_code(&out, 0);
    let after = org.actions();
    let pick = |list: &[Value], id: &str| {
        let a = list.iter().find(|a| a["id"] == id).unwrap();
        (
            timeout(a),
            a["function"]["function"]["timeoutSeconds"].clone(),
        )
    };
    for id in ids {
        assert_eq!(pick(&after, id), pick(&before, id), "{id}");
    }
}

/// A sandbox of `actions` actions whose listings shift under renames: after each of the first
/// `renames` listing pages another admin renames the last action by name to sort first.
fn renamed_while_listed(actions: usize, renames: u32, paging: &str) -> Org {
    let mut variants = dactl::sandbox::Variants::default();
    variants.set("paging", paging).unwrap();
    Org::start(SandboxOptions {
        actions: Some(actions),
        renames_during_listing: renames,
        variants,
        ..SandboxOptions::default()
    })
}

#[test]
fn a_listing_read_while_another_admin_renames_never_takes_an_action_twice_nor_misses_one() {
    for paging in ["page-count", "next-uri"] {
        // 300 actions are three pages; four renames shift the first reading (three pages) and
        // the first page of the second, so only a third reading is still.
        let org = renamed_while_listed(300, 4, paging);
        let before = org.actions();
        let dir = temp_dir("renamed-listing");
        let out = dactl(
            &org,
            &[
                "--json",
                "--journal",
                path(&dir.join("run.jsonl")),
                "run",
                "scripts/raise-timeouts.rhai",
                "--arg",
                "target=45",
            ],
        );
        assert_code(&out, 0);
        let changes = report(&out)["changes"].as_array().unwrap().clone();
        let mut ids: Vec<&str> = changes.iter().map(|c| c["id"].as_str().unwrap()).collect();
        let listed = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(
            ids.len(),
            listed,
            "{paging}: an action came twice in the report"
        );

        let after = org.actions();
        let renamed: Vec<String> = after
            .iter()
            .filter(|a| {
                a["name"]
                    .as_str()
                    .unwrap()
                    .starts_with("0 renamed meanwhile")
            })
            .map(|a| a["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(renamed.len(), 4, "{paging}: the sandbox renamed as asked");
        let kinds = crate::support::kinds(&org);
        let targets = crate::support::eligible(&before, &kinds, 45, false);
        assert!(targets.len() > 100, "{paging}: {} targets", targets.len());
        // Every eligible action was raised (a missed one keeps its old timeout), and nothing
        // else changed but the renames: a renamed action dactl did not change differs only in
        // its name and version (+1), and is compared as it was before.
        let after: Vec<Value> = after
            .into_iter()
            .map(|mut a| {
                let id = a["id"].as_str().unwrap().to_owned();
                if renamed.contains(&id) && !targets.contains(&id) {
                    let old = before.iter().find(|b| b["id"] == id).unwrap();
                    assert_eq!(a["version"], old["version"].as_i64().unwrap() + 1, "{id}");
                    a["name"] = old["name"].clone();
                    a["version"] = old["version"].clone();
                }
                a
            })
            .collect();
        crate::support::assert_only_intended(&before, &after, &targets, 45, &renamed);
    }
}

#[test]
fn a_listing_that_keeps_shifting_stops_the_run_before_any_write_and_says_how_many_it_may_miss() {
    for paging in ["page-count", "next-uri"] {
        let org = renamed_while_listed(250, 1_000, paging);
        let dir = temp_dir("shifting-listing");
        let out = dactl(
            &org,
            &[
                "--journal",
                path(&dir.join("run.jsonl")),
                "run",
                "scripts/raise-timeouts.rhai",
                "--arg",
                "target=45",
            ],
        );
        assert_code(&out, 1);
        let err = stderr(&out);
        assert!(
            err.contains("kept changing while dactl read it")
                && err.contains("may have missed up to"),
            "{paging}: {err}"
        );
        assert_eq!(org.writes(), 0, "{paging}: {err}");
    }
}
