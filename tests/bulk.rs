//! Safe bulk changes through the real binary against a sandbox org: undo from a journal (whole,
//! cut short, changed since), saved plans applied after concurrent edits, the JSON report,
//! one-shot `actions` commands, interrupts, faults, the request budget, and kill -9.

use dactl::sandbox::SandboxOptions;
use serde_json::Value;

use crate::support::{
    Org, RAISE, assert_code, assert_complete, dactl, diff, eligible, kill_rerun_undo, kinds, lines,
    path, raise, report, signal, spawn, stderr, stdout, temp_dir, timeout, wait_for_intents,
    without_versions,
};

/// The hand-written seed org, with a rate limit that does not slow tests down.
fn seed() -> Org {
    Org::start(SandboxOptions {
        rate_limit: 100_000,
        ..SandboxOptions::default()
    })
}

#[test]
fn undo_puts_back_the_exact_before_state() {
    let org = seed();
    let dir = temp_dir("undo");
    let before = org.actions();
    let journal = dir.join("run.jsonl");
    assert_code(&raise(&org, &journal, "30"), 0);
    let raised = org.actions();
    let changed = diff(&before, &raised);
    assert!(changed.len() > 10, "{changed:?}");
    // Some of them had no timeout at all: undo must remove the field again.
    assert!(
        changed
            .iter()
            .any(|(id, _)| timeout(before.iter().find(|a| &a["id"] == id).unwrap()).is_none())
    );

    // A dry undo plans every put-back and writes nothing.
    let writes = org.writes();
    let dry = dactl(&org, &["--dry-run", "--json", "undo", path(&journal)]);
    assert_code(&dry, 0);
    assert_eq!(org.writes(), writes);
    assert_eq!(triples(&report(&dry), "planned").len(), changed.len());
    let undo_journal = dir.join("undo.jsonl");
    let output = dactl(
        &org,
        &["--journal", path(&undo_journal), "undo", path(&journal)],
    );
    assert_code(&output, 0);
    assert!(stderr(&output).contains("updated"), "{}", stderr(&output));
    assert_eq!(without_versions(&org.actions()), without_versions(&before));
    let undo_lines = lines(&undo_journal);
    assert_eq!(
        undo_lines.iter().filter(|l| l["kind"] == "intent").count(),
        changed.len()
    );
    // Undoing again changes nothing: every action is already back.
    let writes = org.writes();
    let again = dactl(
        &org,
        &[
            "--journal",
            path(&dir.join("again.jsonl")),
            "undo",
            path(&journal),
        ],
    );
    assert_code(&again, 0);
    assert_eq!(org.writes(), writes);
    assert!(stderr(&again).contains("unchanged"), "{}", stderr(&again));
}

#[test]
fn undo_handles_a_journal_cut_short_by_a_crash() {
    let org = seed();
    let dir = temp_dir("cut");
    let before = org.actions();
    let journal = dir.join("run.jsonl");
    assert_code(&raise(&org, &journal, "30"), 0);
    let text = std::fs::read_to_string(&journal).unwrap();
    let all: Vec<&str> = text.lines().collect();
    let parsed: Vec<Value> = all
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let intents: Vec<usize> = (0..all.len())
        .filter(|&i| parsed[i]["kind"] == "intent")
        .collect();
    assert!(intents.len() >= 5);
    let outcome_of = |i: usize| {
        (0..all.len())
            .find(|&j| {
                parsed[j]["kind"] == "outcome" && parsed[j]["action_id"] == parsed[i]["action_id"]
            })
            .unwrap()
    };
    // Four writes, the fourth without its outcome line (the crash came between the answer and
    // its line), and half of the fifth intent.
    let mut cut: Vec<&str> = Vec::new();
    for (n, &i) in intents[..4].iter().enumerate() {
        cut.push(all[i]);
        if n < 3 {
            cut.push(all[outcome_of(i)]);
        }
    }
    let fifth = all[intents[4]];
    cut.push(&fifth[..fifth.len() / 2]);
    let cut_path = dir.join("cut.jsonl");
    std::fs::write(&cut_path, cut.join("\n")).unwrap();
    let kept: Vec<String> = intents[..4]
        .iter()
        .map(|&i| parsed[i]["action_id"].as_str().unwrap().to_owned())
        .collect();

    let output = dactl(
        &org,
        &[
            "--journal",
            path(&dir.join("undo.jsonl")),
            "undo",
            path(&cut_path),
        ],
    );
    assert_code(&output, 0);
    let now = org.actions();
    for (old, new) in before.iter().zip(&now) {
        let id = old["id"].as_str().unwrap();
        if kept.iter().any(|k| k == id) {
            assert_eq!(timeout(new), timeout(old), "{id} was put back");
        } else if diff(std::slice::from_ref(old), std::slice::from_ref(new)).is_empty() {
            // Not touched by the run.
        } else {
            assert_eq!(timeout(new), Some(30), "{id} stays raised");
        }
    }
}

#[test]
fn undo_skips_what_changed_since_unless_forced() {
    let org = seed();
    let dir = temp_dir("since");
    let before = org.actions();
    let journal = dir.join("run.jsonl");
    assert_code(&raise(&org, &journal, "30"), 0);
    let first = lines(&journal)
        .into_iter()
        .find(|l| l["kind"] == "intent")
        .unwrap();
    let id = first["action_id"].as_str().unwrap().to_owned();
    let old = timeout(&first["action"]);
    // Someone sets it to 40 after the run.
    let set = dactl(
        &org,
        &[
            "--journal",
            path(&dir.join("set.jsonl")),
            "actions",
            "set-timeout",
            &id,
            "40",
        ],
    );
    assert_code(&set, 0);

    let output = dactl(
        &org,
        &[
            "--json",
            "--journal",
            path(&dir.join("undo.jsonl")),
            "undo",
            path(&journal),
        ],
    );
    assert_code(&output, 0);
    let json = report(&output);
    let mine = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id.as_str())
        .unwrap();
    assert_eq!(mine["status"], "skipped");
    assert!(
        mine["reason"]
            .as_str()
            .unwrap()
            .starts_with("changed since"),
        "{mine}"
    );
    assert_eq!(timeout(&org.action(&id)), Some(40));
    assert!(json["counts"]["updated"].as_u64().unwrap() > 5);

    let forced = dactl(
        &org,
        &[
            "--journal",
            path(&dir.join("force.jsonl")),
            "undo",
            "--force",
            path(&journal),
        ],
    );
    assert_code(&forced, 0);
    assert_eq!(timeout(&org.action(&id)), old);
    assert_eq!(without_versions(&org.actions()), without_versions(&before));
}

#[test]
fn undo_refuses_corrupt_foreign_and_empty_journals_without_a_request() {
    let org = seed();
    let dir = temp_dir("corrupt");
    for (name, text) in [
        ("empty.jsonl", ""),
        ("foreign.jsonl", "{\"hello\": \"world\"}\n"),
        ("corrupt.jsonl", "this is not json\n{}\n"),
    ] {
        let file = dir.join(name);
        std::fs::write(&file, text).unwrap();
        let output = dactl(&org, &["undo", path(&file)]);
        assert_code(&output, 2);
        assert!(
            stderr(&output).contains(&format!("`{}`", file.display())),
            "{}",
            stderr(&output)
        );
    }
    assert_eq!(org.count(|_, _| true), 0, "no request was sent");
}

#[test]
fn undo_puts_back_a_function_data_actions_timeout() {
    let org = seed();
    let dir = temp_dir("function");
    let list = dactl(&org, &["--json", "actions", "list", "--kind", "function"]);
    assert_code(&list, 0);
    let functions: Vec<Value> = serde_json::from_str(&stdout(&list)).unwrap();
    let id = functions[0]["id"].as_str().unwrap().to_owned();
    let get = |org: &Org| -> Value {
        let out = dactl(org, &["--json", "actions", "get", &id]);
        assert_code(&out, 0);
        serde_json::from_str(&stdout(&out)).unwrap()
    };
    let old = get(&org)["function_timeout_seconds"].as_i64();
    let new = if old == Some(7) { "8" } else { "7" };
    let journal = dir.join("run.jsonl");
    let set = dactl(
        &org,
        &[
            "--journal",
            path(&journal),
            "actions",
            "set-timeout",
            &id,
            new,
        ],
    );
    assert_code(&set, 0);
    assert_eq!(
        get(&org)["function_timeout_seconds"].as_i64(),
        new.parse().ok()
    );
    let undo = dactl(
        &org,
        &[
            "--journal",
            path(&dir.join("undo.jsonl")),
            "undo",
            path(&journal),
        ],
    );
    assert_code(&undo, 0);
    assert_eq!(
        get(&org)["function_timeout_seconds"].as_i64().or(Some(15)),
        old.or(Some(15))
    );
}

/// (id, before, after) of the changes with `status` in a JSON report.
fn triples(json: &Value, status: &str) -> Vec<(String, Value, Value)> {
    json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == status)
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["before"].clone(),
                c["after"].clone(),
            )
        })
        .collect()
}

#[test]
fn a_dry_run_writes_nothing_and_its_plan_is_what_the_run_does() {
    let org = seed();
    let dir = temp_dir("plan-equals");
    let plan = dir.join("plan.json");
    let dry = dactl(
        &org,
        &[
            "--json",
            "--plan-out",
            path(&plan),
            "run",
            RAISE,
            "--arg",
            "target=35",
        ],
    );
    assert_code(&dry, 0);
    assert_eq!(org.writes(), 0);
    let planned = triples(&report(&dry), "planned");
    assert!(planned.len() > 10);
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    let saved: Vec<(String, Value, Value)> = saved["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["before"].clone(),
                c["after"].clone(),
            )
        })
        .collect();
    assert_eq!(saved, planned);

    let real = dactl(
        &org,
        &[
            "--json",
            "--journal",
            path(&dir.join("run.jsonl")),
            "run",
            RAISE,
            "--arg",
            "target=35",
        ],
    );
    assert_code(&real, 0);
    assert_eq!(triples(&report(&real), "updated"), planned);
}

#[test]
fn a_saved_plan_applied_after_concurrent_edits_skips_or_reapplies() {
    let org = seed();
    let dir = temp_dir("apply");
    let plan_path = dir.join("plan.json");
    let dry = dactl(
        &org,
        &[
            "--plan-out",
            path(&plan_path),
            "run",
            RAISE,
            "--arg",
            "target=30",
        ],
    );
    assert_code(&dry, 0);
    assert_eq!(org.writes(), 0);
    let plan: Value = serde_json::from_str(&std::fs::read_to_string(&plan_path).unwrap()).unwrap();
    let changes = plan["changes"].as_array().unwrap();
    let renamed = changes[0]["id"].as_str().unwrap().to_owned();
    let retimed = changes[1]["id"].as_str().unwrap().to_owned();
    // Between plan and apply: one action is renamed, another gets a new timeout.
    org.edit(&renamed);
    let set = dactl(
        &org,
        &[
            "--journal",
            path(&dir.join("other.jsonl")),
            "actions",
            "set-timeout",
            &retimed,
            "44",
        ],
    );
    assert_code(&set, 0);

    let applied = dactl(
        &org,
        &[
            "--json",
            "--journal",
            path(&dir.join("apply.jsonl")),
            "apply",
            path(&plan_path),
        ],
    );
    assert_code(&applied, 0);
    let json = report(&applied);
    let by_id = |id: &str| {
        json["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(by_id(&renamed)["status"], "updated");
    let now = org.action(&renamed);
    assert_eq!(timeout(&now), Some(30));
    assert!(
        now["name"].as_str().unwrap().ends_with(" (edited)"),
        "{now}"
    );
    assert_eq!(by_id(&retimed)["status"], "skipped");
    assert_eq!(by_id(&retimed)["reason"], "changed since planned");
    assert_eq!(timeout(&org.action(&retimed)), Some(44));
    assert_eq!(
        json["counts"]["updated"].as_u64().unwrap() as usize,
        changes.len() - 1
    );
    for change in changes {
        let id = change["id"].as_str().unwrap();
        if id != retimed {
            assert_eq!(timeout(&org.action(id)), Some(30), "{id}");
        }
    }
}

#[test]
fn a_hand_edited_plan_is_refused_without_a_write() {
    let org = seed();
    let dir = temp_dir("bad-plan");
    let plan_path = dir.join("plan.json");
    assert_code(
        &dactl(
            &org,
            &[
                "--plan-out",
                path(&plan_path),
                "run",
                RAISE,
                "--arg",
                "target=30",
            ],
        ),
        0,
    );
    let text = std::fs::read_to_string(&plan_path).unwrap();
    for (edited, says) in [
        (text.replacen("\"after\": 30", "\"after\": 3000", 1), "3000"),
        (text.replacen("\"version\"", "\"vrsion\"", 1), "vrsion"),
        (text[..text.len() - 20].to_owned(), "not a dactl plan"),
    ] {
        std::fs::write(&plan_path, &edited).unwrap();
        let output = dactl(&org, &["apply", path(&plan_path)]);
        assert_code(&output, 2);
        assert!(stderr(&output).contains(says), "{}", stderr(&output));
    }
    assert_eq!(org.writes(), 0);
}

#[test]
fn actions_list_get_and_set_timeout() {
    let org = seed();
    let dir = temp_dir("actions");
    let table = dactl(&org, &["actions", "list", "--kind", "standard"]);
    assert_code(&table, 0);
    let text = stdout(&table);
    let header = text.lines().next().unwrap();
    for column in ["id", "name", "category", "kind", "timeout"] {
        assert!(header.contains(column), "{header}");
    }
    assert!(
        text.lines().skip(1).all(|l| l.contains("standard")),
        "{text}"
    );

    let list = dactl(&org, &["--json", "actions", "list"]);
    let all: Vec<Value> = serde_json::from_str(&stdout(&list)).unwrap();
    assert_eq!(all.len(), org.actions().len());
    let category = all.iter().find(|a| a["kind"] == "standard").unwrap()["category"]
        .as_str()
        .unwrap()
        .to_owned();
    let in_category: Vec<&Value> = all
        .iter()
        .filter(|a| a["category"] == category.as_str())
        .collect();
    let one = dactl(
        &org,
        &["--json", "actions", "list", "--category", &category],
    );
    let listed: Vec<Value> = serde_json::from_str(&stdout(&one)).unwrap();
    assert_eq!(listed.len(), in_category.len());

    let id = listed[0]["id"].as_str().unwrap();
    let got = dactl(&org, &["--json", "actions", "get", id]);
    let got: Value = serde_json::from_str(&stdout(&got)).unwrap();
    assert_eq!(got["id"], id);
    assert!(got["config"].is_object());
    let missing = dactl(&org, &["actions", "get", "no-such-action"]);
    assert_code(&missing, 1);
    assert!(stderr(&missing).contains("`no-such-action`"));

    // A dry run of a category plans, writes nothing.
    let dry = dactl(
        &org,
        &[
            "--dry-run",
            "--json",
            "actions",
            "set-timeout",
            "--category",
            &category,
            "41",
        ],
    );
    assert_code(&dry, 0);
    assert_eq!(org.writes(), 0);
    assert!(!triples(&report(&dry), "planned").is_empty());
    let set = dactl(
        &org,
        &[
            "--journal",
            path(&dir.join("set.jsonl")),
            "actions",
            "set-timeout",
            "--category",
            &category,
            "41",
        ],
    );
    assert_code(&set, 0);
    assert!(stderr(&set).contains("journal: "), "{}", stderr(&set));
    for action in org
        .actions()
        .iter()
        .filter(|a| a["category"] == category.as_str())
    {
        if action["id"].as_str().unwrap().starts_with("static") {
            continue;
        }
        // Standard ones get 41 s; those with no timeout set are left alone (no `--include-unset`).
        if let Some(listed) = in_category
            .iter()
            .find(|a| a["id"] == action["id"] && a["kind"] == "standard")
        {
            let expected = listed["timeout_seconds"].as_i64().map(|_| 41);
            assert_eq!(timeout(action), expected, "{action}");
        }
    }
    // Usage errors: a bad timeout, ids and a filter together.
    assert_code(&dactl(&org, &["actions", "set-timeout", id, "5000"]), 2);
    assert_code(
        &dactl(
            &org,
            &["actions", "set-timeout", id, "--category", &category, "30"],
        ),
        2,
    );
    // An id that does not exist fails (exit 1); the others are still changed.
    let partial = dactl(
        &org,
        &[
            "--journal",
            path(&dir.join("partial.jsonl")),
            "actions",
            "set-timeout",
            id,
            "no-such-action",
            "42",
        ],
    );
    assert_code(&partial, 1);
    assert_eq!(timeout(&org.action(id)), Some(42));
}

/// An org of `n` generated actions that allows many requests a minute.
fn big_org(n: usize, fault_rate: f64, latency_ms: u64) -> Org {
    Org::start(SandboxOptions {
        actions: Some(n),
        fault_rate,
        latency_ms,
        rate_limit: 100_000,
        ..SandboxOptions::default()
    })
}

/// Template reads a write of each action costs, by id: one per template its config names only by
/// URI (`requestTemplateUri` without `requestTemplate`, `successTemplateUri` without
/// `successTemplate`), since a PATCH replaces the config whole and must carry the text. Read from
/// the configs the API lists (`dactl actions list --json`), the ones the client decides on, so the
/// count follows whatever the sandbox's `templates` variant shows.
fn template_reads(org: &Org) -> std::collections::HashMap<String, u64> {
    let list = dactl(org, &["--json", "actions", "list"]);
    assert_code(&list, 0);
    let all: Vec<Value> = serde_json::from_str(&stdout(&list)).unwrap();
    let uri_only = |section: &Value, text: &str, uri: &str| {
        u64::from(section.get(text).is_none_or(Value::is_null) && section[uri].is_string())
    };
    all.iter()
        .map(|a| {
            let config = &a["config"];
            let reads = uri_only(&config["request"], "requestTemplate", "requestTemplateUri")
                + uri_only(&config["response"], "successTemplate", "successTemplateUri");
            (a["id"].as_str().unwrap().to_owned(), reads)
        })
        .collect()
}

/// Standard actions with no timeout set.
fn unset_standard(before: &[Value], kinds: &std::collections::HashMap<String, String>) -> usize {
    before
        .iter()
        .filter(|a| kinds.get(a["id"].as_str().unwrap()).map(String::as_str) == Some("standard"))
        .filter(|a| timeout(a).is_none())
        .count()
}

#[test]
fn a_300_action_raise_under_faults_changes_exactly_the_eligible_ones() {
    let org = big_org(300, 0.2, 0);
    let dir = temp_dir("faults");
    let kinds = kinds(&org);
    let before = org.actions();
    let eligible = eligible(&before, &kinds, 30, false);
    assert!(eligible.len() > 60, "{}", eligible.len());
    // Unset ones are there to be left alone: the exact comparison below sees any that were not.
    assert!(unset_standard(&before, &kinds) > 50);
    let journal = dir.join("run.jsonl");
    let output = dactl(
        &org,
        &[
            "--journal",
            path(&journal),
            "run",
            RAISE,
            "--arg",
            "target=30",
        ],
    );
    assert_code(&output, 0);
    let after = org.actions();
    let changed = diff(&before, &after);
    let mut changed_ids: Vec<&str> = changed.iter().map(|(id, _)| id.as_str()).collect();
    changed_ids.sort_unstable();
    let mut expected: Vec<&str> = eligible.iter().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(changed_ids, expected);
    for (id, paths) in &changed {
        // Only the timeout and the version moved (and template text a config named only by URI
        // is now inline, which `/sandbox/actions` already showed merged).
        assert!(
            paths
                .iter()
                .all(|p| p == ".version" || p == ".config.timeoutSeconds"),
            "{id}: {paths:?}"
        );
        assert_eq!(
            timeout(after.iter().find(|a| a["id"] == id.as_str()).unwrap()),
            Some(30)
        );
    }
    let lines = lines(&journal);
    assert_complete(&lines);
    for id in &eligible {
        assert!(
            lines.iter().any(|l| l["kind"] == "outcome"
                && l["action_id"] == id.as_str()
                && l["status"] == "updated"),
            "{id} has an `updated` outcome"
        );
    }
    // And undo puts every one back.
    let undo = dactl(
        &org,
        &[
            "--journal",
            path(&dir.join("undo.jsonl")),
            "undo",
            path(&journal),
        ],
    );
    assert_code(&undo, 0);
    assert_eq!(without_versions(&org.actions()), without_versions(&before));
}

#[test]
fn a_fault_free_raise_keeps_the_request_budget() {
    let org = big_org(300, 0.0, 0);
    let dir = temp_dir("budget");
    let kinds = kinds(&org);
    let before = org.actions();
    let changed = eligible(&before, &kinds, 30, false);
    let listable = kinds.values().filter(|k| *k != "custom_auth").count();
    // The template reads the run must make, from the org's starting state.
    let reads = template_reads(&org);
    let expected_templates: u64 = changed.iter().map(|id| reads[id]).sum();
    // Reset the counts: only the run itself is measured.
    org.rt.block_on(async {
        reqwest::Client::new()
            .post(format!("{}/sandbox/stats/reset", org.url()))
            .send()
            .await
            .unwrap()
    });
    let output = dactl(
        &org,
        &[
            "--journal",
            path(&dir.join("run.jsonl")),
            "run",
            RAISE,
            "--arg",
            "target=30",
        ],
    );
    assert_code(&output, 0);
    let total = org.count(|_, _| true);
    let pages = listable.div_ceil(100) as u64;
    let templates = org.count(|m, r| m == "GET" && r.contains("/templates/"));
    let patches = org.count(|m, _| m == "PATCH");
    assert_eq!(patches, changed.len() as u64);
    // The canary, the first action written, is read back whole after its write: the action once
    // more with its contract, and its URI-only templates once more.
    let journal = lines(&dir.join("run.jsonl"));
    let canary = journal[0]["action_id"].as_str().unwrap();
    let canary_reads = 2 + reads[canary];
    // Exactly the reads the configs call for: a client that fetched templates it already had
    // inline, fetched one twice, or skipped one (and so dropped its text) fails here.
    assert_eq!(
        templates,
        expected_templates + reads[canary],
        "template reads"
    );
    // The budget counts the expected reads, not the measured ones, so extra reads of any kind
    // cannot raise it. + 2: the token and the integrations listing.
    let budget = (1.05 * changed.len() as f64).floor() as u64
        + pages
        + expected_templates
        + canary_reads
        + 2;
    assert!(
        total <= budget,
        "{total} requests > budget {budget} ({} changed, {pages} pages, {expected_templates} \
         template reads expected)",
        changed.len()
    );
}

#[test]
fn ctrl_c_finishes_in_flight_writes_flushes_the_journal_and_exits_130() {
    let org = big_org(80, 0.0, 150);
    let dir = temp_dir("sigint");
    let journal = dir.join("run.jsonl");
    let child = spawn(
        &org,
        &[
            "--rate",
            "100000",
            "--concurrency",
            "4",
            "--journal",
            path(&journal),
            "run",
            RAISE,
            "--arg",
            "target=30",
        ],
    );
    wait_for_intents(&journal, 6);
    signal(&child, "-INT");
    let output = child.wait_with_output().unwrap();
    assert_code(&output, 130);
    let err = stderr(&output);
    assert!(err.contains("journal: "), "{err}");
    assert!(err.contains("updated"), "{err}");
    let lines = lines(&journal);
    assert_complete(&lines);
    let updated = lines.iter().filter(|l| l["status"] == "updated").count() as u64;
    // Every write that started finished and was journaled, and no new one started.
    assert_eq!(org.count(|m, _| m == "PATCH"), updated);
    let before_count = updated;
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(org.count(|m, _| m == "PATCH"), before_count);
}

#[test]
fn killed_then_rerun_then_both_undone_is_the_start_state() {
    let org = big_org(120, 0.0, 40);
    let dir = temp_dir("sigkill");
    kill_rerun_undo(&org, &dir, 30, 10, &[]);
}

#[test]
fn ctrl_c_stops_a_one_shot_set_timeout_with_exit_130() {
    let org = big_org(60, 0.0, 150);
    let dir = temp_dir("sigint-set");
    let ids: Vec<String> = kinds(&org)
        .into_iter()
        .filter(|(_, kind)| kind == "standard")
        .map(|(id, _)| id)
        .collect();
    let journal = dir.join("set.jsonl");
    let mut args = vec![
        "--rate",
        "100000",
        "--concurrency",
        "2",
        "--journal",
        path(&journal),
    ];
    args.extend(["actions", "set-timeout"]);
    args.extend(ids.iter().map(String::as_str));
    args.push("33");
    let child = spawn(&org, &args);
    wait_for_intents(&journal, 3);
    signal(&child, "-INT");
    let output = child.wait_with_output().unwrap();
    assert_code(&output, 130);
    let err = stderr(&output);
    assert!(err.contains("interrupted"), "{err}");
    let lines = lines(&journal);
    assert_complete(&lines);
    let updated = lines.iter().filter(|l| l["status"] == "updated").count();
    assert!(updated < ids.len(), "{updated} of {}", ids.len());
    assert_eq!(org.count(|m, _| m == "PATCH"), updated as u64);
}
