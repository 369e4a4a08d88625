//! `dactl eval` is a run, through the real binary against sandbox orgs: a one-liner that changes
//! timeouts ends as `dactl run` of the same text ends (the report with its columns, the canary
//! line, the journal path, `--report`, `--plan-out`, `--json`, exit codes), and the REPL draws
//! changes with a run's columns. Then the Rhai surface: one `verify` (a change or a list, the
//! map back) and `fetch_action` of an action or an id; the old `verify(id, timeout)` is an error
//! that names the new form.

use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};

use dactl::sandbox::SandboxOptions;
use serde_json::Value;

use crate::support::{Org, assert_code, dactl, dactl_cmd, path, report, stderr, stdout, temp_dir};

/// Raises every listed action: standard ones are updated, built-in ones skipped with a reason,
/// function data actions changed through drafts (so the report has every kind of row).
const RAISE_ALL: &str = "update_timeouts(list_actions(), 12)";

/// The id of a standard action with a timeout set, the same in every seed org.
fn standard_id(org: &Org) -> String {
    let out = dactl(
        org,
        &[
            "eval",
            "list_actions().filter(|a| a.kind == \"standard\" && a.timeout_seconds != ())[0].id",
        ],
    );
    assert_code(&out, 0);
    stdout(&out).trim().to_owned()
}

/// `text` with the paths a run chose for itself replaced by what they are.
fn without_paths(text: &str, paths: &[(&Path, &str)]) -> String {
    let mut text = text.to_owned();
    for (path, name) in paths {
        text = text.replace(&path.display().to_string(), name);
    }
    text
}

/// The lines of a Markdown report that say what was changed (not which org of the two, when,
/// by which command, into which journal).
fn what_changed(markdown: &str) -> Vec<String> {
    markdown
        .lines()
        .filter(|l| {
            ![
                "127.0.0.1",
                "Made by dactl",
                "**When",
                "**Command",
                "**Journal",
                "**Run id",
            ]
            .iter()
            .any(|k| l.contains(k))
        })
        .map(str::to_owned)
        .collect()
}

/// The same change by `run FILE` and by `eval 'TEXT'`, on two identical orgs: eval prints the
/// same report (with run's columns, not a table of its own), the canary line and the journal
/// path, writes the same `--report`, and exits as run does. (Before, eval drew `ID NAME BEFORE
/// AFTER STATUS` on stdout, printed no canary and no journal path, and refused `--report`.)
#[test]
fn eval_ends_as_a_run_with_the_same_report_canary_journal_and_report_file() {
    let dir = temp_dir("eval-run");
    let script = dir.join("raise.rhai");
    std::fs::write(&script, format!("{RAISE_ALL}\n")).unwrap();

    let by_run = Org::seed();
    let by_eval = Org::seed();
    let outputs: Vec<(Output, std::path::PathBuf, std::path::PathBuf)> = [
        (&by_run, "run", vec!["run", path(&script)]),
        (&by_eval, "eval", vec!["eval", RAISE_ALL]),
    ]
    .into_iter()
    .map(|(org, name, command)| {
        let journal = dir.join(format!("{name}.jsonl"));
        let markdown = dir.join(format!("{name}.md"));
        let mut args = vec!["--journal", path(&journal), "--report", path(&markdown)];
        args.extend(command);
        (dactl(org, &args), journal, markdown)
    })
    .collect();
    let (run, run_journal, run_report) = &outputs[0];
    let (eval, eval_journal, eval_report) = &outputs[1];
    assert_code(run, 0);
    assert_code(eval, 0);

    let err = stderr(eval);
    let header: Vec<&str> = err.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["id", "name", "kind", "timeout", "status"], "{err}");
    assert!(err.contains("\ncanary: `"), "no canary line: {err}");
    assert!(
        err.contains(&format!("journal: {}", eval_journal.display())),
        "no journal path: {err}"
    );
    assert!(
        err.contains(&format!("report: {}", eval_report.display())),
        "{err}"
    );
    assert!(
        !format!("{}{err}", stdout(eval)).contains("BEFORE"),
        "eval drew a change table of its own: {err}"
    );
    // The same words as run's, but for the paths each chose.
    assert_eq!(
        without_paths(&err, &[(eval_journal, "JOURNAL"), (eval_report, "REPORT")]),
        without_paths(
            &stderr(run),
            &[(run_journal, "JOURNAL"), (run_report, "REPORT")]
        )
    );
    assert_eq!(stdout(eval), stdout(run), "the changes are shown once");

    let markdown = std::fs::read_to_string(eval_report).unwrap();
    assert!(
        markdown.contains(&format!("undo {}", eval_journal.display())),
        "{markdown}"
    );
    assert_eq!(
        what_changed(&markdown),
        what_changed(&std::fs::read_to_string(run_report).unwrap())
    );
    assert_eq!(by_eval.actions(), by_run.actions(), "the same change");
    std::fs::remove_dir_all(dir).unwrap();
}

/// `--json`, `--plan-out` and exit codes as for run: the JSON report is the last line of stdout
/// (with the canary), a plan is saved and nothing written, a change that failed exits 1 with
/// the report. A question (`list_actions().len()`) still prints its value alone.
#[test]
fn eval_takes_json_plan_out_and_exit_codes_as_a_run_does() {
    let org = Org::seed();
    let dir = temp_dir("eval-json");
    let id = standard_id(&org);

    let out = dactl(
        &org,
        &["--json", "eval", &format!("update_timeout(\"{id}\", 29)")],
    );
    assert_code(&out, 0);
    let json = report(&out);
    assert_eq!(json["changes"][0]["id"], id.as_str(), "{json}");
    assert_eq!(json["changes"][0]["status"], "updated", "{json}");
    assert_eq!(json["canary"]["id"], id.as_str(), "{json}");
    assert!(json["journal"].is_string(), "{json}");

    let plan = dir.join("plan.json");
    let writes = org.writes();
    let out = dactl(&org, &["--plan-out", path(&plan), "eval", RAISE_ALL]);
    assert_code(&out, 0);
    assert_eq!(org.writes(), writes, "a plan wrote");
    assert!(
        stderr(&out).contains(&format!("plan: {}", plan.display())),
        "{}",
        stderr(&out)
    );
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    assert!(saved["changes"].as_array().unwrap().len() > 10, "{saved}");

    let unknown = "0badc0de-0000-4000-8000-000000000000";
    let out = dactl(
        &org,
        &["eval", &format!("update_timeouts([\"{unknown}\"], 30)")],
    );
    assert_code(&out, 1);
    assert!(
        stderr(&out).contains("1 action: 1 failed"),
        "{}",
        stderr(&out)
    );

    let out = dactl(&org, &["--json", "eval", "list_actions().len()"]);
    assert_code(&out, 0);
    let count: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert!(count.as_u64().unwrap() > 10, "{}", stdout(&out));
    std::fs::remove_dir_all(dir).unwrap();
}

/// `--report` and `--plan-out` of an eval that name the same file are refused before any
/// request (exit 2), naming both flags: the collision check covers eval as it covers run.
#[test]
fn eval_report_and_plan_out_may_not_name_the_same_file() {
    let org = Org::seed();
    let dir = temp_dir("eval-collide");
    let file = dir.join("same.md");
    let out = dactl(
        &org,
        &[
            "--report",
            path(&file),
            "--plan-out",
            path(&file),
            "eval",
            RAISE_ALL,
        ],
    );
    assert_code(&out, 2);
    let err = stderr(&out);
    assert!(
        err.contains("`--report`") && err.contains("`--plan-out`"),
        "{err}"
    );
    assert_eq!(org.count(|_, _| true), 0, "a request was sent");
    assert!(!file.exists());
    std::fs::remove_dir_all(dir).unwrap();
}

/// The REPL shows a change with a run's columns (`id name kind timeout status`), not a table of
/// its own.
#[test]
fn the_repl_draws_changes_with_the_columns_of_a_run() {
    let org = Org::seed();
    let id = standard_id(&org);
    let mut child = dactl_cmd()
        .args(["--environment", &org.url(), "--rate", "100000", "repl"])
        .env("GENESYSCLOUD_OAUTHCLIENT_ID", "sandbox")
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", "sandbox")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("update_timeout(\"{id}\", 28)\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_code(&out, 0);
    let text = stdout(&out);
    let header = text
        .lines()
        .find(|l| l.trim_start().starts_with("id") || l.trim_start().starts_with("ID"))
        .unwrap_or_else(|| panic!("no table: {text}"));
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        ["id", "name", "kind", "timeout", "status"],
        "{text}"
    );
    assert!(text.contains("1 action: 1 updated"), "{text}");
}

/// `verify` of one change and of a list gives the same map; `fetch_action` takes an action, an
/// action map or an id; the old `verify(id, timeout)` (and an id alone) is an error naming the
/// new form, and nothing is written for it.
#[test]
fn one_verify_for_a_change_or_a_list_and_fetch_action_of_an_action_or_an_id() {
    let org = Org::start(SandboxOptions::default());
    let id = standard_id(&org);
    let eval = |expr: &str| {
        let out = dactl(&org, &["eval", expr]);
        assert_code(&out, 0);
        stdout(&out).trim().to_owned()
    };
    let shown = "|v| `${v.ok} ${v.checked} ${v.mismatches.len()}`";
    assert_eq!(
        eval(&format!(
            "let show = {shown}; let c = update_timeout(\"{id}\", 27); \
             [show.call(verify(c)), show.call(verify([c])), show.call(verify(c.to_map()))]"
        )),
        "[\"true 1 0\", \"true 1 0\", \"true 1 0\"]"
    );
    // A change whose `after` the org does not hold: one mismatch, the same shape either way.
    assert_eq!(
        eval(&format!(
            "let show = {shown}; let c = fetch_action(\"{id}\"); \
             let m = #{{id: c.id, kind: c.kind, before: (), after: 9, status: \"unchanged\"}}; \
             [show.call(verify(m)), show.call(verify([m]))]"
        )),
        "[\"false 1 1\", \"false 1 1\"]"
    );
    assert_eq!(
        eval(&format!(
            "let a = list_actions().filter(|a| a.id == \"{id}\")[0]; \
             [fetch_action(a).id, fetch_action(a.to_map()).id, fetch_action(\"{id}\").id] == [\"{id}\", \"{id}\", \"{id}\"]"
        )),
        "true"
    );

    let writes = org.writes();
    for (call, needles) in [
        (
            format!("verify(\"{id}\", 30)"),
            &[
                "`verify(action_or_id, timeout)`",
                "`verify(change).ok`",
                "<eval>:1:",
            ][..],
        ),
        (
            format!("verify(fetch_action(\"{id}\"), 30)"),
            &["`verify(action_or_id, timeout)`", "`verify(change).ok`"][..],
        ),
        (
            format!("verify(\"{id}\")"),
            &[
                "`verify(change)`",
                "`fetch_action(action_or_id).timeout_seconds`",
            ][..],
        ),
        (
            "fetch_action(42)".to_owned(),
            &["an action map or an action id"][..],
        ),
    ] {
        let out = dactl(&org, &["eval", &call]);
        assert_code(&out, 1);
        let err = stderr(&out);
        for needle in needles {
            assert!(
                err.contains(needle),
                "{call}: `{needle}` missing from {err}"
            );
        }
    }
    assert_eq!(org.writes(), writes, "a refused call wrote");
}
