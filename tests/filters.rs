//! Filters that match nothing change nothing: an empty id list, an unknown category, a name that
//! matches no action. Through the real binary against a sandbox org, comparing what the sandbox
//! holds and counts before and after.

use dactl::sandbox::SandboxOptions;

use crate::support::{Org, assert_code, dactl, diff, stderr, stdout};

/// `GET /api/v2/integrations/actions` requests the sandbox answered.
fn listings(org: &Org) -> u64 {
    org.count(|m, r| m == "GET" && r == "/api/v2/integrations/actions")
}

#[test]
fn an_empty_id_list_lists_nothing_without_a_request_and_changes_nothing() {
    let org = Org::unthrottled(SandboxOptions::default());
    let before = org.actions();
    for expr in [
        "list_actions(#{ids: []}).len()",
        "list_actions(#{ids: [], include_auth: true}).len()",
    ] {
        let out = dactl(&org, &["eval", expr]);
        assert_code(&out, 0);
        assert_eq!(stdout(&out).trim(), "0", "{expr}");
    }
    assert_eq!(listings(&org), 0, "an empty id list sends no listing");

    let out = dactl(
        &org,
        &[
            "eval",
            "let picked = []; update_timeouts(list_actions(#{ids: picked}), 30).len()",
        ],
    );
    assert_code(&out, 0);
    assert_eq!(stdout(&out).trim(), "0");
    assert_eq!(org.writes(), 0);
    assert_eq!(listings(&org), 0);
    assert!(diff(&before, &org.actions()).is_empty());

    // `()` still means the option was not given: every action.
    let out = dactl(&org, &["eval", "list_actions(#{ids: ()}).len()"]);
    assert_code(&out, 0);
    assert!(stdout(&out).trim().parse::<usize>().unwrap() > 25);
}

#[test]
fn blank_name_category_and_id_filters_are_refused_naming_the_option() {
    let org = Org::unthrottled(SandboxOptions::default());
    let before = org.actions();
    // In scripts: a thrown error (exit 1) before any listing.
    for (call, named) in [
        ("update_timeouts(list_actions(#{name: \"\"}), 30)", "`name`"),
        (
            "update_timeouts(list_actions(#{category: \"  \"}), 30)",
            "`category`",
        ),
        ("update_timeouts(list_actions(#{ids: [\"\"]}), 30)", "`ids`"),
        ("update_timeouts(list_actions(#{ids: \" \"}), 30)", "`ids`"),
    ] {
        let out = dactl(&org, &["eval", call]);
        assert_code(&out, 1);
        let err = stderr(&out);
        assert!(err.contains(named), "{call}: {err}");
        if named != "`ids`" {
            assert!(
                err.contains("every action") && err.contains("()"),
                "{call}: {err}"
            );
        }
    }
    // A script given an empty `--arg` gets the same refusal.
    let out = dactl(
        &org,
        &["run", "scripts/raise-timeouts.rhai", "--arg", "category="],
    );
    assert_code(&out, 1);
    assert!(stderr(&out).contains("`category`"), "{}", stderr(&out));
    // On the command line: a usage error (exit 2) naming the flag.
    for args in [
        &["actions", "list", "--category", ""][..],
        &["actions", "list", "--name", " "][..],
        &["actions", "set-timeout", "--category", "", "30"][..],
        &["actions", "set-timeout", "--name", "", "30"][..],
    ] {
        let out = dactl(&org, args);
        assert_code(&out, 2);
        let flag = args[2];
        let err = stderr(&out);
        assert!(
            err.contains(&format!("`{flag}`")) && err.contains("every action"),
            "{args:?}: {err}"
        );
    }
    assert_eq!(
        listings(&org),
        0,
        "a blank filter is refused before any listing"
    );
    assert_eq!(org.writes(), 0);
    assert!(diff(&before, &org.actions()).is_empty());
}

#[test]
fn an_unknown_category_or_unmatched_name_changes_nothing_in_scripts() {
    let org = Org::unthrottled(SandboxOptions::default());
    let before = org.actions();
    for expr in [
        "update_timeouts(list_actions(#{category: \"No Such Category\"}), 30).len()",
        "update_timeouts(list_actions(#{name: \"zz-no-such-name\"}), 30).len()",
    ] {
        let out = dactl(&org, &["eval", expr]);
        assert_code(&out, 0);
        assert_eq!(stdout(&out).trim(), "0", "{expr}");
    }
    for arg in ["category=No Such Category", "name=zz-no-such-name"] {
        let out = dactl(&org, &["run", "scripts/raise-timeouts.rhai", "--arg", arg]);
        assert_code(&out, 0);
        let text = stdout(&out);
        assert!(
            text.contains(&format!("No action matches --arg {arg}: nothing to change")),
            "{text}"
        );
    }
    assert_eq!(org.writes(), 0);
    assert!(diff(&before, &org.actions()).is_empty());
}

#[test]
fn set_timeout_with_a_filter_that_matches_nothing_exits_1_naming_it() {
    let org = Org::unthrottled(SandboxOptions::default());
    let before = org.actions();
    for (args, named) in [
        (
            &[
                "actions",
                "set-timeout",
                "--category",
                "No Such Category",
                "30",
            ][..],
            "--category `No Such Category`",
        ),
        (
            &["actions", "set-timeout", "--name", "zz-no-such-name", "30"][..],
            "--name `zz-no-such-name`",
        ),
        (
            &[
                "--dry-run",
                "actions",
                "set-timeout",
                "--name",
                "zz-no-such-name",
                "30",
            ][..],
            "--name `zz-no-such-name`",
        ),
    ] {
        let out = dactl(&org, args);
        assert_code(&out, 1);
        let err = stderr(&out);
        assert!(
            err.contains(named) && err.contains("dactl actions list"),
            "{args:?}: {err}"
        );
    }
    assert_eq!(org.writes(), 0);
    assert!(diff(&before, &org.actions()).is_empty());
}
