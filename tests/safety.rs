//! Never harm a real org: someone else's draft is never published, the canary stops a run whose
//! first write changed more than its timeout (and puts it back), and an error that would repeat
//! for every action stops a run at once. All through the real binary against a sandbox.

use std::process::Output;
use std::time::{Duration, Instant};

use dactl::sandbox::SandboxOptions;
use serde_json::{Value, json};

use crate::support::{Org, code, dactl, diff, foreign_draft, report, stderr, stdout, temp_dir};

fn shown(output: &Output) -> String {
    format!("stdout: {}\nstderr: {}", stdout(output), stderr(output))
}

fn count(org: &Org, method: &str, route_end: &str) -> u64 {
    org.count(|m, r| m == method && r.ends_with(route_end))
}

#[test]
fn someone_elses_draft_is_never_published_and_the_action_is_skipped_with_a_reason() {
    let org = Org::unthrottled(SandboxOptions::default());
    let action = org.function_action();
    let id = action["id"].as_str().unwrap();
    foreign_draft(&org, id);
    let before = org.action(id);
    let publishes = count(&org, "POST", "/draft/publish");

    // A journal folder of its own: other tests' runs on other sandboxes drafted the same ids.
    let dir = temp_dir("foreign-draft");
    let journal = dir.join("run.jsonl");
    let out = dactl(
        &org,
        &[
            "--json",
            "--journal",
            journal.to_str().unwrap(),
            "actions",
            "set-timeout",
            id,
            "9",
        ],
    );
    // Skipped, not failed: someone else's unknown state is left alone and reported.
    assert_eq!(code(&out), 0, "{}", shown(&out));
    let change = &report(&out)["changes"][0];
    assert_eq!(change["status"], "skipped", "{change}");
    let reason = change["reason"].as_str().unwrap();
    assert!(
        reason.contains("draft")
            && reason.contains("did not create")
            && reason.contains("publish or delete"),
        "{reason}"
    );
    // The published action, its function settings and the other editor's draft: byte-identical.
    assert_eq!(org.action(id), before);
    assert_eq!(
        org.action(id)["draft"]["config"]["request"]["requestUrlTemplate"],
        "https://someone-elses.example/unfinished"
    );
    assert_eq!(count(&org, "POST", "/draft/publish"), publishes);
    assert_eq!(count(&org, "PUT", "/draft/function"), 0);
    assert_eq!(count(&org, "PATCH", "/draft"), 1, "only the other editor's");
}

#[test]
fn a_draft_an_interrupted_run_left_is_reused_only_while_the_journal_says_it_is_dactls_and_untouched()
 {
    let org = Org::unthrottled(SandboxOptions::default());
    let dir = temp_dir("own-draft");
    let action = org.function_action();
    let id = action["id"].as_str().unwrap();
    let version = action["version"].as_i64().unwrap();
    // What an interrupted run leaves: its journal says it was creating a draft from the published
    // version, and the draft exists, untouched.
    let (status, _) = org.api(
        reqwest::Method::POST,
        &format!("{}/draft", org.action_path(id)),
        None,
    );
    assert_eq!(status, 200);
    let asked = json!({"time": "2026-11-30T10:00:00.000Z", "run_id": "earlier", "kind": "draft",
        "action_id": id, "published_version": version});
    let created = json!({"time": "2026-11-30T10:00:00.100Z", "run_id": "earlier",
        "kind": "draft_created", "action_id": id, "published_version": version, "draft_version": 1});
    let journal = dir.join("now.jsonl");

    // A journal that asked for a draft but never recorded the answer proves nothing: the draft
    // may be someone else's, so it is left alone.
    std::fs::write(dir.join("earlier.jsonl"), format!("{asked}\n")).unwrap();
    let out = dactl(
        &org,
        &[
            "--json",
            "--journal",
            journal.to_str().unwrap(),
            "actions",
            "set-timeout",
            id,
            "9",
        ],
    );
    assert_eq!(code(&out), 0, "{}", shown(&out));
    let change = &report(&out)["changes"][0];
    assert_eq!(change["status"], "skipped", "{change}");
    assert!(
        change["reason"]
            .as_str()
            .unwrap()
            .contains("cannot be proven"),
        "{change}"
    );
    assert!(
        org.action(id).get("draft").is_some(),
        "the draft was touched"
    );

    // With the platform's answer recorded, the untouched draft is dactl's and is published.
    std::fs::write(dir.join("earlier.jsonl"), format!("{asked}\n{created}\n")).unwrap();
    let out = dactl(
        &org,
        &[
            "--json",
            "--journal",
            journal.to_str().unwrap(),
            "actions",
            "set-timeout",
            id,
            "9",
        ],
    );
    assert_eq!(code(&out), 0, "{}", shown(&out));
    assert_eq!(report(&out)["changes"][0]["status"], "updated");
    let after = org.action(id);
    assert_eq!(after["function"]["function"]["timeoutSeconds"], 9);
    assert!(after.get("draft").is_none(), "the draft was published");
    assert_eq!(after["version"], version + 1);

    // The same journal, but the draft was edited since: someone's work now, left alone.
    foreign_draft(&org, id);
    let now = org.action(id);
    let asked = json!({"time": "2026-11-30T10:00:00.000Z", "run_id": "earlier", "kind": "draft",
        "action_id": id, "published_version": now["version"]});
    let created = json!({"time": "2026-11-30T10:00:00.100Z", "run_id": "earlier",
        "kind": "draft_created", "action_id": id, "published_version": now["version"]});
    std::fs::write(dir.join("earlier.jsonl"), format!("{asked}\n{created}\n")).unwrap();
    let out = dactl(
        &org,
        &[
            "--json",
            "--journal",
            journal.to_str().unwrap(),
            "actions",
            "set-timeout",
            id,
            "12",
        ],
    );
    assert_eq!(code(&out), 0, "{}", shown(&out));
    assert_eq!(report(&out)["changes"][0]["status"], "skipped");
    assert_eq!(org.action(id), now);
}

#[test]
fn a_function_action_published_meanwhile_keeps_the_other_change_and_gets_the_timeout() {
    let org = Org::unthrottled(SandboxOptions {
        latency_ms: 150,
        ..SandboxOptions::default()
    });
    let action = org.function_action();
    let id = action["id"].as_str().unwrap().to_owned();
    let child = crate::support::dactl_cmd()
        .args(["--environment", &org.url(), "--rate", "100000"])
        .args(["actions", "set-timeout", &id, "9"])
        .env("GENESYSCLOUD_OAUTHCLIENT_ID", "sandbox")
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", "sandbox")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Once dactl has its draft, another editor publishes a change to the action.
    let deadline = Instant::now() + Duration::from_secs(30);
    while count(&org, "POST", "/draft") == 0 {
        assert!(Instant::now() < deadline, "dactl never created its draft");
        std::thread::sleep(Duration::from_millis(5));
    }
    org.rt.block_on(async {
        let response = reqwest::Client::new()
            .post(format!("{}/sandbox/actions/{id}/edit", org.url()))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
    });
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 0, "{}", shown(&out));
    let after = org.action(&id);
    assert!(
        after["name"].as_str().unwrap().ends_with("(edited)"),
        "publishing dactl's draft undid the other editor's change: {after}"
    );
    assert_eq!(after["function"]["function"]["timeoutSeconds"], 9);
    assert!(after.get("draft").is_none());
}

/// `raise-timeouts.rhai` on the seed org with `corrupt_writes` PATCHes corrupted.
fn corrupted_raise(corrupt_writes: u32, extra: &[&str]) -> (Org, Vec<Value>, Output) {
    let org = Org::unthrottled(SandboxOptions {
        corrupt_writes,
        ..SandboxOptions::default()
    });
    let dir = temp_dir("canary");
    let journal = dir.join("run.jsonl");
    let before = org.actions();
    let mut args = vec!["--json", "--journal", journal.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["run", "scripts/raise-timeouts.rhai", "--arg", "target=45"]);
    let out = dactl(&org, &args);
    (org, before, out)
}

#[test]
fn a_canary_that_changed_more_than_its_timeout_stops_the_run_and_is_put_back() {
    let (org, before, out) = corrupted_raise(1, &[]);
    assert_eq!(code(&out), 1, "{}", shown(&out));
    // Exactly one change was written, then put back: two PATCHes of the same action.
    assert_eq!(count(&org, "PATCH", "/{actionId}"), 2, "{}", shown(&out));
    let after = org.actions();
    let changed = diff(&before, &after);
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(
        changed[0].1,
        [".version"],
        "only the canary's version moved"
    );
    let canary_id = &changed[0].0;
    let json = report(&out);
    let canary = &json["canary"];
    assert_eq!(canary["id"], canary_id.as_str());
    assert_eq!(canary["passed"], false);
    assert_eq!(canary["put_back"], true);
    let differences = canary["differences"].to_string();
    assert!(
        differences.contains("Template") && differences.contains("->"),
        "names the field with before -> after: {differences}"
    );
    // The rest were not attempted, with the reason.
    let changes = json["changes"].as_array().unwrap();
    let not_attempted = changes
        .iter()
        .filter(|c| c["status"] == "not_attempted")
        .count();
    assert!(not_attempted > 5, "{json}");
    assert!(
        changes
            .iter()
            .filter(|c| c["status"] == "not_attempted")
            .all(|c| c["reason"].as_str().unwrap().contains(canary_id.as_str()))
    );
    assert_eq!(
        changes.iter().filter(|c| c["status"] == "updated").count(),
        0
    );
    assert!(stderr(&out).contains("canary"), "{}", shown(&out));
}

#[test]
fn a_canary_that_cannot_be_put_back_says_so_and_still_stops_the_run() {
    // Every write corrupted: the put-back is too, and the run must say so.
    let (org, before, out) = corrupted_raise(1000, &[]);
    assert_eq!(code(&out), 1, "{}", shown(&out));
    assert_eq!(count(&org, "PATCH", "/{actionId}"), 2);
    let canary = &report(&out)["canary"];
    let put_back = canary["put_back"]
        .as_str()
        .unwrap_or_else(|| panic!("{canary}"));
    assert!(put_back.contains("still differs"), "{put_back}");
    let changed = diff(&before, &org.actions());
    assert_eq!(
        changed.len(),
        1,
        "no action but the canary was touched: {changed:?}"
    );
    assert!(
        stderr(&out).contains("journal holds the action"),
        "{}",
        shown(&out)
    );
}

#[test]
fn without_the_canary_every_write_goes_ahead() {
    // `--no-canary` is what it says: the corrupted first write is not caught.
    let (org, _, out) = corrupted_raise(1, &["--no-canary"]);
    assert_eq!(code(&out), 0, "{}", shown(&out));
    assert!(report(&out)["canary"].is_null());
    assert!(count(&org, "PATCH", "/{actionId}") > 5);
}

#[test]
fn a_canary_that_passes_is_named_and_the_run_goes_on() {
    let (org, before, out) = corrupted_raise(0, &[]);
    assert_eq!(code(&out), 0, "{}", shown(&out));
    let json = report(&out);
    let canary = &json["canary"];
    assert_eq!(canary["passed"], true, "{canary}");
    assert!(canary["put_back"].is_null());
    let updated: Vec<&Value> = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "updated")
        .collect();
    assert!(updated.iter().any(|c| c["id"] == canary["id"]));
    assert_eq!(count(&org, "PATCH", "/{actionId}"), updated.len() as u64);
    // Only timeouts and versions moved.
    for (_, paths) in diff(&before, &org.actions()) {
        assert!(
            paths
                .iter()
                .all(|p| p == ".version" || p == ".config.timeoutSeconds"),
            "{paths:?}"
        );
    }
    let id = canary["id"].as_str().unwrap();
    assert!(
        stderr(&out).contains(&format!("canary: `{id}`")),
        "{}",
        shown(&out)
    );
}

#[test]
fn a_missing_edit_permission_stops_a_bulk_run_at_the_first_write() {
    let org = Org::unthrottled(SandboxOptions {
        actions: Some(60),
        read_only_clients: vec![("viewer".into(), "viewer-secret".into())],
        ..SandboxOptions::default()
    });
    let before = org.actions();
    let out = crate::support::dactl_cmd()
        .args(["--environment", &org.url(), "--rate", "100000", "--json"])
        .args([
            "run",
            "scripts/raise-timeouts.rhai",
            "--arg",
            "target=60",
            "--arg",
            "unset=set",
        ])
        .env("GENESYSCLOUD_OAUTHCLIENT_ID", "viewer")
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", "viewer-secret")
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", shown(&out));
    assert_eq!(
        count(&org, "PATCH", "/{actionId}"),
        1,
        "one 403, then no more writes"
    );
    assert!(diff(&before, &org.actions()).is_empty());
    let json = report(&out);
    let changes = json["changes"].as_array().unwrap();
    let failed = changes.iter().filter(|c| c["status"] == "failed").count();
    let not_attempted: Vec<&Value> = changes
        .iter()
        .filter(|c| c["status"] == "not_attempted")
        .collect();
    assert_eq!(failed, 1);
    assert!(not_attempted.len() > 20, "{}", not_attempted.len());
    assert!(not_attempted.iter().all(|c| {
        let reason = c["reason"].as_str().unwrap();
        reason.contains("would repeat") && reason.contains("integrations:action:edit")
    }));
}

/// The region stops answering in the middle of a bulk run (the sandbox goes away: connections are
/// refused from then on). The writes in flight fail after their retries; no further action is
/// tried, each is `not_attempted` with the reason, and the run exits 1 instead of spending its
/// retries on every remaining action.
#[test]
fn a_region_that_stops_answering_stops_a_bulk_run() {
    let org = Org::unthrottled(SandboxOptions {
        actions: Some(60),
        ..SandboxOptions::default()
    });
    let dir = temp_dir("unreachable");
    let journal = dir.join("run.jsonl");
    // 120 requests per minute on one token: the run needs over a minute, so the sandbox goes away
    // mid-run.
    let child = crate::support::dactl_cmd()
        .args(["--environment", &org.url(), "--rate", "120", "--json"])
        .args(["--tokens", "1", "--concurrency", "8"])
        .args(["--journal", journal.to_str().unwrap()])
        .args([
            "run",
            "scripts/raise-timeouts.rhai",
            "--arg",
            "target=60",
            "--arg",
            "unset=set",
        ])
        .env("GENESYSCLOUD_OAUTHCLIENT_ID", "sandbox")
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", "sandbox")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let outcomes = || {
        std::fs::read_to_string(&journal)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(r#""kind":"outcome""#))
            .count()
    };
    let waiting = Instant::now();
    while outcomes() < 3 {
        assert!(waiting.elapsed() < Duration::from_secs(60), "no writes");
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(org);
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 1, "{}", shown(&out));
    let changes = report(&out)["changes"].as_array().unwrap().clone();
    let with = |status: &str| changes.iter().filter(|c| c["status"] == status).count();
    // At most the writes in flight (`--concurrency`, 8) failed; the rest were never tried.
    assert!((1..=8).contains(&with("failed")), "{}", shown(&out));
    assert!(with("not_attempted") >= 20, "{}", shown(&out));
    assert!(
        changes
            .iter()
            .filter(|c| c["status"] == "not_attempted")
            .all(|c| c["reason"]
                .as_str()
                .unwrap()
                .contains("could not be reached")),
        "{}",
        shown(&out)
    );
}
