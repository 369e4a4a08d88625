//! Credentials revoked mid-run: whatever status the token endpoint refuses them with, the run
//! stops at once, says where the credentials came from, and does not hammer the login host.

use std::process::Stdio;

use dactl::sandbox::{SandboxOptions, Variants};
use serde_json::Value;

use crate::support::{Org, RAISE, assert_code, dactl_cmd, path, report, stderr, stdout, temp_dir};

const CLIENT_ID: &str = "ops-robot";
const SECRET: &str = "s3cr3t-Revoked-Mid-Run-9f2c";

/// Token requests (`POST /oauth/token`) the sandbox counted since its stats were last reset.
fn token_requests(org: &Org) -> u64 {
    let url = format!("{}/sandbox/stats", org.url());
    let stats: Value = org
        .rt
        .block_on(async { reqwest::get(&url).await.unwrap().json().await.unwrap() });
    stats["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["route"] == "/oauth/token")
        .map(|r| r["count"].as_u64().unwrap())
        .sum()
}

fn post(org: &Org, route: &str) -> u16 {
    let url = format!("{}{route}", org.url());
    org.rt.block_on(async {
        reqwest::Client::new()
            .post(&url)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    })
}

/// A raise of 300 actions; once a few writes are under way the OAuth client is revoked.
fn revoked_mid_run(variant: &str) {
    let mut variants = Variants::default();
    variants.apply(variant).unwrap();
    let org = Org::start(SandboxOptions {
        actions: Some(300),
        latency_ms: 20,
        rate_limit: 100_000,
        clients: vec![(CLIENT_ID.into(), SECRET.into())],
        variants,
        ..SandboxOptions::default()
    });
    let dir = temp_dir("revoked");
    let journal = dir.join("run.jsonl");
    let child = dactl_cmd()
        .args(["--environment", &org.url(), "--rate", "100000", "--json"])
        .args(["--journal", path(&journal)])
        .args(["run", RAISE, "--arg", "target=45", "--arg", "unset=set"])
        .env("GENESYSCLOUD_OAUTHCLIENT_ID", CLIENT_ID)
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", SECRET)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    crate::support::wait_for_intents(&journal, 20);
    assert_eq!(post(&org, "/sandbox/stats/reset"), 204);
    assert_eq!(
        post(&org, &format!("/sandbox/clients/{CLIENT_ID}/revoke")),
        204
    );
    let out = child.wait_with_output().unwrap();
    let shown = format!("stdout: {}\nstderr: {}", stdout(&out), stderr(&out));

    assert_code(&out, 1);
    // The login host is asked once, not once per remaining action (it was 290 in 9 s): once for
    // a renewal, and once for each mint of the pool's fill when the revocation caught it in
    // flight (the pool mints its missing tokens together, here about when the writes begin: 9).
    let asked = token_requests(&org);
    assert!(
        asked <= 11,
        "{asked} token requests after the revocation\n{shown}"
    );
    // That it stopped at once is counted below (most actions never attempted), not timed: how
    // long the writes in flight take to end depends on how busy the machine is.

    let json = report(&out);
    let changes = json["changes"].as_array().unwrap();
    let with = |status: &str| changes.iter().filter(|c| c["status"] == status).count();
    // Only the writes in flight when the client was revoked failed (at most the concurrency);
    // every other one was not attempted, with the reason.
    assert!(with("failed") <= 40, "{} failed\n{shown}", with("failed"));
    assert!(with("not_attempted") > 100, "{shown}");
    for change in changes.iter().filter(|c| c["status"] == "not_attempted") {
        let reason = change["reason"].as_str().unwrap();
        assert!(
            reason.contains("refused the OAuth client's credentials")
                && reason.contains("GENESYSCLOUD_OAUTHCLIENT_ID"),
            "{reason}"
        );
    }
    let err = stderr(&out);
    assert!(
        err.contains("refused") && err.contains("GENESYSCLOUD_OAUTHCLIENT_SECRET"),
        "says the credentials were refused and where they came from: {err}"
    );

    // No secret and no token anywhere in the output or the journal.
    let tokens: Value = org.rt.block_on(async {
        reqwest::get(format!("{}/sandbox/tokens", org.url()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    let journal_text = std::fs::read_to_string(&journal).unwrap();
    for text in [stdout(&out), err, journal_text] {
        assert!(!text.contains(SECRET), "the secret leaked");
        for token in tokens["tokens"].as_array().unwrap() {
            assert!(!text.contains(token.as_str().unwrap()), "a token leaked");
        }
    }
}

#[test]
fn credentials_revoked_mid_run_stop_it_at_once_when_refused_with_400() {
    revoked_mid_run("token-error-status=400");
}

#[test]
fn credentials_revoked_mid_run_stop_it_at_once_when_refused_with_401() {
    revoked_mid_run("token-error-status=401");
}
