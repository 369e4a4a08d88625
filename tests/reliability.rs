//! Faults over real HTTP, through the real binary against a sandbox org: rate-limit storms, a
//! `Retry-After` too long to wait, 5xx bursts and dropped connections (a PATCH applied and its
//! answer lost included), token expiry mid-run, concurrent editors, a slow server. After each run
//! `/sandbox/actions` is compared with its snapshot from before: only the intended timeouts and
//! the version numbers may differ, and a version rises by exactly one per changed action.
//!
//! Tests named `slow_...` take more than 10 s (the sandbox's rate-limit window is a minute); skip
//! them locally with `cargo test -- --skip slow_`. CI runs them.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use dactl::genesys::{ActionQuery, Client, ClientOptions, Credentials, Error, RetryPolicy, Target};
use dactl::sandbox::SandboxOptions;
use dactl::secret::Secret;
use serde_json::Value;

use crate::support::{Org, assert_only_intended, diff, stderr, stdout, temp_dir};

/// Ids of the org's standard actions (the ones a plain PATCH changes), read with one listing.
fn standard_ids(org: &Org) -> Vec<String> {
    let out = org.dactl(&[
        "--json",
        "eval",
        "list_actions().filter(|a| a.kind == \"standard\").map(|a| a.id)",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_str::<Vec<String>>(stdout(&out).trim()).unwrap()
}

/// `(method, route, status) → count` from `/sandbox/stats`.
fn stats(org: &Org) -> BTreeMap<(String, String, u64), u64> {
    let url = format!("{}/sandbox/stats", org.url());
    let body: Value = org
        .rt
        .block_on(async { reqwest::get(url).await.unwrap().json().await.unwrap() });
    body["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                (
                    r["method"].as_str().unwrap().to_owned(),
                    r["route"].as_str().unwrap().to_owned(),
                    r["status"].as_u64().unwrap(),
                ),
                r["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn sum(org: &Org, keep: impl Fn(&str, &str, u64) -> bool) -> u64 {
    stats(org)
        .iter()
        .filter(|((m, r, s), _)| keep(m, r, *s))
        .map(|(_, n)| n)
        .sum()
}

/// The script every bulk scenario runs: raise the given actions to `timeout`.
fn raise(ids: &[String], timeout: u32) -> String {
    format!(
        "update_timeouts({}, {timeout})",
        serde_json::to_string(ids).unwrap()
    )
}

/// Targets not already at `timeout`, so each must be written exactly once.
fn not_at(org: &Org, ids: Vec<String>, timeout: u32) -> Vec<String> {
    let actions = org.actions();
    ids.into_iter()
        .filter(|id| {
            let a = actions.iter().find(|a| a["id"] == *id).unwrap();
            a["config"]["timeoutSeconds"] != timeout
        })
        .collect()
}

/// About 15 s in a debug build (backoff waits with the default retry policy). Skip locally with
/// `--skip slow_`.
#[test]
fn slow_faults_and_dropped_connections_never_double_apply_or_fail() {
    let mut dropped_patches = 0;
    for seed in [11, 12] {
        let org = Org::start(SandboxOptions {
            actions: Some(50),
            seed,
            ..SandboxOptions::default()
        });
        let clean = standard_ids(&org);
        drop(org);
        let org = Org::start(SandboxOptions {
            actions: Some(50),
            seed,
            fault_rate: 0.3,
            rate_limit: 100_000,
            ..SandboxOptions::default()
        });
        let targets = not_at(&org, clean, 33);
        assert!(targets.len() >= 20, "{}", targets.len());
        let before = org.actions();
        let out = org.dactl(&["--rate", "100000", "eval", &raise(&targets, 33)]);
        // A request meets at most 3 injected faults in a row and is tried up to 6 times: every
        // change gets through, whatever order the concurrent requests draw their faults in.
        assert_eq!(
            out.status.code(),
            Some(0),
            "seed {seed}: {}\n{}",
            stdout(&out),
            stderr(&out)
        );
        assert!(!stdout(&out).contains("failed"), "{}", stdout(&out));
        assert_only_intended(&before, &org.actions(), &targets, 33, &[]);
        let faults = sum(&org, |_, _, s| matches!(s, 0 | 429 | 503));
        assert!(faults >= 3, "seed {seed}: the sandbox injected faults");
        dropped_patches += sum(&org, |m, _, s| m == "PATCH" && s == 0);
    }
    assert!(
        dropped_patches > 0,
        "some PATCH lost its connection (half of them after being applied)"
    );
}

#[test]
fn a_retry_after_over_180_s_stops_at_once_with_a_clear_message() {
    let id = standard_ids(&Org::seed()).remove(0);
    let org = Org::start(SandboxOptions {
        fault_rate: 1.0,
        only_throttle_faults: true,
        retry_after_secs: 600,
        ..SandboxOptions::default()
    });
    let started = Instant::now();
    let out = org.dactl(&["eval", &format!("update_timeout(\"{id}\", 30)")]);
    assert!(started.elapsed() < Duration::from_secs(20), "no long wait");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    for needle in ["600 s", "180 s", "--rate", &id] {
        assert!(err.contains(needle), "`{needle}` missing: {err}");
    }
    assert_eq!(org.writes(), 0);
    // It gave up on the first 429 instead of asking again.
    assert_eq!(sum(&org, |_, _, s| s == 429), 1);
}

/// About two minutes: the sandbox's limit is a sliding one-minute window per token, and the run's
/// 120 or so requests (a template read per URI-named template) fill two tokens' windows twice.
/// Skip locally with `--skip slow_`.
#[test]
fn slow_a_rate_limit_storm_raises_every_action_and_the_client_backs_off() {
    let options = SandboxOptions {
        actions: Some(45),
        seed: 5,
        ..SandboxOptions::default()
    };
    let clean = standard_ids(&Org::start(options.clone()));
    let org = Org::start(SandboxOptions {
        fault_rate: 0.3,
        rate_limit: 30,
        ..options
    });
    let targets = not_at(&org, clean, 41);
    assert!(targets.len() > 20, "{} targets", targets.len());
    let before = org.actions();
    // Two tokens, so the run (about 120 requests) exceeds each one's minute's limit; the default
    // pool of ten would share it out under the limits.
    let out = org.dactl(&[
        "--rate",
        "600",
        "--tokens",
        "2",
        "--concurrency",
        "8",
        "eval",
        &raise(&targets, 41),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(!stdout(&out).contains("failed"), "{}", stdout(&out));
    assert_only_intended(&before, &org.actions(), &targets, 41, &[]);

    let api = sum(&org, |_, r, _| r.starts_with("/api/"));
    assert!(
        api > 2 * 30,
        "more requests ({api}) than the two tokens' limits allow a minute"
    );
    let throttled = sum(&org, |_, r, s| r.starts_with("/api/") && s == 429);
    // Injected 429s are a third of the faults (0.3 × api / 3 expected). A token's own 429s come
    // only from requests already in flight on it when its first one arrived (concurrency 8): a
    // client that kept hammering would collect one per attempt for most of the minute.
    let bound = api * 2 / 10 + 3 * 8;
    assert!(
        throttled <= bound,
        "{throttled} 429s of {api} requests (bound {bound})"
    );
}

#[test]
fn token_expiry_mid_run_mints_about_one_token_per_lifetime() {
    let options = SandboxOptions {
        actions: Some(30),
        seed: 9,
        ..SandboxOptions::default()
    };
    let clean = standard_ids(&Org::start(options.clone()));
    let org = Org::start(SandboxOptions {
        token_ttl_secs: 2,
        latency_ms: 150,
        rate_limit: 100_000,
        ..options
    });
    let targets = not_at(&org, clean, 27);
    let before = org.actions();
    let started = Instant::now();
    let out = org.dactl(&[
        "--rate",
        "100000",
        "--concurrency",
        "1",
        "eval",
        &raise(&targets, 27),
    ]);
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_only_intended(&before, &org.actions(), &targets, 27, &[]);
    assert!(
        elapsed > 4.0,
        "the run outlived two tokens ({elapsed:.1} s)"
    );
    let minted = sum(&org, |m, r, s| {
        m == "POST" && r == "/oauth/token" && s == 200
    });
    // A token is renewed a quarter of its life early: one per 1.5 s, plus the first.
    let expected = elapsed / 1.5;
    assert!(
        (minted as f64) >= expected / 2.0 && (minted as f64) <= expected + 3.0,
        "{minted} tokens in {elapsed:.1} s"
    );
}

#[test]
fn a_concurrent_editors_changes_survive_the_run() {
    let options = SandboxOptions {
        actions: Some(60),
        seed: 4,
        ..SandboxOptions::default()
    };
    let clean = standard_ids(&Org::start(options.clone()));
    let org = Org::start(SandboxOptions {
        latency_ms: 60,
        rate_limit: 100_000,
        ..options
    });
    let targets = not_at(&org, clean, 52);
    // Every tenth target, edited while the run goes on (late ones before their turn comes).
    let edited: Vec<String> = targets.iter().step_by(10).cloned().collect();
    assert!(edited.len() >= 3);
    let before = org.actions();
    let child = crate::support::dactl_cmd()
        .args([
            "--environment",
            &org.url(),
            "--rate",
            "100000",
            "--concurrency",
            "2",
        ])
        .arg("eval")
        .arg(raise(&targets, 52))
        .env("GENESYSCLOUD_OAUTHCLIENT_ID", "sandbox")
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", "sandbox")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    // Edit once the run has listed its targets and started writing, so the edits race it.
    let deadline = Instant::now() + Duration::from_secs(30);
    while sum(&org, |m, _, _| m == "PATCH") == 0 {
        assert!(Instant::now() < deadline, "the run never started writing");
        std::thread::sleep(Duration::from_millis(10));
    }
    for id in edited.iter().rev() {
        let url = format!("{}/sandbox/actions/{id}/edit", org.url());
        org.rt.block_on(async {
            let response = http.post(url).send().await.unwrap();
            assert!(response.status().is_success(), "{}", response.status());
        });
        std::thread::sleep(Duration::from_millis(80));
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let after = org.actions();
    for id in &edited {
        let a = after.iter().find(|a| a["id"] == *id).unwrap();
        assert!(
            a["name"].as_str().unwrap().ends_with("(edited)"),
            "the other editor's change to {id} survived: {a}"
        );
    }
    assert_only_intended(&before, &after, &targets, 52, &edited);
    // The edits raced the run: some PATCH carried a version the editor had already bumped (the
    // sandbox's default `conflict-status` answers that with 400).
    assert!(sum(&org, |m, _, s| m == "PATCH" && s == 400) >= 1);
}

/// The binary has no flag for the request timeout (its default is 30 s), so the client is driven
/// directly: a sandbox that answers after 3 s and a client that waits 1 s per request.
#[test]
fn a_server_answering_late_ends_in_a_clear_timeout_error() {
    let org = Org::start(SandboxOptions {
        latency_ms: 3000,
        ..SandboxOptions::default()
    });
    let client = Client::new(ClientOptions {
        target: Target::local(org.sandbox.base_url()),
        credentials: Credentials::ClientCredentials {
            client_id: "sandbox".into(),
            client_secret: Secret::new("sandbox"),
        },
        rate_per_minute: 300,
        tokens: 1,
        concurrency: 4,
        retry: RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(100),
            ..RetryPolicy::default()
        },
        request_timeout: Duration::from_secs(1),
    })
    .unwrap();
    let started = Instant::now();
    let error = org
        .rt
        .block_on(client.list_actions(&ActionQuery::default()))
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(8), "no hang");
    assert!(
        matches!(
            error,
            Error::Transport {
                timed_out: true,
                ..
            }
        ),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(
        text.contains("timed out") && text.contains("--region"),
        "{text}"
    );
    assert_eq!(org.writes(), 0);
}

#[test]
fn a_full_or_unwritable_journal_stops_every_write_with_a_clear_error() {
    let org = Org::seed();
    let targets = not_at(&org, standard_ids(&org), 17);
    let dir = temp_dir("unwritable-journal");
    let file = dir.join("a-file");
    std::fs::write(&file, "").unwrap();
    let mut journals = vec![
        file.join("journal.jsonl"), // under a file: no directory can be made there
        dir.to_path_buf(),          // a directory, not a file
    ];
    if std::path::Path::new("/dev/full").exists() {
        journals.push("/dev/full".into()); // every write: "No space left on device"
    }
    for journal in journals {
        let journal = journal.to_str().unwrap();
        let out = org.dactl(&["--journal", journal, "eval", &raise(&targets, 17)]);
        assert_eq!(out.status.code(), Some(1), "{journal}: {}", stderr(&out));
        let all = format!("{}{}", stdout(&out), stderr(&out));
        let named = format!("`{journal}`");
        for needle in [named.as_str(), "Nothing was changed", "--journal"] {
            assert!(all.contains(needle), "{journal}: `{needle}` missing: {all}");
        }
        assert_eq!(
            org.writes(),
            0,
            "{journal}: a write left without its journal line"
        );
    }
}

#[test]
fn a_write_told_to_wait_over_180_s_is_journaled_as_failed_and_exits_1() {
    let id = standard_ids(&Org::seed()).remove(0);
    let org = Org::start(SandboxOptions {
        fault_rate: 1.0,
        only_throttle_faults: true,
        only_write_faults: true,
        retry_after_secs: 600,
        ..SandboxOptions::default()
    });
    let before = org.actions();
    let dir = temp_dir("long-retry");
    let journal = dir.join("journal.jsonl");
    let started = Instant::now();
    let out = org.dactl(&[
        "--journal",
        journal.to_str().unwrap(),
        "eval",
        &format!("update_timeout(\"{id}\", 30)"),
    ]);
    assert!(started.elapsed() < Duration::from_secs(20), "no long wait");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(all.contains("600 s") && all.contains("failed"), "{all}");
    assert!(diff(&before, &org.actions()).is_empty(), "nothing changed");
    // The intent was journaled before the PATCH; its outcome says it was not done.
    let lines: Vec<Value> = std::fs::read_to_string(&journal)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let outcome = lines
        .iter()
        .find(|l| l["kind"] == "outcome")
        .unwrap_or_else(|| panic!("an outcome line: {lines:?}"));
    assert_eq!(outcome["status"], "failed", "{outcome}");
    assert!(lines.iter().any(|l| l["kind"] == "intent"), "{lines:?}");
}
