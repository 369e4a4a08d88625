//! Output paths that collide: a journal, report or plan that names the same file as another one,
//! or as the script, plan or journal the command reads, is refused before any request (exit 2),
//! and the file is left as it was.

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::support::{
    Org, RAISE, assert_code, dactl_cmd, listed_kinds, path, stderr, stdout, temp_dir,
};

/// Every request the sandbox counted (`/api/v2` and `/oauth/token`).
fn requests(org: &Org) -> u64 {
    let url = format!("{}/sandbox/stats", org.url());
    let stats: Value = org
        .rt
        .block_on(async { reqwest::get(&url).await.unwrap().json().await.unwrap() });
    stats["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["count"].as_u64().unwrap())
        .sum()
}

fn reset(org: &Org) {
    let url = format!("{}/sandbox/stats/reset", org.url());
    org.rt.block_on(async {
        reqwest::Client::new().post(&url).send().await.unwrap();
    });
}

/// `dactl` against `org`, run in `dir` (so relative paths are relative to it).
fn dactl_in(org: &Org, dir: &Path, args: &[&str]) -> Output {
    dactl_cmd()
        .current_dir(dir)
        .args(["--environment", &org.url(), "--rate", "100000"])
        .args(args)
        .env("GENESYSCLOUD_OAUTHCLIENT_ID", "sandbox")
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", "sandbox")
        .output()
        .unwrap()
}

/// A standard action's id; the stats are reset after the listing.
fn standard(org: &Org) -> String {
    let id = listed_kinds(org)
        .into_iter()
        .find(|(_, kind)| kind == "standard")
        .unwrap()
        .0;
    reset(org);
    id
}

/// Exit 2 before any request, with a message naming both flags (or the flag and the input);
/// `file` holds `content` still (`None`: it still does not exist).
fn refused(org: &Org, out: &Output, file: &Path, content: Option<&str>, names: &[&str]) {
    assert_code(out, 2);
    assert_eq!(requests(org), 0, "a request was sent");
    assert_eq!(
        std::fs::read_to_string(file).ok().as_deref(),
        content,
        "{} was touched",
        file.display()
    );
    let err = stderr(out);
    for name in names {
        assert!(err.contains(name), "{name} missing from: {err}");
    }
    assert!(stdout(out).is_empty(), "{}", stdout(out));
}

/// A journal of a real run, at `file` (relative to `dir`).
fn journal_at(org: &Org, dir: &Path, file: &str, id: &str) -> String {
    let out = dactl_in(
        org,
        dir,
        &["--journal", file, "actions", "set-timeout", id, "33"],
    );
    assert_code(&out, 0);
    reset(org);
    std::fs::read_to_string(dir.join(file)).unwrap()
}

#[test]
fn the_report_never_overwrites_the_journal_of_its_own_run() {
    let org = Org::seed();
    let id = standard(&org);
    let dir = temp_dir("journal-report");
    // The same relative path, and one spelled differently; both name one new file.
    for report in ["x.md", "./x.md", &format!("{}/x.md", path(&dir))] {
        let out = dactl_in(
            &org,
            &dir,
            &[
                "--journal",
                "x.md",
                "--report",
                report,
                "actions",
                "set-timeout",
                &id,
                "31",
            ],
        );
        refused(
            &org,
            &out,
            &dir.join("x.md"),
            None,
            &["`--journal`", "`--report`", "x.md"],
        );
    }
}

#[test]
fn the_script_being_run_is_never_overwritten_by_its_plan_or_journal() {
    let org = Org::seed();
    let dir = temp_dir("plan-script");
    let script = std::fs::read_to_string(RAISE).unwrap();
    std::fs::write(dir.join("raise.rhai"), &script).unwrap();
    for flag in ["--plan-out", "--journal"] {
        let out = dactl_in(
            &org,
            &dir,
            &[
                flag,
                "raise.rhai",
                "run",
                "./raise.rhai",
                "--arg",
                "target=45",
            ],
        );
        refused(
            &org,
            &out,
            &dir.join("raise.rhai"),
            Some(&script),
            &[flag, "script", "raise.rhai"],
        );
    }
}

#[test]
fn undo_never_writes_its_report_over_the_journal_it_undoes() {
    let org = Org::seed();
    let id = standard(&org);
    let dir = temp_dir("report-undone");
    let journal = journal_at(&org, &dir, "run.md", &id);
    let absolute = dir.join("run.md");
    let out = dactl_in(&org, &dir, &["--report", path(&absolute), "undo", "run.md"]);
    refused(
        &org,
        &out,
        &absolute,
        Some(&journal),
        &["`--report`", "undo", "run.md"],
    );
}

#[test]
fn a_symlink_to_the_journal_is_the_journal() {
    let org = Org::seed();
    let id = standard(&org);
    let dir = temp_dir("symlink");
    let journal = journal_at(&org, &dir, "j.md", &id);
    std::os::unix::fs::symlink("j.md", dir.join("link.md")).unwrap();
    let out = dactl_in(
        &org,
        &dir,
        &[
            "--journal",
            "j.md",
            "--report",
            "link.md",
            "actions",
            "set-timeout",
            &id,
            "34",
        ],
    );
    refused(
        &org,
        &out,
        &dir.join("j.md"),
        Some(&journal),
        &["`--journal`", "`--report`", "link.md", "j.md"],
    );
}

#[test]
fn a_report_or_plan_is_never_written_over_an_existing_journal() {
    let org = Org::seed();
    let id = standard(&org);
    let dir = temp_dir("over-journal");
    let journal = journal_at(&org, &dir, "old.md", &id);
    let cases: [&[&str]; 2] = [
        &["--report", "old.md", "actions", "set-timeout", &id, "35"],
        &["--plan-out", "old.md", "actions", "set-timeout", &id, "35"],
    ];
    for args in cases {
        let out = dactl_in(&org, &dir, args);
        refused(
            &org,
            &out,
            &dir.join("old.md"),
            Some(&journal),
            &[args[0], "journal", "old.md"],
        );
    }
}
