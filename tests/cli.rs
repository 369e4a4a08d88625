//! The command line as a user meets it: flags, errors, exit codes, the sandbox command.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::support::{dactl_cmd, stderr, stdout};

#[test]
fn version_and_completions() {
    let out = dactl_cmd().arg("--version").output().unwrap();
    assert!(out.status.success());
    assert!(stdout(&out).starts_with("dactl "));

    // What only real completions of this CLI hold: the shell's own registration of `dactl`,
    // every subcommand and a global flag as words, and (zsh, fish) a subcommand's description.
    // Completions generated for another command, an empty one, or a CLI that lost a subcommand
    // or `--dry-run`/`--module-path` fail here.
    let cases = [
        ("bash", "complete -F _dactl", None),
        ("zsh", "#compdef dactl", Some("'run:Run a Rhai script'")),
        (
            "fish",
            "complete -c dactl",
            Some("-a \"run\" -d 'Run a Rhai script'"),
        ),
    ];
    for (shell, registration, described) in cases {
        let out = dactl_cmd().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let text = stdout(&out);
        assert!(text.contains(registration), "{shell}: no `{registration}`");
        let words: std::collections::BTreeSet<&str> = text
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .collect();
        for word in [
            "run",
            "eval",
            "check",
            "repl",
            "undo",
            "apply",
            "actions",
            "set-timeout",
            "sandbox",
            "completions",
        ] {
            assert!(words.contains(word), "{shell}: no subcommand `{word}`");
        }
        // bash and zsh write flags as `--flag`; fish as `-l flag`.
        for flag in ["dry-run", "module-path"] {
            let written = if shell == "fish" {
                format!("-l {flag}")
            } else {
                format!("--{flag}")
            };
            assert!(text.contains(&written), "{shell}: no `{written}`");
        }
        if let Some(described) = described {
            assert!(text.contains(described), "{shell}: no `{described}`");
        }
    }
}

#[test]
fn bad_flag_values_are_usage_errors() {
    let cases: &[&[&str]] = &[
        &["--rate", "0", "eval", "1"],
        &["--concurrency", "0", "eval", "1"],
        &["sandbox", "--fault-rate", "2"],
        &["sandbox", "--client", "nosecret"],
        &["run", "x.rhai", "--arg", "novalue"],
    ];
    for args in cases {
        let out = dactl_cmd().args(*args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("error"), "{args:?}");
    }
}

#[test]
fn unknown_region_names_the_input_and_lists_regions() {
    let out = dactl_cmd()
        .args(["--region", "mars-1", "eval", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("`mars-1`"), "{err}");
    assert!(err.contains("eu-west-1"), "{err}");
}

#[test]
fn plain_http_to_a_remote_host_is_refused() {
    let out = dactl_cmd()
        .args(["--region", "http://example.com", "eval", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("http://example.com"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn missing_credentials_name_every_way_to_give_them() {
    let out = dactl_cmd()
        .args(["--region", "eu-west-1", "eval", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    for way in [
        "GENESYSCLOUD_OAUTHCLIENT_ID",
        "GENESYSCLOUD_OAUTHCLIENT_SECRET",
        "config.toml",
        "--sandbox",
    ] {
        assert!(err.contains(way), "missing {way} in: {err}");
    }
}

#[test]
fn sandbox_command_prints_its_url_first_and_serves() {
    let mut child = dactl_cmd()
        .args(["sandbox", "--actions", "7", "--seed", "3"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first.trim().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    let rt = tokio::runtime::Runtime::new().unwrap();
    let actions: serde_json::Value = rt.block_on(async {
        reqwest::get(format!("{url}/sandbox/actions"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    child.kill().unwrap();
    child.wait().unwrap();
    // The 7 generated actions, and the one custom-authentication action every org has.
    assert_eq!(actions.as_array().unwrap().len(), 8);
}

#[test]
fn a_service_slower_than_the_request_timeout_ends_in_a_clear_error() {
    let org = crate::support::Org::start(dactl::sandbox::SandboxOptions {
        latency_ms: 3000,
        ..Default::default()
    });
    let out = org.dactl(&["--request-timeout", "1", "eval", "list_actions().len()"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("timed out"), "{err}");
    assert!(err.contains("--request-timeout"), "{err}");
    assert_eq!(org.writes(), 0);
}
