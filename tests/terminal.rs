//! Text from the org never acts on the terminal: names with escape sequences are shown with the
//! sequences made visible wherever dactl draws them for a person, and kept exact in `--json`.
//! Through the real binary against a sandbox whose actions another admin renamed.

use std::process::Output;

use serde_json::{Value, json};

use crate::support::{Org, assert_code, dactl, kinds, stderr, stdout, timeout};

/// Sets the window title of an xterm-like terminal.
const TITLE: &str = "T\x1b]0;x\x07";
/// Moves up a line and erases it: hides the row drawn above.
const ERASE: &str = "S\x1b[1A\x1b[2K";
/// How each is shown.
const TITLE_SHOWN: &str = "T\\e]0;x\\u{7}";
const ERASE_SHOWN: &str = "S\\e[1A\\e[2K";

/// Another admin renames an action through the platform's own API (a PATCH with the name only).
fn rename(org: &Org, id: &str, name: &str) {
    let http = reqwest::Client::new();
    let url = org.url();
    let version = org.action(id)["version"].as_i64().unwrap();
    org.rt.block_on(async {
        let token: Value = http
            .post(format!("{url}/oauth/token"))
            .basic_auth("sandbox", Some("sandbox"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let status = http
            .patch(format!("{url}/api/v2/integrations/actions/{id}"))
            .bearer_auth(token["access_token"].as_str().unwrap())
            .json(&json!({"name": name, "version": version}))
            .send()
            .await
            .unwrap()
            .status();
        assert!(status.is_success(), "rename {id}: {status}");
    });
    assert_eq!(org.action(id)["name"], name);
}

/// Two standard actions with a timeout other than 45 s, renamed to `TITLE` and `ERASE`.
fn renamed_org() -> (Org, String, String) {
    let org = Org::seed();
    let kinds = kinds(&org);
    let picked: Vec<String> = org
        .actions()
        .iter()
        .filter(|a| kinds[a["id"].as_str().unwrap()] == "standard")
        .filter(|a| timeout(a).is_some_and(|t| t != 45))
        .take(2)
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect();
    rename(&org, &picked[0], TITLE);
    rename(&org, &picked[1], ERASE);
    (org, picked[0].clone(), picked[1].clone())
}

/// Neither stream carries ESC or BEL.
fn assert_no_raw_controls(what: &str, output: &Output) {
    for (stream, bytes) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        assert!(
            !bytes.iter().any(|b| *b == 0x1b || *b == 0x07),
            "{what}: raw ESC or BEL on {stream}: {:?}",
            String::from_utf8_lossy(bytes)
        );
    }
}

/// The line of `text` that holds `needle`.
fn line_with<'a>(text: &'a str, needle: &str) -> &'a str {
    text.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{text}"))
}

#[test]
fn names_with_control_characters_never_reach_the_terminal_raw() {
    let (org, title_id, erase_id) = renamed_org();

    // `actions list`: each name on its own action's row, shown escaped.
    let out = dactl(&org, &["actions", "list"]);
    assert_code(&out, 0);
    assert_no_raw_controls("actions list", &out);
    let listed = stdout(&out);
    assert!(
        line_with(&listed, TITLE_SHOWN).starts_with(&title_id),
        "{listed}"
    );
    assert!(
        line_with(&listed, ERASE_SHOWN).starts_with(&erase_id),
        "{listed}"
    );

    // `actions get`.
    let out = dactl(&org, &["actions", "get", &title_id]);
    assert_code(&out, 0);
    assert_no_raw_controls("actions get", &out);
    assert!(stdout(&out).contains(TITLE_SHOWN), "{}", stdout(&out));

    // The plan table of a dry run.
    let out = dactl(
        &org,
        &[
            "--dry-run",
            "actions",
            "set-timeout",
            &title_id,
            &erase_id,
            "45",
        ],
    );
    assert_code(&out, 0);
    assert_no_raw_controls("the plan", &out);
    let plan = stderr(&out);
    assert!(
        line_with(&plan, TITLE_SHOWN).starts_with(&title_id),
        "{plan}"
    );
    assert!(
        line_with(&plan, ERASE_SHOWN).starts_with(&erase_id),
        "{plan}"
    );

    // A real run: the change table and the canary's line.
    let out = dactl(
        &org,
        &["actions", "set-timeout", &title_id, &erase_id, "45"],
    );
    assert_code(&out, 0);
    assert_no_raw_controls("the run", &out);
    let run = stderr(&out);
    assert!(line_with(&run, TITLE_SHOWN).starts_with(&title_id), "{run}");
    assert!(line_with(&run, ERASE_SHOWN).starts_with(&erase_id), "{run}");
    let canary = line_with(&run, "canary: ");
    assert!(
        canary.contains(&format!("`{title_id}` ({TITLE_SHOWN})"))
            || canary.contains(&format!("`{erase_id}` ({ERASE_SHOWN})")),
        "{canary}"
    );
    assert_eq!(timeout(&org.action(&title_id)), Some(45));

    // `eval`: a name printed bare, a table of actions, and a script's `print`.
    let out = dactl(
        &org,
        &["eval", &format!("fetch_action(\"{title_id}\").name")],
    );
    assert_code(&out, 0);
    assert_no_raw_controls("eval of a name", &out);
    assert_eq!(stdout(&out).trim_end(), TITLE_SHOWN);
    let out = dactl(&org, &["eval", "list_actions()"]);
    assert_code(&out, 0);
    assert_no_raw_controls("eval of a listing", &out);
    assert!(line_with(&stdout(&out), ERASE_SHOWN).starts_with(&erase_id));
    let out = dactl(
        &org,
        &["eval", &format!("print(fetch_action(\"{erase_id}\").name)")],
    );
    assert_code(&out, 0);
    assert_no_raw_controls("print", &out);
    assert!(stdout(&out).contains(ERASE_SHOWN), "{}", stdout(&out));

    // An error that carries the name, on stderr.
    let out = dactl(
        &org,
        &["eval", &format!("throw fetch_action(\"{title_id}\").name")],
    );
    assert_code(&out, 1);
    assert_no_raw_controls("an error", &out);
    assert!(stderr(&out).contains(TITLE_SHOWN), "{}", stderr(&out));
}

#[test]
fn json_output_keeps_names_with_control_characters_exact() {
    let (org, title_id, erase_id) = renamed_org();
    let name_of = |list: &Value, id: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == id)
            .unwrap()["name"]
            .clone()
    };

    let out = dactl(&org, &["--json", "actions", "list"]);
    assert_code(&out, 0);
    let listed: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(name_of(&listed, &title_id), TITLE);
    assert_eq!(name_of(&listed, &erase_id), ERASE);

    let out = dactl(&org, &["--json", "actions", "get", &erase_id]);
    assert_code(&out, 0);
    let got: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(got["name"], ERASE);

    let out = dactl(
        &org,
        &[
            "--json",
            "actions",
            "set-timeout",
            &title_id,
            &erase_id,
            "45",
        ],
    );
    assert_code(&out, 0);
    let report = crate::support::report(&out);
    assert_eq!(name_of(&report["changes"], &title_id), TITLE);
    assert_eq!(name_of(&report["changes"], &erase_id), ERASE);
    // The table on stderr is for a person all the same.
    assert!(!stderr(&out).contains('\x1b'), "{}", stderr(&out));
}
